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

// The scored rows of a batch on `dev`: patch features (N, D) of feats (B, T, D), and the
// targets and previous patches (N, S), gathered without waiting for the device (a boolean
// mask index would: it must count the rows first).
struct Scored {
  torch::Tensor rows, targets, prev;
};
Scored scored_rows(const Batch& b, const torch::Device& dev);
torch::Tensor select_rows(const torch::Tensor& feats, const torch::Tensor& rows);

// One AdamW step equal to libtorch's AdamW::step() (same arithmetic in the same order, same
// state, so checkpoints are unchanged), applied to all parameters at once with multi-tensor
// ops: on a GPU a handful of kernels instead of eight per parameter tensor.
void adamw_step(torch::optim::AdamW& opt);
// Gradient-norm clipping as torch::nn::utils::clip_grad_norm_ (2-norm), with multi-tensor ops;
// returns the norm before clipping. max_norm <= 0: no clipping (the norm is still returned).
double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

struct EvalResult {
  double loss = 0;
  double byte_accuracy = 0;
};
EvalResult evaluate(BGPT& m, const Split& data, const Layout& l, bool loss_on_all, int batch,
                    const torch::Device& dev, bool bf16);

}  // namespace cpusim::model
