// model/batch.cpp: trace sets in memory and the batches the trainer and the held-out evaluation
// feed the model: patches with a begin patch in front, the scored rows, the copies to the device.
#include "model/batch.h"

#include <algorithm>

namespace cpusim::model {

Layout layout_of(const isa::Config& c) {
  Layout l;
  l.image_patches = int64_t(isa::image_bytes(c) / isa::kPatchBytes);
  l.state_patches = int64_t(isa::state_bytes(c) / isa::kPatchBytes);
  return l;
}

Split load_split(const datagen::H5Reader& r, int split, uint64_t limit) {
  Split s;
  const uint64_t n = std::min<uint64_t>(r.size(split), limit ? limit : r.size(split));
  r.read(split, 0, n, s.bytes, s.offsets);
  return s;
}

void previous_state(const uint8_t* trace, int64_t n, int64_t p, const Layout& l, int64_t P,
                    int64_t* out) {
  const int64_t S = kPatchSize;
  const int64_t k = (p - l.image_patches) / l.state_patches;  // the state patch p belongs to
  const int64_t from = (l.image_patches + (k - 1) * l.state_patches) * S;
  for (int64_t j = 0; j < P; ++j)
    out[j] = p >= l.image_patches + l.state_patches && from + j < n * S ? trace[from + j] : kPad;
}

Batch make_batch(const Split& data, const std::vector<uint64_t>& idx, const Layout& l,
                 bool loss_on_all, int64_t max_patches, int64_t prefix, int64_t copy_stride) {
  const int64_t S = kPatchSize;
  int64_t T = 0;
  for (uint64_t i : idx) T = std::max<int64_t>(T, int64_t(data.size(i) / S) + 1);
  T = std::min(T, max_patches);
  Batch b;
  b.copy_stride = copy_stride;
  const int64_t B = int64_t(idx.size());
  b.inputs = torch::full({B, T, S}, kPad, torch::kLong);   // [begin, patch 0, .., patch n-1]
  b.targets = torch::full({B, T, S}, kPad, torch::kLong);  // [patch 0, .., patch n-1, end]
  auto mask = torch::zeros({B, T}, torch::kBool);          // (B, T): targets scored
  auto in = b.inputs.accessor<int64_t, 3>();
  auto tg = b.targets.accessor<int64_t, 3>();
  auto mk = mask.accessor<bool, 2>();
  for (int64_t r = 0; r < B; ++r) {
    const uint8_t* t = data.trace(idx[r]);
    const int64_t n = std::min<int64_t>(int64_t(data.size(idx[r]) / S), T - 1);
    for (int64_t p = 0; p < n; ++p)
      for (int64_t k = 0; k < S; ++k) {
        in[r][p + 1][k] = t[p * S + k];
        tg[r][p][k] = t[p * S + k];
      }
    b.bytes += n * S;
    // Scored targets: the states after the first and the end patch (or everything).
    const int64_t first = loss_on_all ? 0 : l.image_patches + l.state_patches;
    for (int64_t p = first; p <= n && p < T; ++p) mk[r][p] = true;
  }
  b.rows = mask.view({-1}).nonzero().view({-1});  // on the host: no device wait
  if (prefix > 0) {  // rows in the order nonzero() lists them: trace by trace, patch by patch
    const int64_t N = b.rows.size(0);
    b.context = torch::empty({N, prefix}, torch::kLong);
    auto rows = b.rows.accessor<int64_t, 1>();
    for (int64_t i = 0; i < N; ++i) {
      const int64_t r = rows[i] / T, p = rows[i] % T;
      previous_state(data.trace(idx[r]), int64_t(data.size(idx[r]) / S), p, l, prefix,
                     b.context[i].data_ptr<int64_t>());
    }
  }
  return b;
}

OnDevice to_device(const Batch& b, const torch::Device& dev) {
  const int64_t S = b.inputs.size(2);
  auto put = [&](const torch::Tensor& t) {
    return dev.is_cuda() ? t.pin_memory().to(dev, t.scalar_type(), /*non_blocking=*/true)
                         : t.to(dev);
  };
  OnDevice d;
  d.inputs = put(b.inputs);
  d.rows = put(b.rows);
  d.targets = put(b.targets.view({-1, S}).index_select(0, b.rows));  // (N, S)
  // The copy path's patch: input position p holds trace patch p - 1, so trace patch p - stride is
  // at p - (stride - 1) (within the row's own trace: scored rows sit at least a state in).
  const int64_t T = b.inputs.size(1);
  const auto from =
      b.copy_stride > 1 ? b.rows - torch::clamp(b.rows.remainder(T), 0, b.copy_stride - 1) : b.rows;
  d.prev = put(b.inputs.view({-1, S}).index_select(0, from));  // (N, S)
  if (b.context.defined()) d.context = put(b.context);         // (N, P)
  d.bytes = b.bytes;
  return d;
}

torch::Tensor select_rows(const torch::Tensor& feats, const torch::Tensor& rows) {
  return feats.flatten(0, 1).index_select(0, rows);  // (B, T, D) -> (N, D)
}

}  // namespace cpusim::model
