// model/loss.cpp: the trainer's forward pass (teacher-forced logits of the scored rows and their
// mean cross-entropy) and the held-out evaluation that uses the same logits.
#include "model/loss.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "model/compat.h"
#include "model/dist.h"

namespace cpusim::model {

namespace {

// What the byte decoder takes for a batch's scored rows: their patch features (N, D) and their
// attention memories (the previous states, the program's keys and values, each row's trace).
std::pair<torch::Tensor, ByteMemory> row_inputs(BGPT& m, const OnDevice& b) {
  ByteMemory mem{b.context, m->program_kv(b.inputs), {}};
  if (!mem.program.empty()) mem.row_trace = b.rows.div(b.inputs.size(1), "floor");  // (N)
  return {select_rows(m->patch_features(b.inputs), b.rows), mem};
}

}  // namespace

// The teacher-forced logits of a batch's scored rows, (N, S, V) in fp32.
torch::Tensor scored_logits(BGPT& m, const OnDevice& b, const torch::Device& dev, bool bf16) {
  if (bf16) compat::autocast_bf16(dev, true);
  const auto [feats, mem] = row_inputs(m, b);
  auto logits = m->byte_logits(feats, b.targets, b.prev, mem);  // (N, S, V)
  if (bf16) compat::autocast_bf16(dev, false);
  return logits.to(torch::kFloat);
}

torch::Tensor forward_loss(BGPT& m, const OnDevice& b, const torch::Device& dev, bool bf16) {
  const auto& tgt =
      b.loss_targets.defined() ? b.loss_targets : b.targets;  // -100: left out (ignore_index)
  return torch::nn::functional::cross_entropy(scored_logits(m, b, dev, bf16).view({-1, kVocab}),
                                              tgt.reshape({-1}));
}

torch::Tensor hardest_loss(BGPT& m, const OnDevice& b, const torch::Device& dev, bool bf16,
                           double keep, torch::Tensor& whole_loss, OnDevice* kept) {
  namespace F = torch::nn::functional;
  const auto& tgt = b.loss_targets.defined() ? b.loss_targets : b.targets;  // (N, S)
  const int64_t N = tgt.size(0), S = tgt.size(1);
  if (bf16) compat::autocast_bf16(dev, true);
  const auto [feats, mem] = row_inputs(m, b);
  torch::Tensor rows;  // (k)
  {
    torch::NoGradGuard ng;
    const auto per_row =
        F::cross_entropy(
            m->byte_logits(feats, b.targets, b.prev, mem).to(torch::kFloat).view({-1, kVocab}),
            tgt.reshape({-1}), F::CrossEntropyFuncOptions().reduction(torch::kNone))
            .view({N, S})
            .sum(1);  // (N), left-out bytes 0
    whole_loss = per_row.sum() / (tgt != -100).sum().clamp_min(1);
    const int64_t k = std::clamp<int64_t>(int64_t(std::ceil(keep * double(N))), 1, N);
    rows = std::get<0>(torch::sort(std::get<1>(per_row.topk(k))));
  }
  // The weights' bf16 copies made without gradients are cached by autocast: dropped, so the
  // pass below makes its own, with them.
  if (bf16) at::autocast::clear_cache();
  ByteMemory sub{b.context.defined() ? b.context.index_select(0, rows) : torch::Tensor(),
                 mem.program,
                 mem.row_trace.defined() ? mem.row_trace.index_select(0, rows) : torch::Tensor()};
  const auto targets = b.targets.index_select(0, rows), prev = b.prev.index_select(0, rows);
  auto logits = m->byte_logits(feats.index_select(0, rows), targets, prev, sub);  // (k, S, V)
  if (bf16) compat::autocast_bf16(dev, false);
  const auto kept_tgt = tgt.index_select(0, rows);
  if (kept) {
    *kept = b;
    kept->rows = b.rows.index_select(0, rows), kept->targets = targets, kept->prev = prev;
    kept->context = sub.context;
    if (b.loss_targets.defined()) kept->loss_targets = kept_tgt;
  }
  return F::cross_entropy(logits.to(torch::kFloat).view({-1, kVocab}), kept_tgt.reshape({-1}));
}

EvalResult evaluate(BGPT& m, const Split& data, const Layout& l, bool loss_on_all, int batch,
                    const torch::Device& dev, bool bf16, Dist* dist) {
  torch::NoGradGuard ng;
  m->eval();
  EvalResult r;
  // Summed on the device (the loss in double, as the host summed it) and read once at the end.
  auto loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(dev));
  auto correct = torch::zeros({}, torch::TensorOptions().dtype(torch::kLong).device(dev));
  auto exact = torch::zeros({}, torch::TensorOptions().dtype(torch::kLong).device(dev));
  int64_t bytes = 0, patches = 0;
  const uint64_t n = data.count(), ranks = dist ? uint64_t(dist->world()) : 1,
                 rank = dist ? uint64_t(dist->rank()) : 0;
  const uint64_t lo = n * rank / ranks, hi = n * (rank + 1) / ranks;  // this rank's traces
  for (uint64_t first = lo; first < hi; first += batch) {
    std::vector<uint64_t> idx;
    for (uint64_t i = first; i < std::min<uint64_t>(first + batch, hi); ++i) idx.push_back(i);
    const OnDevice sc = to_device(make_batch(data, idx, l, loss_on_all, m->config.max_patches,
                                             m->config.state_prefix, m->config.copy_stride),
                                  dev);
    const auto& tgt = sc.targets;                         // (N, S)
    const auto logits = scored_logits(m, sc, dev, bf16);  // (N, S, V)
    loss_sum += torch::nn::functional::cross_entropy(
                    logits.view({-1, kVocab}), tgt.view({-1}),
                    torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .to(torch::kDouble);
    const auto right = logits.argmax(-1) == tgt;  // (N, S)
    correct += right.sum();
    exact +=
        right.all(1).sum();  // a patch whose every byte is right: greedy decoding writes it exactly
    bytes += tgt.numel();
    patches += tgt.size(0);
  }
  m->train();
  auto sums = torch::stack({loss_sum.to(torch::kCPU), correct.to(torch::kCPU, torch::kDouble),
                            exact.to(torch::kCPU, torch::kDouble),
                            torch::tensor(double(bytes), torch::kDouble),
                            torch::tensor(double(patches), torch::kDouble)});
  if (dist) dist->sum({sums});
  const auto v = sums.accessor<double, 1>();
  r.loss = v[3] > 0 ? v[0] / v[3] : 0;
  r.byte_accuracy = v[3] > 0 ? v[1] / v[3] : 0;
  r.exact_patches = v[4] > 0 ? v[2] / v[4] : 0;
  return r;
}

}  // namespace cpusim::model
