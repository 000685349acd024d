// model/bgpt.h: the bGPT network in libtorch: a patch-level GPT-2 decoder over 16-byte patches
// and a byte-level GPT-2 decoder inside each patch (arXiv 2402.19155), plus the optional copy
// path. Internal to model/: the rest of cpusim goes through model/api.h.
//
// Dimension legend: B batch, T patches, S bytes per patch (16), D width, H heads, K = D / H,
// N patches decoded at once by the byte decoder, V = 257 byte values (256 = padding/end), P bytes
// of the previous state in the byte decoder's prefix.
#pragma once

#include <torch/torch.h>

#include <array>
#include <vector>

#include "model/config.h"

namespace cpusim::model {

inline constexpr int64_t kVocab = 257;
inline constexpr int64_t kPad = 256;

// Keys and values of one block, for incremental decoding.
struct KV {
  torch::Tensor k, v;  // (B, H, T, K)
};

// What the byte decoder attends to besides its own positions (model/config.h): the previous
// state (state_prefix) and the program image (program_memory), whichever the model has.
struct ByteMemory {
  torch::Tensor context;    // (N, P) each row's previous state
  std::vector<KV> program;  // per byte block, keys and values of each trace's image (B, H, Pm, K)
  torch::Tensor row_trace;  // (N) the trace of each row (indexes `program`)
};

// The rows of a byte-decoder call grouped by the trace whose program image they attend to
// (program_attention "trace"): each run of consecutive rows of one trace shares one product with
// that trace's keys and values, so no row needs a copy of its own.
struct TraceRuns {
  std::vector<std::array<int64_t, 3>> runs;  // first row, rows, trace
  torch::Tensor row_trace;                   // (N), on the device
  bool one_per_row = false;                  // every run is one row: one batched product
  bool identity = false;                     // ... and row i is trace i (no gather)
};
// The runs of `row_trace` (N) over `traces` images (grouped on the host).
TraceRuns trace_runs(const torch::Tensor& row_trace, int64_t traces);

// Keys and values one block attends to besides its rows' own: each trace's image (B, H, Pm, K).
struct SharedKV {
  const KV* kv = nullptr;
  const TraceRuns* runs = nullptr;
};

struct BlockImpl : torch::nn::Module {
  BlockImpl(int width, int heads, int layers_total, const std::string& gelu = "tanh");
  // x (B, T, D) -> (B, T, D); with `cache`, x holds only new positions, appended to the cache;
  // with `shared`, the rows also attend to their trace's keys and values there (one softmax over
  // both).
  torch::Tensor forward(const torch::Tensor& x, KV* cache = nullptr,
                        const SharedKV* shared = nullptr);
  // This block's keys and values of `m` (B, T, D), without running `m` through the block: the
  // attention memory a prefix gives later positions.
  KV memory(const torch::Tensor& m);
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc{nullptr}, out{nullptr};
  int heads;
  std::string gelu;  // libtorch's approximate= argument: "tanh" or "none" (erf)
};
TORCH_MODULE(Block);

struct BGPTImpl : torch::nn::Module {
  explicit BGPTImpl(const ModelConfig& c);

  // The patches with the configured begin patch as patch 0 (the callers put 16 x 256 there).
  torch::Tensor with_begin_patch(const torch::Tensor& patches);
  // Patch embedding: the linear map of 16 one-hot bytes, as a sum of rows. (B, T, S) -> (B, T, D)
  torch::Tensor embed_patches(const torch::Tensor& patches);
  // Patch decoder over patches at positions pos0.. ; cache (one KV per block) when incremental.
  // (B, T, S) -> (B, T, D)
  torch::Tensor patch_features(const torch::Tensor& patches, int64_t pos0 = 0,
                               std::vector<KV>* cache = nullptr);
  // Teacher-forced byte decoder: features (N, D), target patches (N, S), previous patches
  // (N, S) for the copy path, previous states (N, P) for the state prefix -> logits (N, S, V).
  // The decoder's sequence: [previous state's P bytes (state_prefix > 0), feature, byte 0 .. S-2].
  torch::Tensor byte_logits(const torch::Tensor& feat, const torch::Tensor& target,
                            const torch::Tensor& prev, const ByteMemory& mem = {});
  // Greedy decoding of N patches at once, KV-cached inside the patch: (N, D), (N, S) -> (N, S).
  torch::Tensor byte_generate(const torch::Tensor& feat, const torch::Tensor& prev,
                              const ByteMemory& mem = {});
  // Greedy decoding checked against a draft (N, S), exact whatever the draft: one pass of the
  // byte decoder over a row's draft scores all its bytes; the row keeps the model's bytes up to
  // and including the first that differs from the draft (the correction), and the rows with
  // bytes left run again, the model's later bytes of this pass as their draft. A good draft (the
  // true next state in teacher mode, the previous state in rollouts) leaves most rows whole
  // after one or two passes. `passes` (when given) adds each row's passes.
  torch::Tensor byte_draft(const torch::Tensor& feat, const torch::Tensor& prev,
                           const torch::Tensor& draft, const ByteMemory& mem = {},
                           int64_t* passes = nullptr);
  // The program memory of a batch's traces, from their input patches (B, T, S) (the image is
  // patches 1 .. Pm/S); empty without program_memory.
  std::vector<KV> program_kv(const torch::Tensor& inputs);
  // The byte blocks' KV caches holding the previous state (N, P), as tokens run through the
  // blocks or as memory (config.prefix_memory); empty caches without a state prefix.
  // With program memory attended by rows, the cache starts with each row's trace's image.
  std::vector<KV> prefix_cache(const ByteMemory& mem);
  // Program memory attended per trace (program_attention "trace"): not in the rows' caches.
  bool program_per_trace() const;

  ModelConfig config;
  torch::nn::Embedding patch_emb{nullptr}, patch_pos{nullptr}, byte_emb{nullptr}, byte_pos{nullptr},
      copy_emb{nullptr}, prefix_pos{nullptr}, program_pos{nullptr};
  torch::Tensor address_maps;   // (A, D): maps of the image's address bits (address_bits)
  torch::Tensor address_signs;  // (Pm, A): each image position's address bits as +-1
  torch::Tensor patch_bias;
  // byte_bits: (8, D) maps of a byte's bits (+-1) added to byte_emb and copy_emb, and (S, 8, D)
  // to patch_emb's rows per position; undefined without byte_bits.
  torch::Tensor byte_bits, copy_bits, patch_bits;
  torch::Tensor bit_signs;  // (V, 8): each byte value's bits as +-1 (0 for the padding value)
  // byte_waves: (W, D) maps of a byte's waves added as byte_bits are; (S, W, D) for patch_emb.
  torch::Tensor byte_waves, copy_waves, patch_waves;
  // (V, W): (-1)^v, then cos and sin of 2 pi v / P for P = 4, 8, .., 512 (0 for the padding value).
  torch::Tensor wave_features;
  // position_waves: (W, D) maps of the waves of each previous-state / image position's index,
  // added to prefix_pos / program_pos; (P, W) / (Pm, W) those waves. Undefined without them.
  torch::Tensor prefix_waves, program_waves, prefix_wave_features, program_wave_features;
  // feature_every_byte: (D, D) the map of the patch's feature added at every byte position.
  torch::Tensor feature_maps;
  torch::nn::ModuleList patch_blocks{nullptr}, byte_blocks{nullptr};
  torch::nn::LayerNorm patch_ln{nullptr}, byte_ln{nullptr};
  torch::Tensor byte_offsets;  // (S): i * V, to index patch_emb

 private:
  // The embedding tables as used (with the maps of bits and waves added when byte_bits and
  // byte_waves): (V, D), (V, D), (S*V, D).
  torch::Tensor byte_table();
  torch::Tensor copy_table();
  torch::Tensor patch_table();
  torch::Tensor byte_head(const torch::Tensor& h,
                          const torch::Tensor& table);  // (.., D) -> (.., V), tied
  // One byte position's input (N, D): `feat_or_emb` plus its position, the copy embedding of
  // `prev_byte` (copy path) and `mapped` (feature_every_byte: the mapped feature, else undefined).
  torch::Tensor byte_input(const torch::Tensor& feat_or_emb, int64_t pos,
                           const torch::Tensor& prev_byte, const torch::Tensor& copy,
                           const torch::Tensor& mapped);
  // The patch features as every byte position gets them (feature_every_byte), else undefined.
  torch::Tensor mapped_feature(const torch::Tensor& feat);
  // A whole patch's byte-decoder inputs (N, S, D): [feature, byte 0 .. byte S-2] of `target`,
  // each plus its position and (copy path) the copy embedding of `prev`'s byte.
  torch::Tensor byte_inputs(const torch::Tensor& feat, const torch::Tensor& target,
                            const torch::Tensor& prev, const torch::Tensor& table,
                            const torch::Tensor& copy);
  // x through the byte blocks with their caches (an undefined cache: none), each block's rows
  // also attending to their trace's image when it is attended per trace (`runs`).
  torch::Tensor byte_blocks_forward(torch::Tensor x, std::vector<KV>& cache, bool use_cache,
                                    const ByteMemory& mem, const TraceRuns* runs);
};
TORCH_MODULE(BGPT);

}  // namespace cpusim::model
