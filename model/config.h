// model/config.h: bGPT model and training settings, torch-free so the CLI can fill and print
// them without including libtorch.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "isa/isa.h"

namespace cpusim::model {

// Bytes per patch: the paper's 16, and the unit of cpusim's state layouts (isa::kPatchBytes),
// so a state is a whole number of patches. The model assumes it (static_assert in bgpt.cpp).
inline constexpr int kPatchSize = 16;

struct ModelConfig {
  int patch_size = kPatchSize;  // bytes per patch (the paper's 16; fixed)
  int max_patches = 512;        // patch positions, begin and end patches included (paper: 512)
  int patch_layers = 12;        // patch-level GPT-2 blocks (paper: 12)
  int byte_layers = 3;          // byte-level GPT-2 blocks (paper: 3)
  int width = 768;              // model width (paper: 768)
  int heads = 12;               // attention heads (paper: 12)
  bool copy_path = false;       // byte decoder also sees the previous patch's byte i at position i
  // Patches back the copy path reads: 1, the previous patch (the copy path's first form); a
  // state's patch count (`cpusim train --copy-state`), the previous state's byte at the same place
  // of the state. The two are the same where a state is one patch (bgpt); a toy state is several.
  int copy_stride = 1;
  // GELU form: "tanh" (GPT-2's and the paper's approximation) or "erf" (the exact function; the
  // two differ by under 1e-3, and erf runs ~4x faster on libtorch 1.13's CPU kernels).
  std::string gelu = "tanh";
  // Bytes of the previous machine state the byte decoder reads as a prefix before the patch
  // feature (0: none, the paper's architecture; else the state's size: 16 for bgpt). Gives each
  // byte position attention over every byte of the previous state (`cpusim train --state-prefix`).
  int state_prefix = 0;
  // How the byte decoder reads that prefix: false, as tokens that run through its blocks like the
  // bytes do; true, as attention memory (each block's keys and values of the prefix's
  // embeddings; ~4x cheaper per prefix byte, the prefix itself is not transformed).
  bool prefix_memory = false;
  // Bytes of the program image the byte decoder reads as attention memory (0: none; else the
  // image's size: 64 for a 64-byte bgpt memory): each byte block gets the keys and values of the
  // image's byte embeddings (with positions of their own), once per trace, so a fetch can be a
  // lookup (`cpusim train --program-memory`).
  int program_memory = 0;
  // How the byte decoder's rows attend to that image: "rows", each row with a copy of its trace's
  // keys and values (the first form; fine for 64 bytes), or "trace", the rows of one trace in one
  // product with its one copy, the two attentions joined in one softmax (the same function up to
  // rounding; at 1 KB ~12x cheaper in time and memory: `cpusim train --program-attention`).
  std::string program_attention = "rows";
  // The image's positions also get a learned linear map of their address's bits as +-1, so a
  // lookup by a byte's value (an index read from the state) can match bits instead of learning
  // each address alone (`cpusim train --address-bits`; with program memory).
  bool address_bits = false;
  // Each byte's embedding (input and tied output, in both decoders and the copy path) also gets a
  // learned linear map of its 8 bits as +-1: the output's logits then include a sum of per-bit
  // scores, so bitwise results (XOR, AND, ...) and carries can be computed bit by bit instead of
  // learned as 65,536-entry tables (`cpusim train --byte-bits`).
  bool byte_bits = false;
  // Each byte's embedding (the same tables as byte_bits) also gets a learned linear map of waves
  // of its value v: cos and sin of 2 pi v / P for the periods P = 4, 8, .., 512, and (-1)^v. A
  // sum's or difference's wave is a rotation of its operands' (cos(a + b) = cos a cos b -
  // sin a sin b), so each bit of a + b is a product of two operands' features instead of a chain
  // of carries, and the period 512 tells a sum past 255 (`cpusim train --byte-waves`).
  bool byte_waves = false;
  // The previous state's positions (the state prefix) and the program image's also get a learned
  // linear map of the same waves of their index: a query made from a byte's waves (a register
  // number, an address read from the state) then scores a position with a sum of cosines of their
  // difference, peaked where they agree up to a learned offset (a rotation), so a lookup by value
  // is a match of features instead of a table learned position by position (`cpusim train
  // --position-waves`; with --state-prefix or --program-memory).
  bool position_waves = false;
  // Every position of the byte decoder also gets a learned linear map of the patch's feature
  // (MEGABYTE's form), not only position 0 (the paper's), so what the patch decoder knows of the
  // instruction (its operands) is at each byte from the first block on and a lookup it keys can
  // happen in any block (`cpusim train --feature-every-byte`).
  bool feature_every_byte = false;
  // The patch in front of every sequence: "pad" (16 x 256, cpusim's) or "bin" (the paper's: its
  // files' extension, "bin", then 256s). Models imported from the paper's checkpoints use "bin".
  std::string begin_patch = "pad";
};

// Each ModelConfig field once, for the checkpoint JSON and the CLI's overrides:
// f(name, member, info). The one list of the fields besides the struct itself.
struct FieldInfo {
  const char* option;  // the `cpusim train` override (--patch-layers ...), or nullptr for none
  const char* help;
  bool since_v1;  // absent from checkpoints made before it: those read the struct default
};
template <class Config, class F>
void for_each_field(Config& c, F&& f) {
  f("patch_size", c.patch_size, FieldInfo{nullptr, "bytes per patch", false});
  f("max_patches", c.max_patches,
    FieldInfo{"max-patches", "patch positions (the longest trace + 1)", false});
  f("patch_layers", c.patch_layers, FieldInfo{"patch-layers", "patch-level GPT-2 blocks", false});
  f("byte_layers", c.byte_layers, FieldInfo{"byte-layers", "byte-level GPT-2 blocks", false});
  f("width", c.width, FieldInfo{"width", "model width", false});
  f("heads", c.heads, FieldInfo{"heads", "attention heads (divides --width)", false});
  f("copy_path", c.copy_path,
    FieldInfo{"copy-path",
              "byte decoder also sees the previous patch's byte i (=false, or --no-copy-path: off)",
              false});
  f("gelu", c.gelu,
    FieldInfo{"gelu", "tanh (GPT-2's and the paper's) or erf (exact; ~4x faster GELU on the CPU)",
              true});
  f("copy_stride", c.copy_stride,
    FieldInfo{"copy-stride", "patches back the copy path reads (--copy-state: one state)", true});
  f("state_prefix", c.state_prefix,
    FieldInfo{"state-prefix-bytes",
              "bytes of the previous state the byte decoder reads (--state-prefix: one state)",
              true});
  f("prefix_memory", c.prefix_memory,
    FieldInfo{
        "prefix-memory",
        "the state prefix as attention memory in each byte block (cheaper; implies --state-prefix)",
        true});
  f("program_memory", c.program_memory,
    FieldInfo{"program-memory-bytes",
              "image bytes the byte decoder attends to (--program-memory: the whole image)", true});
  f("program_attention", c.program_attention,
    FieldInfo{"program-attention",
              "rows (a copy of the image's keys per row) or trace (one product per trace; the "
              "same function, far cheaper for large images)",
              true});
  f("address_bits", c.address_bits,
    FieldInfo{"address-bits", "the program image's positions also map their address bits", true});
  f("byte_bits", c.byte_bits,
    FieldInfo{"byte-bits",
              "each byte's embedding also maps its 8 bits (bitwise results and carries bit by bit)",
              true});
  f("byte_waves", c.byte_waves,
    FieldInfo{"byte-waves",
              "each byte's embedding also maps sines and cosines of its value (sums and "
              "differences as rotations)",
              true});
  f("position_waves", c.position_waves,
    FieldInfo{"position-waves",
              "the previous state's and the image's positions also map waves of their index (a "
              "lookup by a byte's value as a match)",
              true});
  f("feature_every_byte", c.feature_every_byte,
    FieldInfo{"feature-every-byte",
              "every byte position also maps the patch's feature (not only the first)", true});
  f("begin_patch", c.begin_patch,
    FieldInfo{"begin-patch", "pad (16 x 256, cpusim's) or bin (the paper's)", true});
}

// "tiny", "small", "paper"; throws cpusim::Error for another name.
ModelConfig preset(const std::string& name);

struct TrainConfig {
  std::string data;     // HDF5 set from cpusim datagen / dataset import
  std::string out_dir;  // run folder: checkpoint.pt, model.pt, log.jsonl, config.json
  std::string preset = "small";
  ModelConfig model;
  int64_t steps = 0;          // optimizer steps (0: from epochs)
  double epochs = 1;          // passes over the train split when steps == 0
  int batch = 16;             // traces per micro-batch
  int accum = 1;              // micro-batches per optimizer step
  double lr = 1e-3;           // peak learning rate (AdamW)
  double min_lr_ratio = 0.1;  // cosine floor, as a fraction of lr
  int warmup = 100;           // linear warm-up steps
  double weight_decay = 0.01;
  double clip = 1.0;           // gradient norm clip (0: none)
  std::string device = "cpu";  // cpu or cuda
  std::string precision =
      "auto";                // auto (bf16 on CUDA and on CPUs with bf16 instructions), bf16, fp32
  bool cuda_graphs = false;  // CUDA: forward + backward replayed from graphs per padded batch shape
  bool resume = false;
  bool overwrite = false;  // replace a run already in out_dir (else one is refused without resume)
  std::string loss_on =
      "states";  // states: only the states after the first (and the end patch); all: every byte
  // The fraction of each micro-batch's states (scored rows) whose loss the backward pass takes:
  // those with the highest loss, found by a forward pass without gradients (1: every state).
  double hard_states = 1;
  int eval_every = 200;        // steps between held-out evaluations (0: only at the end)
  int eval_traces = 256;       // test traces used for held-out loss and accuracy
  int checkpoint_every = 500;  // steps between checkpoints (always at the end)
  double max_minutes = 0;      // stop (and save) after this much training time; 0: no limit
  // What the cosine follows: "clock" (with max_minutes, whichever of the steps and the time
  // budget is further along, so the rate has decayed when the budget ends) or "steps" (the steps
  // alone; max_minutes only stops this invocation, so a run made in pieces with --resume has the
  // losses of one uninterrupted run).
  std::string schedule = "clock";
  int64_t stop_after = 0;  // stop (and save) after this many steps in this invocation; 0: no limit
  uint64_t seed = 0;
  int threads = 0;  // CPU threads for torch (0: all cores)
  int procs = 1;    // local data-parallel processes (forked; Gloo on 127.0.0.1); CPU only
  // Data-parallel runs: when the gradients are summed: "during" the backward pass, bucket by
  // bucket, "after" it, or "auto": during on CUDA, after on CPUs (where the all-reduce competes
  // with the backward pass for the cores; results/distributed.md).
  std::string allreduce = "auto";
  int dist_timeout = 300;  // data-parallel runs: seconds a collective may wait for the other ranks
  bool quiet = false;
  bool timing = false;  // print where each step's time went (waits for the device per phase)
  std::string
      profile;  // write libtorch's per-operator trace (chrome://tracing JSON) of steps 3..7 here
  // Model sizes that follow from the data's machine (resolve_data_sizes, the last layer):
  bool state_prefix_from_data =
      false;  // model.state_prefix := the state's bytes (--state-prefix, --prefix-memory)
  bool copy_stride_from_data = false;  // model.copy_stride := the state's patches (--copy-state)
  bool program_memory_from_data =
      false;  // model.program_memory := the image's bytes (--program-memory)
};

// A named starting point of `cpusim train --preset` and of the pipeline: a size (tiny, small,
// paper) and, for a recipe, the architecture options and training settings measured best for a
// task (results/learning.md).
struct TrainPreset {
  const char* name;
  const char* sets;  // what it sets, as `cpusim train --help` lists it
  void (*apply)(TrainConfig&);
};
const std::vector<TrainPreset>& train_presets();

// A run's configuration, in three layers, each over the one before: the preset's; the options
// given explicitly (`given` sets them; a size given explicitly drops its *_from_data); then,
// once the data's machine is known (train() reads it from the set), the sizes that follow from
// it (resolve_data_sizes). Throws cpusim::Error for an unknown preset or a bad combination.
TrainConfig layer_config(const std::string& preset, const std::function<void(TrainConfig&)>& given);
TrainConfig resolve_data_sizes(TrainConfig t, const isa::Config& machine);

}  // namespace cpusim::model
