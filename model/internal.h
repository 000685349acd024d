// model/internal.h: helpers shared by the trainer and the simulator inside model/ (batches,
// checkpoints, evaluation). Includes torch; never included outside model/.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datagen/dataset.h"
#include "isa/isa.h"
#include "model/bgpt.h"

namespace cpusim::model {

// Patch counts of a trace's parts.
struct Layout {
  int64_t image_patches = 0;
  int64_t state_patches = 0;
};
Layout layout_of(const isa::Config& c);

// A split held in memory.
struct Split {
  std::vector<uint8_t> bytes;
  std::vector<uint64_t> offsets;
  uint64_t count() const { return offsets.empty() ? 0 : offsets.size() - 1; }
  const uint8_t* trace(uint64_t i) const { return bytes.data() + offsets[i]; }
  uint64_t size(uint64_t i) const { return offsets[i + 1] - offsets[i]; }
};
Split load_split(const datagen::H5Reader& r, int split, uint64_t limit);

struct Batch {
  torch::Tensor inputs, targets;  // (B, T, S) int64: [begin, p0..p(n-1)] and [p0..p(n-1), end]
  torch::Tensor rows;             // (N) int64: the scored targets' positions in the flattened (B * T)
  int64_t bytes = 0;              // trace bytes in the batch
};
Batch make_batch(const Split& data, const std::vector<uint64_t>& idx, const Layout& l, bool loss_on_all,
                 int64_t max_patches);

struct Checkpoint {
  nlohmann::json meta;
  ModelConfig model_config;
  isa::Config isa;
  BGPT model{nullptr};
  torch::serialize::InputArchive archive;
};
Checkpoint load_checkpoint(const std::string& path, const torch::Device& device);
torch::Device pick_device(const std::string& name);
// Whether --precision P means bf16 autocast on dev ("auto": on CUDA, and on CPUs with bf16
// instructions, where bf16 matrix products run ~2x faster than fp32).
bool use_bf16(const std::string& precision, const torch::Device& dev);
// libtorch's CPU threads: `threads` when > 0; else, for bf16 on the CPU, one per core.
void set_cpu_threads(int threads, bool bf16, const torch::Device& dev);

// A batch on `dev`: the patch decoder's inputs (B, T, S), and the scored rows: their positions
// in the flattened (B * T), their targets and previous patches (N, S), gathered on the host (a
// boolean mask index on the device would wait for it, to count the rows). On CUDA the copies go
// through pinned memory without waiting for the device.
struct OnDevice {
  torch::Tensor inputs, rows, targets, prev;
  torch::Tensor loss_targets;  // (N, S) the loss's targets when they differ from targets (padded rows: -100)
  int64_t bytes = 0;           // trace bytes in the batch
};
OnDevice to_device(const Batch& b, const torch::Device& dev);
torch::Tensor select_rows(const torch::Tensor& feats, const torch::Tensor& rows);
// The mean cross-entropy of the scored bytes (a 0-dim fp32 tensor, with its graph), with the
// model's matrix products in bf16 autocast when `bf16`. The trainer's forward pass.
torch::Tensor forward_loss(BGPT& m, const OnDevice& b, const torch::Device& dev, bool bf16);
// Drops the parameters' gradients (the next backward creates them: no kernel per parameter to
// zero them; the arithmetic is the same, as 0 + g == g).
void clear_grads(const std::vector<torch::Tensor>& params);

// One AdamW step equal to libtorch's AdamW::step() (same arithmetic in the same order, same
// state, so checkpoints are unchanged), applied to all parameters at once with multi-tensor
// ops: on a GPU a handful of kernels instead of eight per parameter tensor.
void adamw_step(torch::optim::AdamW& opt);
// Gradient-norm clipping as torch::nn::utils::clip_grad_norm_ (2-norm, the same arithmetic),
// with multi-tensor ops and without reading anything back from the device: returns the norm
// before clipping as a 0-dim tensor on the parameters' device. max_norm <= 0: no clipping.
torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

struct EvalResult {
  double loss = 0;
  double byte_accuracy = 0;
};
EvalResult evaluate(BGPT& m, const Split& data, const Layout& l, bool loss_on_all, int batch,
                    const torch::Device& dev, bool bf16);

}  // namespace cpusim::model
