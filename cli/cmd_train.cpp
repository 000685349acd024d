// cli/cmd_train.cpp: `cpusim train`: a preset, the options given over it (model::layer_config),
// then training. The model options come from ModelConfig's one field list (model/config.h).
#include <iostream>
#include <type_traits>
#include <vector>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "model/api.h"

namespace cpusim::cli {

namespace {

// Options whose value is applied over the preset only when given on the command line; --help
// shows the default a run gets without a preset that sets it.
class Given {
 public:
  // A TrainConfig member.
  template <class T>
  void add(po::options_description& d, const char* name, T model::TrainConfig::*member,
           const char* help) {
    const model::TrainConfig defaults;
    if constexpr (std::is_same_v<T, bool>)
      d.add_options()(name, po::bool_switch(), help);
    else
      d.add_options()(name, po::value<T>()->default_value(defaults.*member), help);
    apply_.push_back([name, member](model::TrainConfig& t, const po::variables_map& vm) {
      if (given(vm, name)) t.*member = vm[name].as<T>();
    });
  }
  // Every ModelConfig field that has an option in the field list, whatever its type.
  void add_model_fields(po::options_description& d) {
    model::ModelConfig c;
    model::for_each_field(c, [&](const char* field, auto& v, const model::FieldInfo& f) {
      using T = std::decay_t<decltype(v)>;
      if (!f.option) return;
      if constexpr (std::is_same_v<T, bool>)  // --copy-path, or --copy-path=false
        d.add_options()(f.option, po::value<bool>()->implicit_value(true), f.help);
      else
        d.add_options()(f.option, po::value<T>(), f.help);
      apply_.push_back(
          [field, option = f.option](model::TrainConfig& t, const po::variables_map& vm) {
            if (!vm.count(option)) return;
            model::for_each_field(t.model,
                                  [&](const char* name, auto& member, const model::FieldInfo&) {
                                    if constexpr (std::is_same_v<std::decay_t<decltype(member)>, T>)
                                      if (std::string(name) == field) member = vm[option].as<T>();
                                  });
          });
    });
  }
  void apply(model::TrainConfig& t, const po::variables_map& vm) const {
    for (const auto& f : apply_) f(t, vm);
  }
  static bool given(const po::variables_map& vm, const char* name) {
    return vm.count(name) && !vm[name].defaulted();
  }

 private:
  std::vector<std::function<void(model::TrainConfig&, const po::variables_map&)>> apply_;
};

std::string usage() {
  std::string u =
      "--data D.h5 [--preset P] [--steps N | --epochs E] [options over the preset] -o "
      "RUN_DIR\n\npresets:\n";
  for (const model::TrainPreset& p : model::train_presets())
    u += "  " + std::string(p.name) + ": " + p.sets + "\n";
  return u +
         "Options given explicitly override the preset's; sizes that follow from the data "
         "(--state-prefix,\n"
         "--program-memory, --copy-state) are resolved last, from the set's machine.";
}

// The options: the model's (the field list's, and the sizes that follow from the data), the
// training's and the run's, each applied over the preset only when given.
void declare(Given& g, std::string& preset, po::options_description& model_opts,
             po::options_description& train_opts, po::options_description& run_opts) {
  using T = model::TrainConfig;
  model_opts.add_options()("preset", po::value(&preset)->default_value("small"),
                           "one of the presets listed above");
  g.add_model_fields(model_opts);
  g.add(model_opts, "state-prefix", &T::state_prefix_from_data,
        "byte decoder reads the whole previous state as a prefix (--state-prefix-bytes: the "
        "state's size)");
  g.add(model_opts, "program-memory", &T::program_memory_from_data,
        "byte decoder attends to every byte of the trace's program image (--program-memory-bytes: "
        "the image's size)");
  g.add(model_opts, "copy-state", &T::copy_stride_from_data,
        "with --copy-path: position i reads the previous state's byte at the same place "
        "(--copy-stride: the state's patches)");
  g.add(train_opts, "steps", &T::steps, "optimizer steps (0: --epochs)");
  g.add(train_opts, "epochs", &T::epochs, "passes over the train split");
  g.add(train_opts, "batch", &T::batch, "traces per micro-batch");
  g.add(train_opts, "accum", &T::accum, "micro-batches per step");
  g.add(train_opts, "lr", &T::lr, "peak learning rate");
  g.add(train_opts, "warmup", &T::warmup, "warm-up steps");
  g.add(train_opts, "weight-decay", &T::weight_decay, "AdamW weight decay");
  g.add(train_opts, "clip", &T::clip, "gradient norm clip (0: none)");
  g.add(train_opts, "loss-on", &T::loss_on, "states (after the first) or all (the paper)");
  g.add(train_opts, "hard-states", &T::hard_states,
        "train on this fraction of each batch's states, those with the highest loss (a forward "
        "pass without gradients chooses them; 1: every state)");
  g.add(train_opts, "eval-every", &T::eval_every, "steps between held-out evaluations");
  g.add(train_opts, "eval-traces", &T::eval_traces, "test traces for held-out figures");
  g.add(train_opts, "checkpoint-every", &T::checkpoint_every, "steps between checkpoints");
  g.add(train_opts, "max-minutes", &T::max_minutes,
        "stop after this much training time (with --schedule clock the learning-rate schedule "
        "follows the clock too; alias --minutes)");
  g.add(train_opts, "schedule", &T::schedule,
        "what the cosine follows: clock (the steps or --max-minutes, whichever is further) or "
        "steps (--max-minutes only stops; pieces resumed give one run's losses)");
  g.add(train_opts, "stop-after", &T::stop_after,
        "stop after this many steps (resume later with --resume)");
  g.add(train_opts, "seed", &T::seed, "random seed (initialisation, data order)");
  run_opts.add_options()("data", po::value<std::string>(), "HDF5 trace set (cpusim datagen)")(
      "output,o", po::value<std::string>(),
      "run folder (checkpoint.pt, model.pt, log.jsonl, config.json)");
  g.add(run_opts, "resume", &T::resume, "continue from RUN_DIR/checkpoint.pt");
  g.add(run_opts, "overwrite", &T::overwrite,
        "replace the run already in RUN_DIR (without it or --resume, one is refused)");
  g.add(run_opts, "device", &T::device, "cpu or cuda");
  g.add(run_opts, "precision", &T::precision,
        "auto (bf16 autocast on CUDA and on CPUs with bf16 instructions), bf16 or fp32");
  g.add(run_opts, "cuda-graphs", &T::cuda_graphs,
        "on CUDA, replay each step's forward and backward from a CUDA graph captured per padded "
        "batch shape");
  g.add(run_opts, "threads", &T::threads,
        "CPU threads (0: libtorch's default; one per core for bf16; with --procs, the cores shared "
        "out)");
  g.add(run_opts, "procs", &T::procs,
        "data-parallel processes on this machine, without a launcher (CPU; --batch stays the "
        "global batch; on 2 cores, 2 "
        "run ~20% faster than 1)");
  g.add(run_opts, "dist-timeout", &T::dist_timeout,
        "data-parallel runs (WORLD_SIZE > 1): seconds the rendezvous and each collective may wait "
        "for the other ranks");
  g.add(run_opts, "allreduce", &T::allreduce,
        "data-parallel runs: sum the gradients 'during' the backward pass (bucket by bucket, as "
        "DDP), 'after' it, or "
        "'auto': during on CUDA, after on CPUs");
  g.add(run_opts, "profile", &T::profile,
        "write libtorch's per-operator trace of steps 3..7 (chrome://tracing JSON) to this file");
  g.add(run_opts, "timing", &T::timing,
        "at the end, print where a step's time went (waits for the device after each phase)");
}

}  // namespace

int cmd_train(const Args& args) {
  Given g;
  std::string preset;
  bool dry_run = false, json = false;
  po::options_description model_opts("model options (over the preset)"),
      train_opts("training options"), run_opts("run options");
  declare(g, preset, model_opts, train_opts, run_opts);
  run_opts.add_options()("dry-run", po::bool_switch(&dry_run),
                         "print the resolved configuration as JSON and exit")(
      "json", po::bool_switch(&json), "print the summary as JSON on stdout")(
      "quiet,q", po::bool_switch(), "no progress output");
  po::options_description hidden;  // aliases: each named in its option's row
  hidden.add_options()("minutes", po::value<double>(), "--max-minutes")(
      "no-copy-path", po::bool_switch(), "--copy-path=false");
  po::options_description d("train options");
  d.add(model_opts).add(train_opts).add(run_opts);
  po::variables_map vm;
  if (!parse("train", usage(), d, {}, args, vm, &hidden)) return 0;
  if (Given::given(vm, "no-copy-path") && vm.count("copy-path") && vm["copy-path"].as<bool>())
    throw Error("--copy-path and --no-copy-path together");
  model::TrainConfig t = model::layer_config(preset, [&](model::TrainConfig& c) {
    g.apply(c, vm);
    if (vm.count("minutes") && !Given::given(vm, "max-minutes"))
      c.max_minutes = vm["minutes"].as<double>();
    if (Given::given(vm, "no-copy-path")) c.model.copy_path = false;
    if (vm.count("prefix-memory") && c.model.prefix_memory) c.state_prefix_from_data = true;
    // A size given in bytes is the size: it is not resolved from the data.
    if (vm.count("state-prefix-bytes")) c.state_prefix_from_data = false;
    if (vm.count("program-memory-bytes")) c.program_memory_from_data = false;
    if (vm.count("copy-stride")) c.copy_stride_from_data = false;
    if (vm.count("data")) c.data = vm["data"].as<std::string>();
    if (vm.count("output")) c.out_dir = vm["output"].as<std::string>();
    c.quiet = vm["quiet"].as<bool>();
  });
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
  if (json)
    std::cout << model::summary_json(s, t.out_dir) << "\n";
  else
    std::cout << model::summary_line(s);
  return s.stopped_on_nan ? kExitDifferences : kExitOk;
}

}  // namespace cpusim::cli
