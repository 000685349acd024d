// model/bgpt.cpp: the bGPT modules. Dimension legend in bgpt.h.
#include "model/bgpt.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "common/io.h"
#include "isa/isa.h"
#include "model/compat.h"

namespace cpusim::model {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

// A machine state is a whole number of patches (isa's layouts), and the model's patch is that unit.
static_assert(kPatchSize == int(isa::kPatchBytes), "the model's patch is the state layout's patch");

ModelConfig preset(const std::string& name) {
  ModelConfig c;
  if (name == "paper") return c;  // 12 + 3 layers, width 768, 12 heads, 512 patches
  if (name == "small") {          // ~6.6 M parameters: the paper's small variant's shape
    c.patch_layers = 4, c.byte_layers = 2, c.width = 256, c.heads = 4, c.max_patches = 512;
    return c;
  }
  if (name == "tiny") {  // for tests and smoke runs
    c.patch_layers = 2, c.byte_layers = 1, c.width = 64, c.heads = 4, c.max_patches = 512;
    return c;
  }
  throw Error("unknown preset '" + name + "' (expected tiny, small or paper)");
}

BlockImpl::BlockImpl(int width, int heads_, int layers_total, const std::string& gelu_)
    : heads(heads_), gelu(gelu_ == "erf" ? "none" : "tanh") {
  if (gelu_ != "tanh" && gelu_ != "erf") throw Error("gelu " + gelu_ + ": expected tanh or erf");
  ln1 = register_module("ln1", nn::LayerNorm(nn::LayerNormOptions({width}).eps(1e-5)));
  qkv = register_module("qkv", nn::Linear(width, 3 * width));
  proj = register_module("proj", nn::Linear(width, width));
  ln2 = register_module("ln2", nn::LayerNorm(nn::LayerNormOptions({width}).eps(1e-5)));
  fc = register_module("fc", nn::Linear(width, 4 * width));
  out = register_module("out", nn::Linear(4 * width, width));
  // GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2 * layers).
  for (auto* l : {&qkv, &proj, &fc, &out}) {
    nn::init::normal_((*l)->weight, 0.0, 0.02);
    nn::init::zeros_((*l)->bias);
  }
  torch::NoGradGuard g;
  proj->weight.div_(std::sqrt(2.0 * layers_total));
  out->weight.div_(std::sqrt(2.0 * layers_total));
}

TraceRuns trace_runs(const torch::Tensor& row_trace, int64_t traces) {
  TraceRuns r;
  r.row_trace = row_trace;
  const auto host = row_trace.to(torch::kCPU).contiguous();
  const int64_t* t = host.data_ptr<int64_t>();
  const int64_t N = host.numel();
  for (int64_t i = 0; i < N; ++i) {
    if (t[i] < 0 || t[i] >= traces) throw Error("a byte-decoder row of no trace");
    if (!r.runs.empty() && r.runs.back()[2] == t[i])
      ++r.runs.back()[1];
    else
      r.runs.push_back({i, 1, t[i]});
  }
  r.one_per_row = int64_t(r.runs.size()) == N;
  r.identity = r.one_per_row && N == traces;
  for (int64_t i = 0; r.identity && i < N; ++i) r.identity = t[i] == i;
  return r;
}

namespace {

// Attention of q (N, H, Tq, K) over the rows' own keys and values (N, H, Tk, K), causal at the
// end, and over their traces' shared ones, in one softmax over both. A trace's consecutive rows
// are one sequence of queries against its image; the scores go a few rows at a time (about 4 M
// of them: at 1 KB and 8 heads, 32 rows of 16 bytes), which keeps each pass over them in the
// caches and under the allocator's mmap threshold (as one tensor per trace: ~12x a training step,
// mostly page faults). -> (N, H, Tq, K)
torch::Tensor joint_attention(torch::Tensor q, const torch::Tensor& k, const torch::Tensor& v,
                              const SharedKV& shared) {
  const int64_t H = q.size(1), tq = q.size(2), tk = k.size(2), K = q.size(3);
  const KV& m = *shared.kv;
  const TraceRuns& r = *shared.runs;
  const int64_t Pm = m.k.size(2);
  q = q * (1.0 / std::sqrt(double(K)));
  auto own = torch::matmul(q, k.transpose(-2, -1));  // (N, H, Tq, Tk)
  if (tq > 1) {
    auto mask = torch::ones({tq, tk}, torch::TensorOptions().dtype(torch::kBool).device(q.device()))
                    .tril(tk - tq)
                    .logical_not();
    own = own.masked_fill(mask, -std::numeric_limits<float>::infinity());
  }
  const int64_t step = std::max<int64_t>(1, (int64_t(4) << 20) / (H * tq * (Pm + tk)));
  std::vector<torch::Tensor> outs;
  if (r.one_per_row) {  // one row per trace: rows in batched products with their images
    const int64_t N = q.size(0);
    for (int64_t at = 0; at < N; at += step) {
      const int64_t n = std::min(step, N - at);
      auto rows = r.row_trace.narrow(0, at, n);
      auto mk = r.identity ? m.k.narrow(0, at, n) : m.k.index_select(0, rows);
      auto mv = r.identity ? m.v.narrow(0, at, n) : m.v.index_select(0, rows);
      auto far = torch::matmul(q.narrow(0, at, n), mk.transpose(-2, -1));  // (n, H, Tq, Pm)
      auto p = torch::softmax(torch::cat({far, own.narrow(0, at, n)}, -1), -1);
      outs.push_back(torch::matmul(p.narrow(-1, 0, Pm), mv) +
                     torch::matmul(p.narrow(-1, Pm, tk), v.narrow(0, at, n)));  // (n, H, Tq, K)
    }
    return torch::cat(outs, 0);
  }
  for (const auto& [first, count, t] : r.runs) {  // a trace's rows, `step` at a time
    for (int64_t at = first; at < first + count; at += step) {
      const int64_t n = std::min(step, first + count - at);
      auto qr = q.narrow(0, at, n).transpose(0, 1).reshape({H, n * tq, K});
      auto far = torch::matmul(qr, m.k[t].transpose(-2, -1));  // (H, n * Tq, Pm)
      auto mine = own.narrow(0, at, n).transpose(0, 1).reshape({H, n * tq, tk});
      auto p = torch::softmax(torch::cat({far, mine}, -1), -1);  // (H, n * Tq, Pm + Tk)
      auto o = torch::matmul(p.narrow(-1, 0, Pm), m.v[t]).view({H, n, tq, K}).transpose(0, 1);
      auto po = p.narrow(-1, Pm, tk).reshape({H, n, tq, tk}).transpose(0, 1);  // (n, H, Tq, Tk)
      outs.push_back(o + torch::matmul(po, v.narrow(0, at, n)));               // (n, H, Tq, K)
    }
  }
  return torch::cat(outs, 0);
}

}  // namespace

torch::Tensor BlockImpl::forward(const torch::Tensor& x, KV* cache, const SharedKV* shared) {
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2), K = D / heads;
  auto qkv_ = qkv(ln1(x)).view({B, T, 3, heads, K}).permute({2, 0, 3, 1, 4});  // (3, B, H, T, K)
  auto q = qkv_[0], k = qkv_[1], v = qkv_[2];                                  // (B, H, T, K)
  if (cache) {
    if (cache->k.defined()) {
      k = torch::cat({cache->k, k}, 2);  // (B, H, Tpast + T, K)
      v = torch::cat({cache->v, v}, 2);
    }
    cache->k = k;
    cache->v = v;
  }
  auto y = shared ? joint_attention(q, k, v, *shared)
                  : compat::causal_attention(q, k, v);  // (B, H, T, K)
  y = y.transpose(1, 2).contiguous().view({B, T, D});   // (B, T, D)
  auto h = x + proj(y);
  return h + out(torch::gelu(fc(ln2(h)), gelu));  // (B, T, D)
}

namespace {

// (n, W): for each index i < n, (-1)^i, then cos and sin of 2 pi i / P for P = 4, 8, .., 512.
torch::Tensor waves_of(int64_t n) {
  const auto v = torch::arange(n, torch::kDouble);
  std::vector<torch::Tensor> cols = {torch::cos(v * std::numbers::pi)};  // period 2
  for (int period = 4; period <= 512; period *= 2) {
    const auto angle = v * (2 * std::numbers::pi / period);
    cols.push_back(torch::cos(angle));
    cols.push_back(torch::sin(angle));
  }
  return torch::stack(cols, 1).to(torch::kFloat);
}

}  // namespace

BGPTImpl::BGPTImpl(const ModelConfig& c) : config(c) {
  const int S = c.patch_size, D = c.width;
  patch_emb = register_module("patch_emb", nn::Embedding(S * kVocab, D));
  patch_bias = register_parameter("patch_bias", torch::zeros({D}));
  patch_pos = register_module("patch_pos", nn::Embedding(c.max_patches, D));
  patch_blocks = register_module("patch_blocks", nn::ModuleList());
  for (int i = 0; i < c.patch_layers; ++i)
    patch_blocks->push_back(Block(D, c.heads, c.patch_layers, c.gelu));
  patch_ln = register_module("patch_ln", nn::LayerNorm(nn::LayerNormOptions({D}).eps(1e-5)));
  byte_emb = register_module("byte_emb", nn::Embedding(kVocab, D));
  byte_pos = register_module("byte_pos", nn::Embedding(S + 1, D));  // the paper's S + 1 positions
  byte_blocks = register_module("byte_blocks", nn::ModuleList());
  for (int i = 0; i < c.byte_layers; ++i)
    byte_blocks->push_back(Block(D, c.heads, c.byte_layers, c.gelu));
  byte_ln = register_module("byte_ln", nn::LayerNorm(nn::LayerNormOptions({D}).eps(1e-5)));
  if (c.copy_path) copy_emb = register_module("copy_emb", nn::Embedding(kVocab, D));
  if (c.state_prefix > 0)
    prefix_pos = register_module("prefix_pos", nn::Embedding(c.state_prefix, D));
  for (auto* e : {&patch_emb, &patch_pos, &byte_emb, &byte_pos})
    nn::init::normal_((*e)->weight, 0.0, 0.02);
  if (c.copy_path) nn::init::normal_(copy_emb->weight, 0.0, 0.02);
  if (c.state_prefix > 0) nn::init::normal_(prefix_pos->weight, 0.0, 0.02);
  if (c.program_memory > 0) {
    if (c.program_memory % S)
      throw Error("program_memory " + std::to_string(c.program_memory) + ": not whole patches");
    program_pos = register_module("program_pos", nn::Embedding(c.program_memory, D));
    nn::init::normal_(program_pos->weight, 0.0, 0.02);
    if (c.address_bits) {
      int64_t A = 1;
      while ((int64_t(1) << A) < c.program_memory) ++A;
      auto at = torch::arange(c.program_memory, torch::kLong).unsqueeze(1);  // (Pm, 1)
      auto bits = at.bitwise_right_shift(torch::arange(A, torch::kLong)).bitwise_and(1);
      address_signs = register_buffer("address_signs", bits.to(torch::kFloat) * 2 - 1);
      // Zero at the start, as byte_bits: the model begins as the one without them.
      address_maps = register_parameter("address_maps", torch::zeros({A, D}));
    }
  }
  if (c.program_attention != "rows" && c.program_attention != "trace")
    throw Error("program_attention '" + c.program_attention + "': expected rows or trace");
  byte_offsets = register_buffer("byte_offsets", torch::arange(S, torch::kLong) * kVocab);
  if (c.begin_patch != "pad" && c.begin_patch != "bin")
    throw Error("begin_patch '" + c.begin_patch + "': expected pad or bin");
  if (c.byte_bits) {
    auto values = torch::arange(kVocab - 1, torch::kLong).unsqueeze(1);  // (256, 1)
    auto bits =
        values.bitwise_right_shift(torch::arange(8, torch::kLong)).bitwise_and(1);       // (256, 8)
    auto signs = torch::cat({bits.to(torch::kFloat) * 2 - 1, torch::zeros({1, 8})}, 0);  // (V, 8)
    bit_signs = register_buffer("bit_signs", signs);
    // Zero at the start: the model begins as the one without bits and learns how much of them
    // to use (random maps of the embeddings' scale tripled the first loss and trained slower).
    byte_bits = register_parameter("byte_bits", torch::zeros({8, D}));
    patch_bits = register_parameter("patch_bits", torch::zeros({S, 8, D}));
    if (c.copy_path) copy_bits = register_parameter("copy_bits", torch::zeros({8, D}));
  }
  if (c.byte_waves) {
    auto f = waves_of(kVocab - 1);  // (256, W): the values 0 .. 255
    wave_features = register_buffer("wave_features", torch::cat({f, torch::zeros({1, f.size(1)})}));
    const int64_t W = f.size(1);
    // Zero at the start, as byte_bits.
    byte_waves = register_parameter("byte_waves", torch::zeros({W, D}));
    patch_waves = register_parameter("patch_waves", torch::zeros({S, W, D}));
    if (c.copy_path) copy_waves = register_parameter("copy_waves", torch::zeros({W, D}));
  }
  if (c.feature_every_byte)  // zero at the start: the model begins as the one without it
    feature_maps = register_parameter("feature_maps", torch::zeros({D, D}));
  if (c.position_waves) {
    if (c.state_prefix <= 0 && c.program_memory <= 0)
      throw Error("position_waves: no positions to map (give a state prefix or program memory)");
    // Zero at the start, as byte_bits.
    if (c.state_prefix > 0) {
      prefix_wave_features = register_buffer("prefix_wave_features", waves_of(c.state_prefix));
      prefix_waves =
          register_parameter("prefix_waves", torch::zeros({prefix_wave_features.size(1), D}));
    }
    if (c.program_memory > 0) {
      program_wave_features = register_buffer("program_wave_features", waves_of(c.program_memory));
      program_waves =
          register_parameter("program_waves", torch::zeros({program_wave_features.size(1), D}));
    }
  }
}

namespace {

// `t` plus the maps of a byte's bits and waves that are defined (undefined `t`: their sum alone):
// maps (8, D) / (W, D) give (V, D), per-position maps (S, 8, D) / (S, W, D) give (S, V, D).
torch::Tensor plus_maps(torch::Tensor t, const torch::Tensor& bit_signs, const torch::Tensor& bits,
                        const torch::Tensor& waves, const torch::Tensor& wave_maps) {
  auto add = [&t](const torch::Tensor& x) { t = t.defined() ? t + x : x; };
  if (bits.defined()) add(torch::matmul(bit_signs, bits));
  if (wave_maps.defined()) add(torch::matmul(waves, wave_maps));
  return t;
}

}  // namespace

torch::Tensor BGPTImpl::byte_table() {
  return plus_maps(byte_emb->weight, bit_signs, byte_bits, wave_features, byte_waves);  // (V, D)
}

torch::Tensor BGPTImpl::copy_table() {
  return plus_maps(copy_emb->weight, bit_signs, copy_bits, wave_features, copy_waves);  // (V, D)
}

torch::Tensor BGPTImpl::patch_table() {
  if (!patch_bits.defined() && !patch_waves.defined()) return patch_emb->weight;
  const int64_t S = config.patch_size, D = config.width;
  const auto extra = plus_maps({}, bit_signs, patch_bits, wave_features, patch_waves);  // (S, V, D)
  return patch_emb->weight + extra.reshape({S * kVocab, D});
}

torch::Tensor BGPTImpl::with_begin_patch(const torch::Tensor& patches) {
  if (config.begin_patch == "pad") return patches;
  auto p = patches.clone();
  auto first = p.select(1, 0);  // (B, S)
  first.fill_(kPad);
  first.narrow(1, 0, 3).copy_(torch::tensor({'b', 'i', 'n'}, torch::kLong).to(p.device()));
  return p;
}

torch::Tensor BGPTImpl::embed_patches(const torch::Tensor& patches) {
  return F::embedding(patches + byte_offsets, patch_table()).sum(2) +
         patch_bias;  // (B, T, S, D) -> (B, T, D)
}

torch::Tensor BGPTImpl::patch_features(const torch::Tensor& patches, int64_t pos0,
                                       std::vector<KV>* cache) {
  const int64_t T = patches.size(1);
  if (pos0 + T > config.max_patches)
    throw Error("sequence of " + std::to_string(pos0 + T) + " patches exceeds the model's " +
                std::to_string(config.max_patches));
  auto pos = torch::arange(pos0, pos0 + T,
                           torch::TensorOptions().dtype(torch::kLong).device(patches.device()));
  auto x =
      embed_patches(pos0 == 0 ? with_begin_patch(patches) : patches) + patch_pos(pos);  // (B, T, D)
  if (cache && cache->empty()) cache->resize(patch_blocks->size());
  for (size_t i = 0; i < patch_blocks->size(); ++i)
    x = patch_blocks[i]->as<BlockImpl>()->forward(x, cache ? &(*cache)[i] : nullptr);
  return patch_ln(x);  // (B, T, D)
}

torch::Tensor BGPTImpl::byte_head(const torch::Tensor& h, const torch::Tensor& table) {
  return torch::matmul(byte_ln(h), table.t());  // (.., V)
}

torch::Tensor BGPTImpl::byte_input(const torch::Tensor& x, int64_t pos,
                                   const torch::Tensor& prev_byte, const torch::Tensor& copy,
                                   const torch::Tensor& mapped) {
  auto y = x + byte_pos->weight[pos];  // (N, D)
  if (config.copy_path) y = y + F::embedding(prev_byte, copy);
  if (mapped.defined()) y = y + mapped;
  return y;
}

torch::Tensor BGPTImpl::mapped_feature(const torch::Tensor& feat) {
  return feature_maps.defined() ? torch::matmul(feat, feature_maps) : torch::Tensor();  // (N, D)
}

KV BlockImpl::memory(const torch::Tensor& m) {
  const int64_t B = m.size(0), T = m.size(1), D = m.size(2), K = D / heads;
  // The key and value rows of qkv only: (B, T, 2, H, K) -> (2, B, H, T, K).
  auto kv = torch::nn::functional::linear(ln1(m), qkv->weight.narrow(0, D, 2 * D),
                                          qkv->bias.narrow(0, D, 2 * D))
                .view({B, T, 2, heads, K})
                .permute({2, 0, 3, 1, 4});
  return KV{kv[0], kv[1]};
}

std::vector<KV> BGPTImpl::program_kv(const torch::Tensor& inputs) {
  const int64_t Pm = config.program_memory;
  if (Pm <= 0) return {};
  const int64_t B = inputs.size(0);
  auto image = inputs.narrow(1, 1, Pm / config.patch_size).reshape({B, Pm});  // (B, Pm)
  auto pos = program_pos->weight;                                             // (Pm, D)
  if (address_maps.defined()) pos = pos + torch::matmul(address_signs, address_maps);
  if (program_waves.defined()) pos = pos + torch::matmul(program_wave_features, program_waves);
  auto h = F::embedding(image, byte_table()) + pos.unsqueeze(0);  // (B, Pm, D)
  std::vector<KV> kv;
  for (size_t l = 0; l < byte_blocks->size(); ++l)
    kv.push_back(byte_blocks[l]->as<BlockImpl>()->memory(h));
  return kv;
}

bool BGPTImpl::program_per_trace() const {
  return config.program_memory > 0 && config.program_attention == "trace";
}

std::vector<KV> BGPTImpl::prefix_cache(const ByteMemory& mem) {
  std::vector<KV> cache(byte_blocks->size());
  if (!mem.program.empty() && !program_per_trace())  // each row's trace's image, (N, H, Pm, K)
    for (size_t l = 0; l < cache.size(); ++l)
      cache[l] = KV{mem.program[l].k.index_select(0, mem.row_trace),
                    mem.program[l].v.index_select(0, mem.row_trace)};
  if (config.state_prefix <= 0) return cache;
  auto pos = prefix_pos->weight;  // (P, D)
  if (prefix_waves.defined()) pos = pos + torch::matmul(prefix_wave_features, prefix_waves);
  auto h = F::embedding(mem.context, byte_table()) + pos.unsqueeze(0);  // (N, P, D)
  for (size_t l = 0; l < byte_blocks->size(); ++l) {
    auto* b = byte_blocks[l]->as<BlockImpl>();
    if (!config.prefix_memory) {
      h = b->forward(h, &cache[l]);  // (N, P, D), appended to the cache
      continue;
    }
    const KV m = b->memory(h);
    cache[l] = cache[l].k.defined()
                   ? KV{torch::cat({cache[l].k, m.k}, 2), torch::cat({cache[l].v, m.v}, 2)}
                   : m;
  }
  return cache;
}

torch::Tensor BGPTImpl::byte_inputs(const torch::Tensor& feat, const torch::Tensor& target,
                                    const torch::Tensor& prev, const torch::Tensor& table,
                                    const torch::Tensor& copy) {
  const int64_t S = config.patch_size;
  auto emb = F::embedding(target.narrow(1, 0, S - 1), table);             // (N, S-1, D)
  auto x = torch::cat({feat.unsqueeze(1), emb}, 1);                       // (N, S, D)
  x = x + byte_pos->weight.narrow(0, 0, S).unsqueeze(0);                  // (N, S, D)
  if (config.copy_path) x = x + F::embedding(prev, copy);                 // (N, S, D)
  if (feature_maps.defined()) x = x + mapped_feature(feat).unsqueeze(1);  // every position
  return x;
}

torch::Tensor BGPTImpl::byte_logits(const torch::Tensor& feat, const torch::Tensor& target,
                                    const torch::Tensor& prev, const ByteMemory& mem) {
  const auto table = byte_table();
  auto x = byte_inputs(feat, target, prev, table,
                       config.copy_path ? copy_table() : torch::Tensor());  // (N, S, D)
  auto cache =
      prefix_cache(mem);  // the program's and the previous state's keys and values come first
  TraceRuns runs;
  if (program_per_trace() && !mem.program.empty())
    runs = trace_runs(mem.row_trace, mem.program[0].k.size(0));
  x = byte_blocks_forward(x, cache, false, mem, runs.row_trace.defined() ? &runs : nullptr);
  return byte_head(x, table);  // (N, S, V)
}

torch::Tensor BGPTImpl::byte_blocks_forward(torch::Tensor x, std::vector<KV>& cache, bool use_cache,
                                            const ByteMemory& mem, const TraceRuns* runs) {
  for (size_t l = 0; l < byte_blocks->size(); ++l) {
    const SharedKV shared{runs ? &mem.program[l] : nullptr, runs};
    KV* c = use_cache || cache[l].k.defined() ? &cache[l] : nullptr;
    x = byte_blocks[l]->as<BlockImpl>()->forward(x, c, runs ? &shared : nullptr);
  }
  return x;
}

torch::Tensor BGPTImpl::byte_generate(const torch::Tensor& feat, const torch::Tensor& prev,
                                      const ByteMemory& mem) {
  const int64_t S = config.patch_size, N = feat.size(0);
  std::vector<KV> cache = prefix_cache(mem);  // the program and the previous state first
  auto out = torch::empty({N, S}, torch::TensorOptions().dtype(torch::kLong).device(feat.device()));
  const auto table = byte_table();
  const auto copy = config.copy_path ? copy_table() : torch::Tensor();
  TraceRuns runs;
  if (program_per_trace() && !mem.program.empty())
    runs = trace_runs(mem.row_trace, mem.program[0].k.size(0));
  const TraceRuns* r = runs.row_trace.defined() ? &runs : nullptr;
  const auto mapped = mapped_feature(feat);                       // (N, D) or undefined
  auto x = byte_input(feat, 0, prev.select(1, 0), copy, mapped);  // (N, D)
  for (int64_t i = 0; i < S; ++i) {
    auto h = byte_blocks_forward(x.unsqueeze(1), cache, true, mem, r);  // (N, 1, D)
    auto b = byte_head(h.squeeze(1), table).argmax(-1);                 // (N)
    out.select(1, i).copy_(b);
    if (i + 1 < S)
      x = byte_input(F::embedding(b, table), i + 1, prev.select(1, i + 1), copy, mapped);
  }
  return out;  // (N, S)
}

torch::Tensor BGPTImpl::byte_draft(const torch::Tensor& feat, const torch::Tensor& prev,
                                   const torch::Tensor& draft, const ByteMemory& mem,
                                   int64_t* passes) {
  const int64_t S = config.patch_size, N = feat.size(0);
  const auto opt = torch::TensorOptions().dtype(torch::kLong).device(feat.device());
  auto out = draft.to(opt).clone();    // (N, S): the draft, overwritten by confirmed bytes
  auto rows = torch::arange(N, opt);   // (n) the rows with bytes left
  auto done = torch::zeros({N}, opt);  // (n) bytes confirmed so far, per row
  const auto at = torch::arange(S, opt).unsqueeze(0);  // (1, S)
  const auto table = byte_table();
  const auto copy = config.copy_path ? copy_table() : torch::Tensor();
  // Each block's keys and values: the program's and the previous state's (M positions), then,
  // after a pass, the byte positions it ran. A pass runs only the positions from the fewest
  // confirmed bytes of its rows on: the keys before them are those of confirmed bytes.
  std::vector<KV> cache = prefix_cache(mem);
  const int64_t M = cache.empty() || !cache[0].k.defined() ? 0 : cache[0].k.size(2);
  // Program memory attended per trace: the runs of the rows left, regrouped when rows leave.
  const bool per_trace = program_per_trace() && !mem.program.empty();
  TraceRuns runs;
  if (per_trace) runs = trace_runs(mem.row_trace, mem.program[0].k.size(0));
  auto f = feat, p = prev;
  int64_t from = 0;
  while (true) {
    if (passes) *passes += rows.numel();  // one pass of each row left
    auto d = out.index_select(0, rows);   // (n, S)
    auto x = byte_inputs(f, d, p, table, copy).narrow(1, from, S - from);  // (n, S - from, D)
    for (auto& kv : cache)
      kv = M + from == 0 ? KV{} : KV{kv.k.narrow(2, 0, M + from), kv.v.narrow(2, 0, M + from)};
    x = byte_blocks_forward(x, cache, true, mem, per_trace ? &runs : nullptr);
    auto pred = byte_head(x, table).argmax(-1);                        // (n, S - from)
    if (from > 0) pred = torch::cat({d.narrow(1, 0, from), pred}, 1);  // (n, S)
    // The first byte at or after the confirmed ones where the model disagrees (S: none).
    // Confirmed bytes are not looked at again, so each pass confirms at least one more byte.
    auto differ = pred.ne(d).logical_and(at.ge(done.unsqueeze(1)));  // (n, S)
    auto first = torch::where(differ.any(1), differ.to(torch::kInt).argmax(1),
                              torch::full_like(done, S));  // (n)
    // Bytes up to the first difference equal the draft; the model's byte there corrects it, and
    // its bytes after it (scored after a wrong byte, so unconfirmed) are the next pass's draft:
    // a byte that does not depend on the corrected one is then confirmed at the next pass.
    out.index_copy_(0, rows, torch::where(at.lt(done.unsqueeze(1)), d, pred));
    auto open = first.lt(S - 1).nonzero().squeeze(1);  // (n') rows with bytes after it
    if (open.numel() == 0) break;
    done = first + 1;
    if (open.numel() < rows.numel()) {
      rows = rows.index_select(0, open);
      done = done.index_select(0, open);
      f = f.index_select(0, open);
      if (p.defined()) p = p.index_select(0, open);
      for (auto& kv : cache) kv = KV{kv.k.index_select(0, open), kv.v.index_select(0, open)};
      if (per_trace)
        runs = trace_runs(runs.row_trace.index_select(0, open), mem.program[0].k.size(0));
    }
    from = done.min().item<int64_t>();
  }
  return out;
}

}  // namespace cpusim::model
