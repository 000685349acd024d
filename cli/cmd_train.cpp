// cli/cmd_train.cpp: `cpusim train`: fills model::TrainConfig from the command line and trains.
#include <iostream>
#include <map>
#include <type_traits>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "model/api.h"

namespace cpusim::cli {

namespace {

// --patch-layers, --width, ...: the ModelConfig fields a command line may override, from the
// field list (model/config.h); 0 keeps the preset's value.
struct Overrides {
  std::map<std::string, int> ints;
  void add(po::options_description& d) {
    model::ModelConfig c;
    model::for_each_field(c, [&](const char*, auto& v, const model::FieldInfo& f) {
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, int>)
        if (f.option) d.add_options()(f.option, po::value(&ints[f.option]), f.help);
    });
  }
  void apply(model::ModelConfig& c) {
    model::for_each_field(c, [&](const char*, auto& v, const model::FieldInfo& f) {
      if constexpr (std::is_same_v<std::decay_t<decltype(v)>, int>)
        if (f.option && ints[f.option]) v = ints[f.option];
    });
  }
};

}  // namespace

int cmd_train(const Args& args) {
  model::TrainConfig t;
  bool dry_run = false, copy_path = false, no_copy_path = false, prefix_memory = false, json = false;
  double minutes = 0;
  Overrides over;
  std::string gelu;
  po::options_description d("train options");
  d.add_options()("data", po::value(&t.data), "HDF5 trace set (cpusim datagen)")
      ("output,o", po::value(&t.out_dir), "run folder (checkpoint.pt, model.pt, log.jsonl, config.json)")
      ("preset", po::value(&t.preset)->default_value("small"), "tiny, small or paper")
      ("copy-path", po::bool_switch(&copy_path), "byte decoder also sees the previous patch's byte i")
      ("no-copy-path", po::bool_switch(&no_copy_path), "the paper's architecture (the default)")
      ("copy-state", po::bool_switch(&t.copy_state), "with --copy-path: position i reads the previous state's byte at the same place (states of several patches: toy)")
      ("state-prefix", po::bool_switch(&t.state_prefix), "byte decoder reads the whole previous state as a prefix (attention over each of its bytes)")
      ("program-memory", po::bool_switch(&t.program_memory), "byte decoder attends to every byte of the trace's program image (keys and values once per trace)")
      ("prefix-memory", po::bool_switch(&prefix_memory), "--state-prefix as attention memory in each byte block (cheaper; the prefix is not transformed)")
      ("byte-bits", po::bool_switch(&t.model.byte_bits), "each byte's embedding (input and output) also maps its 8 bits, so bitwise results and carries can be computed bit by bit")
      ("gelu", po::value(&gelu)->default_value("tanh"), "tanh (GPT-2's and the paper's) or erf (exact; ~4x faster GELU on the CPU)");
  over.add(d);
  d.add_options()("steps", po::value(&t.steps)->default_value(0), "optimizer steps (0: --epochs)")
      ("epochs", po::value(&t.epochs)->default_value(1), "passes over the train split")
      ("batch", po::value(&t.batch)->default_value(16), "traces per micro-batch")
      ("accum", po::value(&t.accum)->default_value(1), "micro-batches per step")
      ("lr", po::value(&t.lr)->default_value(1e-3), "peak learning rate")
      ("warmup", po::value(&t.warmup)->default_value(100), "warm-up steps")
      ("weight-decay", po::value(&t.weight_decay)->default_value(0.01), "AdamW weight decay")
      ("clip", po::value(&t.clip)->default_value(1.0), "gradient norm clip (0: none)")
      ("loss-on", po::value(&t.loss_on)->default_value("states"), "states (after the first) or all (the paper)")
      ("device", po::value(&t.device)->default_value("cpu"), "cpu or cuda")
      ("precision", po::value(&t.precision)->default_value("auto"), "auto (bf16 autocast on CUDA and on CPUs with bf16 instructions), bf16 or fp32")
      ("cuda-graphs", po::bool_switch(&t.cuda_graphs), "on CUDA, replay each step's forward and backward from a CUDA graph captured per padded batch shape")
      ("resume", po::bool_switch(&t.resume), "continue from RUN_DIR/checkpoint.pt")
      ("overwrite", po::bool_switch(&t.overwrite), "replace the run already in RUN_DIR (without it or --resume, one is refused)")
      ("eval-every", po::value(&t.eval_every)->default_value(200), "steps between held-out evaluations")
      ("eval-traces", po::value(&t.eval_traces)->default_value(256), "test traces for held-out figures")
      ("checkpoint-every", po::value(&t.checkpoint_every)->default_value(500), "steps between checkpoints")
      ("max-minutes", po::value(&t.max_minutes)->default_value(0), "stop after this much training time (the learning-rate schedule follows the clock too)")
      ("minutes", po::value(&minutes), "the same as --max-minutes (the pipeline's older spelling)")
      ("stop-after", po::value(&t.stop_after)->default_value(0), "stop after this many steps (resume later with --resume)")
      ("seed", po::value(&t.seed)->default_value(0), "random seed (initialisation, data order)")
      ("dist-timeout", po::value(&t.dist_timeout)->default_value(300), "data-parallel runs (WORLD_SIZE > 1): seconds the rendezvous and each collective may wait for the other ranks before every rank stops")
      ("allreduce", po::value(&t.allreduce)->default_value("auto"), "data-parallel runs: sum the gradients 'during' the backward pass (bucket by bucket, as DDP), 'after' it, or 'auto': during on CUDA, after on CPUs (there the all-reduce competes with the backward pass for the cores)")
      ("threads", po::value(&t.threads)->default_value(0), "CPU threads (0: libtorch's default; one per core for bf16; with --procs, the cores shared out)")
      ("procs", po::value(&t.procs)->default_value(1), "data-parallel processes on this machine, without a launcher (CPU; --batch stays the global batch; on 2 cores, 2 run ~20% faster than 1)")
      ("dry-run", po::bool_switch(&dry_run), "print the resolved configuration as JSON and exit")
      ("json", po::bool_switch(&json), "print the summary as JSON on stdout")
      ("quiet,q", po::bool_switch(&t.quiet), "no progress output")
      ("profile", po::value(&t.profile), "write libtorch's per-operator trace of steps 3..7 (host time per call and, on CUDA, device time; chrome://tracing JSON) to this file")
      ("timing", po::bool_switch(&t.timing), "at the end, print where a step's time went (batch, forward, backward, clip, optimizer; waits for the device after each)");
  po::variables_map vm;
  if (!parse("train", "--data D.h5 --preset P [--steps N | --epochs E] [--batch B] [--lr X] -o RUN_DIR", d, {}, args, vm))
    return 0;
  const bool byte_bits = t.model.byte_bits;
  if (vm.count("minutes")) t.max_minutes = minutes;
  t.model = model::preset(t.preset);
  t.model.byte_bits = byte_bits;
  if (copy_path && no_copy_path) throw Error("--copy-path and --no-copy-path together");
  t.model.copy_path = copy_path;
  t.model.prefix_memory = prefix_memory;
  t.state_prefix = t.state_prefix || prefix_memory;
  over.apply(t.model);
  if (gelu != "tanh" && gelu != "erf") throw Error("--gelu " + gelu + ": expected tanh or erf");
  t.model.gelu = gelu;
  if (t.model.width % t.model.heads) throw Error("--width must be a multiple of --heads");
  if (t.batch < 1 || t.accum < 1) throw Error("--batch and --accum must be at least 1");
  if (dry_run) {
    std::cout << model::config_json(t, model::parameter_count(t.model)) << "\n";
    return 0;
  }
  if (t.data.empty()) throw Error("--data is required (an HDF5 set from cpusim datagen)");
  if (t.out_dir.empty()) throw Error("-o RUN_DIR is required");
  if (t.resume && t.overwrite) throw Error("--resume and --overwrite together");
  const bool leader = model::dist_rank() == 0;  // data-parallel: the first rank reports
  if (!leader) t.quiet = true;
  const auto s = model::train(t);
  if (!leader) return s.stopped_on_nan ? kExitDifferences : kExitOk;
  if (json) std::cout << model::summary_json(s, t.out_dir) << "\n";
  else std::cout << model::summary_line(s);
  return s.stopped_on_nan ? kExitDifferences : kExitOk;
}

}  // namespace cpusim::cli
