// model/batch.h: trace sets held in memory and the batches made from them: patches with a begin
// patch in front and the scored rows, then copied to the device. Includes torch; internal to
// model/.
#pragma once

#include <torch/torch.h>

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
  torch::Tensor rows;       // (N) int64: the scored targets' positions in the flattened (B * T)
  torch::Tensor context;    // (N, P) int64: each scored row's previous state (P = prefix > 0 only)
  int64_t bytes = 0;        // trace bytes in the batch
  int64_t copy_stride = 1;  // the copy path's input: the patch this many before the target
};
// `prefix`: the model's state_prefix (0: no context); `copy_stride`: its copy_stride.
Batch make_batch(const Split& data, const std::vector<uint64_t>& idx, const Layout& l,
                 bool loss_on_all, int64_t max_patches, int64_t prefix = 0,
                 int64_t copy_stride = 1);

// The P bytes of the state before the one trace patch `p` belongs to (the patch a model predicts
// at that position), from a trace of `n` whole patches; padding (256) where there is none (the
// image, the first state) or past the trace's end.
void previous_state(const uint8_t* trace, int64_t n, int64_t p, const Layout& l, int64_t P,
                    int64_t* out);

// A batch on `dev`: the patch decoder's inputs (B, T, S), and the scored rows: their positions
// in the flattened (B * T), their targets and previous patches (N, S), gathered on the host (a
// boolean mask index on the device would wait for it, to count the rows). On CUDA the copies go
// through pinned memory without waiting for the device.
struct OnDevice {
  torch::Tensor inputs, rows, targets, prev;
  torch::Tensor context;  // (N, P) the previous states (undefined without a state prefix)
  torch::Tensor
      loss_targets;   // (N, S) the loss's targets when they differ from targets (padded rows: -100)
  int64_t bytes = 0;  // trace bytes in the batch
};
OnDevice to_device(const Batch& b, const torch::Device& dev);
// (B, T, D) features -> (N, D) of the scored rows.
torch::Tensor select_rows(const torch::Tensor& feats, const torch::Tensor& rows);

}  // namespace cpusim::model
