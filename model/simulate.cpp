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
  Decode decode = Decode::draft;
  int64_t patches = 0, passes = 0;  // rows decoded, byte-decoder passes over them

  // Greedy bytes of `feat`'s rows (N, D) -> (N, S): with the draft (N, S) or byte by byte,
  // kRows rows at a time. Rows are independent; teacher mode brings every state of a batch of
  // traces at once (8,000 rows for 64 traces of the paper's task), whose growing key/value
  // caches then stream through memory at every byte and whose draft passes all restart from
  // the row with the earliest wrong byte (measured at 1 KB, draft decoder, teacher
  // mode, one process: 8,000 rows at once 152 states/s; slices of 1,024: 350; 256: 700; 64: 679).
  torch::Tensor decode_rows(const torch::Tensor& feat, const torch::Tensor& prev,
                            const torch::Tensor& draft, const ByteMemory& mem) {
    constexpr int64_t kRows = 256;
    const int64_t N = feat.size(0);
    if (N <= kRows) return decode_slice(feat, prev, draft, mem);
    std::vector<torch::Tensor> out;
    for (int64_t at = 0; at < N; at += kRows) {
      const int64_t n = std::min(kRows, N - at);
      auto part = [&](const torch::Tensor& t) { return t.defined() ? t.narrow(0, at, n) : t; };
      ByteMemory m{part(mem.context), mem.program, part(mem.row_trace)};
      out.push_back(decode_slice(part(feat), part(prev), part(draft), m));
    }
    return torch::cat(out, 0);
  }

  torch::Tensor decode_slice(const torch::Tensor& feat, const torch::Tensor& prev,
                             const torch::Tensor& draft, const ByteMemory& mem) {
    BGPT& m = ckpt.model;
    patches += feat.size(0);
    if (decode == Decode::bytewise) {
      passes += feat.size(0) * m->config.patch_size;
      return m->byte_generate(feat, prev, mem);
    }
    return m->byte_draft(feat, prev, draft, mem, &passes);
  }
};

Decode parse_decode(const std::string& name) {
  if (name == "bytewise") return Decode::bytewise;
  if (name == "draft") return Decode::draft;
  throw Error("--decode " + name + ": expected bytewise or draft");
}

const char* decode_name(Decode d) { return d == Decode::bytewise ? "bytewise" : "draft"; }

Simulator::Simulator(const std::string& checkpoint, const std::string& device, int threads,
                     const std::string& precision)
    : impl_(std::make_unique<Impl>()) {
  impl_->device = pick_device(device);
  impl_->bf16 = use_bf16(precision, impl_->device);
  keep_freed_memory();
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
void Simulator::set_decode(Decode d) { impl_->decode = d; }
std::vector<uint64_t> Simulator::work_counts() const {
  return {uint64_t(impl_->patches), uint64_t(impl_->passes)};
}
void Simulator::add_work_counts(const std::vector<uint64_t>& other) {
  if (other.size() != 2) throw Error("eval: a rank's decoder counts do not match this one's");
  impl_->patches += int64_t(other[0]);
  impl_->passes += int64_t(other[1]);
}
nlohmann::json Simulator::describe() const {
  const Impl& i = *impl_;
  return {{"model", impl_->path},
          {"parameters", impl_->parameters},
          {"copy_path", impl_->ckpt.model_config.copy_path},
          {"decode", decode_name(impl_->decode)},
          {"decoder_passes_per_patch", i.patches ? double(i.passes) / double(i.patches) : 0.0},
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
  // One patch more than the model reads: the patch after each input is its draft (the truth).
  auto all = to_patches(traces, T + 1).to(impl_->device);  // (B, T + 1, S)
  auto inputs = all.narrow(1, 0, T);                       // (B, T, S)
  const bool bf16 = impl_->bf16;
  if (bf16) compat::autocast_bf16(impl_->device, true);
  auto feats = m->patch_features(inputs);  // (B, T, D)
  // Positions first..T-1 predict trace patches first..T-1 (the states after the first).
  const int64_t B = int64_t(traces.size()), Tp = T - first;
  const int64_t back = m->config.copy_stride - 1;  // (see copy_stride)
  // Only the rows with a state to predict are decoded (traces shorter than T leave padding).
  std::vector<int64_t> rows, count(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    count[size_t(b)] =
        std::max<int64_t>(0, std::min<int64_t>(int64_t(traces[b].size()) / S, T) - first);
    for (int64_t p = 0; p < count[size_t(b)]; ++p) rows.push_back(b * Tp + p);
  }
  const auto dev_long = torch::TensorOptions().dtype(torch::kLong).device(impl_->device);
  const auto take = torch::tensor(rows, torch::kLong).to(impl_->device);  // (R)
  auto flat = [&](const torch::Tensor& t) {  // (B, T', ...) -> (R, ...)
    return t.reshape({B * Tp, -1}).index_select(0, take);
  };
  auto f = flat(feats.narrow(1, first, Tp));             // (R, D)
  auto prev = flat(inputs.narrow(1, first - back, Tp));  // (R, S)
  auto draft = flat(all.narrow(1, first + 1, Tp));       // (R, S)
  const int64_t P = m->config.state_prefix;
  ByteMemory mem{P > 0 ? contexts(traces, first, T, l, P).to(impl_->device).index_select(0, take)
                       : torch::Tensor(),  // (R, P)
                 m->program_kv(inputs),
                 {}};
  if (!mem.program.empty())
    mem.row_trace = torch::arange(B, dev_long).repeat_interleave(Tp).index_select(0, take);
  auto pred = impl_->decode_rows(f, prev, draft, mem).to(torch::kCPU);  // (R, S)
  if (bf16) compat::autocast_bf16(impl_->device, false);
  auto a = pred.accessor<int64_t, 2>();
  int64_t r = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t p = 0; p < count[size_t(b)]; ++p, ++r)
      for (int64_t k = 0; k < S; ++k) out[b].push_back(int16_t(a[r][k]));
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

// After a rollout step: the batch keeps the rows of the traces still running, in order. Row i of
// each of `rows` (and of the KV caches) is trace alive[i] before and after.
void drop_done_rows(std::vector<int64_t>& alive, const std::vector<bool>& done,
                    std::initializer_list<std::vector<KV>*> caches,
                    std::initializer_list<torch::Tensor*> rows) {
  std::vector<int64_t> keep, next;
  for (size_t i = 0; i < alive.size(); ++i)
    if (!done[size_t(alive[i])]) {
      keep.push_back(int64_t(i));
      next.push_back(alive[i]);
    }
  if (keep.size() == alive.size()) return;
  const auto device = (*rows.begin())->device();
  const auto index = torch::tensor(keep, torch::kLong).to(device);
  auto take = [&](const torch::Tensor& t) { return t.defined() ? t.index_select(0, index) : t; };
  for (std::vector<KV>* cache : caches)
    for (auto& kv : *cache) kv = {take(kv.k), take(kv.v)};
  for (torch::Tensor* t : rows) *t = take(*t);
  alive = std::move(next);
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
  // The drafts: the last state's patches (the initial state first).
  auto drafts = seq.narrow(1, T0 - l.state_patches, l.state_patches).clone();  // (B, SP, S)
  std::vector<std::vector<uint8_t>> out(prefixes.size());
  std::vector<bool> done(prefixes.size(), false);
  std::vector<std::vector<int64_t>> state(prefixes.size());
  // The rows still running: row i of every batch tensor below is trace alive[i]. A trace that is
  // done leaves the batch, so the others run without its rows.
  std::vector<int64_t> alive(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) alive[size_t(b)] = b;
  const auto dev_long = torch::TensorOptions().dtype(torch::kLong).device(impl_->device);
  // The state prefix: each program's last whole state, the initial one first.
  const int64_t P = m->config.state_prefix, ib = l.image_patches * S;
  torch::Tensor ctx;  // (n, P)
  if (P > 0)
    ctx = context_rows(B, P, impl_->device,
                       [&](int64_t b, int64_t k) { return int64_t(prefixes[b][size_t(ib + k)]); });
  // Row i's program is mem.program's row i (both drop the traces that are done).
  ByteMemory mem{ctx, m->program_kv(seq), {}};
  if (!mem.program.empty()) mem.row_trace = torch::arange(B, dev_long);
  int64_t pos = T0;
  for (int step = 0; step < max_steps; ++step) {
    const int64_t n = int64_t(alive.size());
    for (int64_t j = 0; j < l.state_patches; ++j) {
      if (pos >= m->config.max_patches) goto finish;
      mem.context = ctx;
      if (stride > 1) prev = last.select(1, j % stride);
      auto patch = impl_->decode_rows(feat, prev, drafts.select(1, j), mem);  // (n, S)
      drafts.select(1, j).copy_(patch);
      if (stride > 1) last.select(1, j % stride).copy_(patch);
      auto cpu = patch.to(torch::kCPU);
      auto a = cpu.accessor<int64_t, 2>();
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < S; ++k) state[size_t(alive[size_t(i)])].push_back(a[i][k]);
      if (use_cache) {
        feat = m->patch_features(patch.unsqueeze(1), pos, &cache).select(1, 0);  // (n, D)
      } else {
        seq = torch::cat({seq, patch.unsqueeze(1)}, 1);  // (n, pos + 1, S)
        feat = m->patch_features(seq).select(1, pos);    // (n, D)
      }
      prev = patch;
      ++pos;
    }
    if (P > 0)
      ctx = context_rows(n, P, impl_->device, [&](int64_t i, int64_t k) {
        return state[size_t(alive[size_t(i)])][size_t(k)];
      });
    if (take_states(state, done, out)) break;
    drop_done_rows(alive, done, {&cache, &mem.program}, {&feat, &prev, &last, &drafts, &seq, &ctx});
    if (!mem.program.empty()) mem.row_trace = torch::arange(int64_t(alive.size()), dev_long);
  }
finish:
  if (bf16) compat::autocast_bf16(impl_->device, false);
  return out;
}

}  // namespace cpusim::model
