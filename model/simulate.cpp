// model/simulate.cpp: a loaded model simulating programs: teacher-forced next-state prediction
// and KV-cached batched rollouts. Dimension legend in bgpt.h.
#include <nlohmann/json.hpp>

#include "common/io.h"
#include "common/version.h"
#include "model/api.h"
#include "model/bgpt.h"
#include "model/compat.h"
#include "model/internal.h"

namespace cpusim::model {

struct Simulator::Impl {
  std::string path;
  Checkpoint ckpt;
  torch::Device device{torch::kCPU};
  bool bf16 = false;
  Layout layout;
  int64_t parameters = 0;
};

Simulator::Simulator(const std::string& checkpoint, const std::string& device, int threads,
                     const std::string& precision)
    : impl_(std::make_unique<Impl>()) {
  impl_->device = pick_device(device);
  impl_->bf16 = use_bf16(precision, impl_->device);
  set_cpu_threads(threads, impl_->bf16, impl_->device);
  impl_->path = checkpoint;
  impl_->ckpt = load_checkpoint(checkpoint, impl_->device);
  impl_->ckpt.model->eval();
  impl_->layout = layout_of(impl_->ckpt.isa);
  for (const auto& p : impl_->ckpt.model->parameters()) impl_->parameters += p.numel();
}

Simulator::~Simulator() = default;
const isa::Config& Simulator::isa() const { return impl_->ckpt.isa; }
const ModelConfig& Simulator::config() const { return impl_->ckpt.model_config; }
int64_t Simulator::parameters() const { return impl_->parameters; }
nlohmann::json Simulator::describe() const {
  return {{"model", impl_->path},
          {"parameters", impl_->parameters},
          {"copy_path", impl_->ckpt.model_config.copy_path},
          {"model_config", to_json(impl_->ckpt.model_config)},
          {"build", {{"cpusim", version()}, {"commit", commit()}, {"libtorch", torch_version()}}},
          {"machine", machine_json(impl_->device, impl_->bf16)}};
}

namespace {

// Trace bytes -> patches tensor (B, T, S) with a begin patch in front, right-padded.
torch::Tensor to_patches(const std::vector<std::span<const uint8_t>>& seqs, int64_t T) {
  const int64_t B = int64_t(seqs.size()), S = kPatchSize;
  auto t = torch::full({B, T, S}, kPad, torch::kLong);
  auto a = t.accessor<int64_t, 3>();
  for (int64_t b = 0; b < B; ++b)
    for (size_t i = 0; i < seqs[b].size() && int64_t(i / S) + 1 < T; ++i)
      a[b][int64_t(i / S) + 1][int64_t(i % S)] = seqs[b][i];
  return t;
}

// The previous state of trace patches first..T-1 of each trace: (B * (T - first), P).
torch::Tensor contexts(const std::vector<std::span<const uint8_t>>& seqs, int64_t first, int64_t T,
                       const Layout& l, int64_t P) {
  const int64_t B = int64_t(seqs.size()), Tp = T - first;
  auto t = torch::empty({B * Tp, P}, torch::kLong);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t p = first; p < T; ++p)
      previous_state(seqs[b].data(), int64_t(seqs[b].size()) / kPatchSize, p, l, P,
                     t[b * Tp + p - first].data_ptr<int64_t>());
  return t;
}

}  // namespace

std::vector<std::vector<int16_t>> Simulator::predict_teacher(
    const std::vector<std::span<const uint8_t>>& traces) {
  torch::NoGradGuard ng;
  BGPT& m = impl_->ckpt.model;
  const Layout& l = impl_->layout;
  const int64_t S = kPatchSize, first = l.image_patches + l.state_patches;
  int64_t T = 0;
  for (const auto& t : traces) T = std::max<int64_t>(T, int64_t(t.size()) / S);
  T = std::min<int64_t>(
      T, m->config.max_patches);  // inputs: begin + patches 0..n-2 predict patches 0..n-1
  std::vector<std::vector<int16_t>> out(traces.size());
  if (T <= first) return out;
  auto inputs = to_patches(traces, T).to(impl_->device);  // (B, T, S)
  const bool bf16 = impl_->bf16;
  if (bf16) compat::autocast_bf16(impl_->device, true);
  auto feats = m->patch_features(inputs);  // (B, T, D)
  // Positions first..T-1 predict trace patches first..T-1 (the states after the first).
  auto f = feats.narrow(1, first, T - first);             // (B, T', D)
  const int64_t back = m->config.copy_stride - 1;         // (see copy_stride)
  auto prev = inputs.narrow(1, first - back, T - first);  // (B, T', S)
  const int64_t B = f.size(0), Tp = f.size(1);
  const int64_t P = m->config.state_prefix;
  const auto ctx =
      P > 0 ? contexts(traces, first, T, l, P).to(impl_->device) : torch::Tensor();  // (B * T', P)
  ByteMemory mem{ctx, m->program_kv(inputs), {}};
  if (!mem.program.empty())
    mem.row_trace =
        torch::arange(B, torch::TensorOptions().dtype(torch::kLong).device(impl_->device))
            .repeat_interleave(Tp);
  auto pred = m->byte_generate(f.reshape({B * Tp, -1}), prev.reshape({B * Tp, S}), mem)
                  .view({B, Tp, S})
                  .to(torch::kCPU);
  if (bf16) compat::autocast_bf16(impl_->device, false);
  auto a = pred.accessor<int64_t, 3>();
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = std::min<int64_t>(int64_t(traces[b].size()) / S, T) - first;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t k = 0; k < S; ++k) out[b].push_back(int16_t(a[b][p][k]));
  }
  return out;
}

namespace {

// (B, P) on `dev`: row b's bytes row(b, 0 .. P-1) (the previous state the byte decoder reads).
template <class Row>
torch::Tensor context_rows(int64_t B, int64_t P, const torch::Device& dev, Row&& row) {
  auto ctx = torch::empty({B, P}, torch::kLong);
  auto c = ctx.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < P; ++k) c[b][k] = row(b, k);
  return ctx.to(dev);
}

// A rollout step's states (`state`, one per trace, emptied here) added to the traces not done
// (`out`); a trace is done once the model ends it (a padding symbol) or fetches HLT. Returns
// whether every trace is done.
bool take_states(std::vector<std::vector<int64_t>>& state, std::vector<bool>& done,
                 std::vector<std::vector<uint8_t>>& out) {
  bool all_done = true;
  for (size_t b = 0; b < state.size(); ++b) {
    if (!done[b]) {
      bool end = false;
      for (int64_t v : state[b]) end |= v == kPad;
      if (end) {
        done[b] = true;  // the model ended the trace
      } else {
        for (int64_t v : state[b]) out[b].push_back(uint8_t(v));
        if (state[b][isa::kIR] == 0) done[b] = true;  // HLT fetched: the last state
      }
    }
    state[b].clear();
    all_done = all_done && done[b];
  }
  return all_done;
}

}  // namespace

std::vector<std::vector<uint8_t>> Simulator::rollout(
    const std::vector<std::span<const uint8_t>>& prefixes, int max_steps, bool use_cache) {
  torch::NoGradGuard ng;
  BGPT& m = impl_->ckpt.model;
  const Layout& l = impl_->layout;
  const int64_t S = kPatchSize, B = int64_t(prefixes.size());
  const int64_t T0 = 1 + l.image_patches + l.state_patches;
  for (const auto& p : prefixes)
    if (int64_t(p.size()) != (T0 - 1) * S)
      throw Error("rollout: a prefix is not image + initial state");
  const bool bf16 = impl_->bf16;
  if (bf16) compat::autocast_bf16(impl_->device, true);
  auto seq = to_patches(prefixes, T0).to(impl_->device);  // (B, T0, S)
  std::vector<KV> cache;
  auto feats = m->patch_features(seq, 0, use_cache ? &cache : nullptr);  // (B, T0, D)
  auto feat = feats.select(1, T0 - 1);                                   // (B, D)
  // The copy path's patches: the last state's (its last patch alone with copy_stride 1).
  const int64_t stride = m->config.copy_stride;
  auto last = seq.narrow(1, T0 - stride, stride).clone();  // (B, stride, S)
  auto prev = last.select(1, stride - 1);                  // (B, S)
  std::vector<std::vector<uint8_t>> out(prefixes.size());
  std::vector<bool> done(prefixes.size(), false);
  std::vector<std::vector<int64_t>> state(prefixes.size());
  // The state prefix: each program's last whole state, the initial one first.
  const int64_t P = m->config.state_prefix, ib = l.image_patches * S;
  torch::Tensor ctx;  // (B, P)
  if (P > 0)
    ctx = context_rows(B, P, impl_->device,
                       [&](int64_t b, int64_t k) { return int64_t(prefixes[b][size_t(ib + k)]); });
  ByteMemory mem{ctx, m->program_kv(seq), {}};
  if (!mem.program.empty())
    mem.row_trace =
        torch::arange(B, torch::TensorOptions().dtype(torch::kLong).device(impl_->device));
  int64_t pos = T0;
  for (int step = 0; step < max_steps; ++step) {
    for (int64_t j = 0; j < l.state_patches; ++j) {
      if (pos >= m->config.max_patches) goto finish;
      mem.context = ctx;
      if (stride > 1) prev = last.select(1, j % stride);
      auto patch = m->byte_generate(feat, prev, mem);  // (B, S)
      if (stride > 1) last.select(1, j % stride).copy_(patch);
      auto cpu = patch.to(torch::kCPU);
      auto a = cpu.accessor<int64_t, 2>();
      for (int64_t b = 0; b < B; ++b)
        for (int64_t k = 0; k < S; ++k) state[b].push_back(a[b][k]);
      if (use_cache) {
        feat = m->patch_features(patch.unsqueeze(1), pos, &cache).select(1, 0);  // (B, D)
      } else {
        seq = torch::cat({seq, patch.unsqueeze(1)}, 1);  // (B, pos + 1, S)
        feat = m->patch_features(seq).select(1, pos);    // (B, D)
      }
      prev = patch;
      ++pos;
    }
    if (P > 0)
      ctx = context_rows(B, P, impl_->device,
                         [&](int64_t b, int64_t k) { return state[b][size_t(k)]; });
    if (take_states(state, done, out)) break;
  }
finish:
  if (bf16) compat::autocast_bf16(impl_->device, false);
  return out;
}

}  // namespace cpusim::model
