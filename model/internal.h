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
  torch::Tensor mask;             // (B, T) bool: targets scored
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

struct EvalResult {
  double loss = 0;
  double byte_accuracy = 0;
};
EvalResult evaluate(BGPT& m, const Split& data, const Layout& l, bool loss_on_all, int batch,
                    const torch::Device& dev, bool bf16);

}  // namespace cpusim::model
