// cli/cmd_model.cpp: `cpusim train`. Fills model::TrainConfig from the command line.
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "common/progress.h"
#include "model/api.h"

namespace cpusim::cli {

int cmd_train(const Args& args) {
  model::TrainConfig t;
  bool dry_run = false, copy_path = false, no_copy_path = false;
  int patch_layers = 0, byte_layers = 0, width = 0, heads = 0, max_patches = 0;
  std::string gelu;
  po::options_description d("train options");
  d.add_options()("data", po::value(&t.data), "HDF5 trace set (cpusim datagen)")
      ("output,o", po::value(&t.out_dir), "run folder (checkpoint.pt, model.pt, log.jsonl, config.json)")
      ("preset", po::value(&t.preset)->default_value("small"), "tiny, small or paper")
      ("copy-path", po::bool_switch(&copy_path), "byte decoder also sees the previous patch's byte i")
      ("no-copy-path", po::bool_switch(&no_copy_path), "the paper's architecture (the default)")
      ("patch-layers", po::value(&patch_layers), "override the preset")
      ("byte-layers", po::value(&byte_layers), "override the preset")
      ("width", po::value(&width), "override the preset")
      ("heads", po::value(&heads), "override the preset")
      ("gelu", po::value(&gelu)->default_value("tanh"), "tanh (GPT-2's and the paper's) or erf (exact; ~4x faster GELU on the CPU)")
      ("max-patches", po::value(&max_patches), "override the preset")
      ("steps", po::value(&t.steps)->default_value(0), "optimizer steps (0: --epochs)")
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
      ("eval-every", po::value(&t.eval_every)->default_value(200), "steps between held-out evaluations")
      ("eval-traces", po::value(&t.eval_traces)->default_value(256), "test traces for held-out figures")
      ("checkpoint-every", po::value(&t.checkpoint_every)->default_value(500), "steps between checkpoints")
      ("max-minutes", po::value(&t.max_minutes)->default_value(0), "stop after this much training time (the learning-rate schedule follows the clock too)")
      ("stop-after", po::value(&t.stop_after)->default_value(0), "stop after this many steps (resume later with --resume)")
      ("seed", po::value(&t.seed)->default_value(0), "random seed (initialisation, data order)")
      ("threads", po::value(&t.threads)->default_value(0), "CPU threads (0: libtorch's default; one per core for bf16)")
      ("dry-run", po::bool_switch(&dry_run), "print the resolved configuration as JSON and exit")
      ("quiet,q", po::bool_switch(&t.quiet), "no progress output")
      ("profile", po::value(&t.profile), "write libtorch's per-operator trace of steps 3..7 (host time per call and, on CUDA, device time; chrome://tracing JSON) to this file")
      ("timing", po::bool_switch(&t.timing), "at the end, print where a step's time went (batch, forward, backward, clip, optimizer; waits for the device after each)");
  po::variables_map vm;
  if (!parse("train", "--data D.h5 --preset P [--steps N | --epochs E] [--batch B] [--lr X] -o RUN_DIR", d, {}, args, vm))
    return 0;
  t.model = model::preset(t.preset);
  if (copy_path && no_copy_path) throw Error("--copy-path and --no-copy-path together");
  t.model.copy_path = copy_path;
  if (patch_layers) t.model.patch_layers = patch_layers;
  if (byte_layers) t.model.byte_layers = byte_layers;
  if (width) t.model.width = width;
  if (heads) t.model.heads = heads;
  if (gelu != "tanh" && gelu != "erf") throw Error("--gelu " + gelu + ": expected tanh or erf");
  t.model.gelu = gelu;
  if (max_patches) t.model.max_patches = max_patches;
  if (t.model.width % t.model.heads) throw Error("--width must be a multiple of --heads");
  if (t.batch < 1 || t.accum < 1) throw Error("--batch and --accum must be at least 1");
  if (dry_run) {
    std::cout << model::config_json(t, model::parameter_count(t.model)) << "\n";
    return 0;
  }
  if (t.data.empty()) throw Error("--data is required (an HDF5 set from cpusim datagen)");
  if (t.out_dir.empty()) throw Error("-o RUN_DIR is required");
  const auto s = model::train(t);
  char line[320];
  std::snprintf(line, sizeof line,
                "train: %lld steps in %.1f s; final loss %.4f; held-out loss %.4f (%.4f at step %lld), "
                "teacher-forced byte accuracy %.2f%% (%.2f%%)\n",
                (long long)s.steps, s.seconds, s.final_loss, s.eval_loss, s.start_eval_loss, (long long)s.start_step,
                100 * s.eval_byte_accuracy, 100 * s.start_eval_byte_accuracy);
  std::cerr << line;
  return s.stopped_on_nan ? 1 : 0;
}

}  // namespace cpusim::cli

// ---------------------------------------------------------------------------------------------
#include <filesystem>
#include <iomanip>
#include <nlohmann/json.hpp>

#include "datagen/dataset.h"
#include "emulator/emulator.h"
#include "harness/metrics.h"
#include "harness/report.h"
#include "isa/asm.h"

namespace cpusim::cli {

namespace fs = std::filesystem;

namespace {

void require_same_machine(const isa::Config& model, const isa::Config& data, const std::string& what) {
  if (model.profile != data.profile || model.memory_size != data.memory_size ||
      isa::image_bytes(model) != isa::image_bytes(data))
    throw Error(what + ": the model was trained on --isa " + std::string(isa::profile_name(model.profile)) +
                " --memory-size " + std::to_string(model.memory_size) + ", the data is --isa " +
                std::string(isa::profile_name(data.profile)) + " --memory-size " + std::to_string(data.memory_size) +
                (model.profile == isa::Profile::bgpt && data.profile == isa::Profile::bgpt &&
                         model.memory_size < data.memory_size
                     ? " (to keep its programs that fit the smaller memory: `cpusim dataset export` it, then "
                       "`cpusim dataset import --isa bgpt --memory-size " + std::to_string(model.memory_size) +
                           " --paper-layout --skip-invalid`)"
                     : ""));
}

}  // namespace

int cmd_eval(const Args& args) {
  std::string ckpt, data, split = "test", mode = "teacher", out, preds, device = "cpu";
  uint64_t limit = 0;
  int batch = 64, worst = 5, threads = 0;
  std::string precision = "auto";
  bool json = false, quiet = false, paper_layout = false;
  po::options_description d("eval options");
  d.add_options()("model", po::value(&ckpt)->required(), "checkpoint (RUN_DIR/model.pt)")
      ("data", po::value(&data)->required(), "HDF5 trace set")
      ("split", po::value(&split)->default_value("test"), "train or test")
      ("mode", po::value(&mode)->default_value("teacher"), "teacher (one step from the true history) or rollout")
      ("limit", po::value(&limit)->default_value(0), "evaluate the first N traces (0: all)")
      ("batch", po::value(&batch)->default_value(64), "traces per model call")
      ("worst", po::value(&worst)->default_value(5), "worst cases rendered in the report")
      ("write-predictions", po::value(&preds), "folder for the predicted traces (.bin, the paper's layout)")
      ("paper-layout", po::bool_switch(&paper_layout),
       "bgpt: write the predictions with the paper's 1024-byte memory image (for its simulator's scoring)")
      ("device", po::value(&device)->default_value("cpu"), "cpu or cuda")
      ("threads", po::value(&threads)->default_value(0), "CPU threads (0: libtorch's default; one per core for bf16)")
      ("precision", po::value(&precision)->default_value("auto"), "auto (bf16 on CUDA and on CPUs with bf16 instructions), bf16 or fp32")
      ("output,o", po::value(&out)->required(), "report folder")
      ("json", po::bool_switch(&json), "print the report's headline as JSON")
      ("quiet,q", po::bool_switch(&quiet), "no progress display");
  po::variables_map vm;
  if (!parse("eval", "--model CKPT --data D.h5 [--split test] --mode teacher|rollout [--limit N] -o REPORT_DIR", d, {},
             args, vm))
    return 0;
  if (mode != "teacher" && mode != "rollout") throw Error("--mode " + mode + ": expected teacher or rollout");
  const int s = datagen::split_index(split);
  datagen::H5Reader set(data);
  model::Simulator sim(ckpt, device, threads, precision);
  require_same_machine(sim.isa(), set.info().isa, ckpt);
  const isa::Config& c = set.info().isa;
  if (paper_layout) {
    require_paper_profile(c, "--paper-layout");
    if (preds.empty()) throw Error("--paper-layout: it is the layout of --write-predictions, which is missing");
  }
  const size_t ib = isa::image_bytes(c), sb = isa::state_bytes(c);
  uint64_t paper_different = 0;
  const uint64_t n = limit ? std::min(limit, set.size(s)) : set.size(s);
  if (n == 0) throw Error(data + ": the " + split + " split is empty");
  const std::string preds_tmp = preds.empty() ? "" : temp_sibling(preds).string();
  if (!preds.empty()) {
    std::error_code ec;
    if (fs::exists(preds, ec)) throw Error(preds + ": already exists; remove it or choose another --write-predictions");
    fs::create_directories(preds_tmp, ec);
    if (ec) throw Error(preds + ": cannot create: " + ec.message());
  }
  harness::Scorer scorer(c, mode == "teacher" ? harness::Mode::teacher : harness::Mode::rollout, worst);
  Progress progress("eval " + mode, n, "traces");
  std::vector<uint8_t> bytes;
  std::vector<uint64_t> offsets;
  uint64_t end_symbols = 0, predicted_states = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t first = 0; first < n; first += uint64_t(batch)) {
    const uint64_t count = std::min<uint64_t>(uint64_t(batch), n - first);
    set.read(s, first, count, bytes, offsets);
    std::vector<std::span<const uint8_t>> traces, prefixes;
    int max_steps = 0;
    for (uint64_t k = 0; k < count; ++k) {
      traces.push_back(std::span<const uint8_t>(bytes).subspan(offsets[k], offsets[k + 1] - offsets[k]));
      prefixes.push_back(traces.back().subspan(0, ib + sb));
      max_steps = std::max<int>(max_steps, int((traces.back().size() - ib) / sb) - 1);
    }
    std::vector<std::vector<uint8_t>> pred(count);
    if (mode == "teacher") {
      const auto p = sim.predict_teacher(traces);
      for (uint64_t k = 0; k < count; ++k)
        for (int16_t v : p[k]) {
          end_symbols += v > 255;
          pred[k].push_back(uint8_t(v > 255 ? 0 : v));  // the end symbol inside a state reads as 0
        }
    } else {
      // Predicted states past the true trace's end are ignored by the metric: stop there.
      pred = sim.rollout(prefixes, max_steps);
    }
    for (uint64_t k = 0; k < count; ++k) {
      predicted_states += pred[k].size() / sb;
      scorer.add(first + k, traces[k], pred[k]);
      if (!preds.empty()) {
        std::vector<uint8_t> file(prefixes[k].begin(), prefixes[k].end());
        file.insert(file.end(), pred[k].begin(), pred[k].end());
        if (paper_layout) {
          file = to_paper_layout(c, file);
          paper_different += !same_in_paper_machine(c, traces[k]);
        }
        char name[32];
        std::snprintf(name, sizeof name, "/%s-%07llu.bin", split.c_str(), (unsigned long long)(first + k));
        write_file_atomic(preds_tmp + name, file);
      }
    }
    if (!quiet) progress.update(first + count);
  }
  if (!quiet) progress.finish();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!preds.empty()) {
    std::error_code ec;
    fs::rename(preds_tmp, preds, ec);
    if (ec) throw Error(preds + ": cannot rename into place: " + ec.message());
  }
  nlohmann::json meta = {{"model", ckpt},
                         {"parameters", sim.parameters()},
                         {"copy_path", sim.config().copy_path},
                         {"data", data},
                         {"split", split},
                         {"isa", std::string(isa::profile_name(c.profile))},
                         {"memory_size", c.memory_size},
                         {"seconds", secs},
                         {"predicted_states_per_s", secs > 0 ? predicted_states / secs : 0}};
  if (mode == "teacher") meta["end_symbols_in_states"] = end_symbols;
  if (paper_layout) {
    meta["predictions_layout"] = "paper (1024-byte image)";
    meta["traces_run_differently_in_1024_bytes"] = paper_different;
    if (paper_different)
      std::cerr << "eval: note: " << paper_different << " of " << n << " traces reach the " << c.memory_size
                << "-byte memory's PC cap; the paper's 1024-byte machine runs them to other states, so its scores of "
                << preds << " differ from these for them\n";
  }
  const std::string png = harness::write_report(scorer, meta, out);
  const auto j = harness::report_json(scorer, meta);
  if (json) {
    nlohmann::json head = j;
    head.erase("per_form");
    head.erase("per_length");
    head.erase("per_field");
    std::cout << head.dump(2) << "\n";
  } else {
    const auto& t = scorer.total();
    std::cout << std::fixed << std::setprecision(2) << "eval " << mode << ": " << scorer.traces() << " traces, "
              << t.model.states << " states\n"
              << "  byte accuracy        " << 100 * t.model.byte_accuracy() << "%  (do-nothing baseline "
              << 100 * t.baseline.byte_accuracy() << "%)\n"
              << "  exact states         " << 100 * t.model.state_accuracy() << "%  (baseline "
              << 100 * t.baseline.state_accuracy() << "%)\n"
              << "  changed-byte acc.    " << 100 * t.model.changed_byte_accuracy() << "%  (baseline "
              << 100 * t.baseline.changed_byte_accuracy() << "%)\n"
              << "  report: " << out << "/report.md" << (png.empty() ? " (no chart: gnuplot missing)" : "") << "\n";
  }
  return 0;
}

int cmd_predict(const Args& args) {
  std::string ckpt, program, format = "auto", device = "cpu";
  std::vector<std::string> sets;
  po::options_description d("predict options");
  d.add_options()("model", po::value(&ckpt)->required(), "checkpoint")
      ("program", po::value(&program)->required(), "program: assembly or bytes")
      ("set", po::value(&sets)->composing(), "initial state edit NAME=VALUE")
      ("device", po::value(&device)->default_value("cpu"), "cpu or cuda");
  po::positional_options_description pos;
  pos.add("program", 1);
  po::variables_map vm;
  if (!parse("predict", "--model CKPT PROGRAM [--set NAME=V]...", d, pos, args, vm)) return 0;
  model::Simulator sim(ckpt, device);
  const isa::Config c = sim.isa();
  const auto image = load_image(c, program);
  std::vector<uint8_t> init = emu::zero_state(c);
  apply_sets(c, sets, init);
  std::vector<uint8_t> states;
  const emu::Outcome o = emu::run(c, image, init, states);
  if (o.stop == emu::Stop::fault) throw Error(program + ": " + emu::describe_fault(c.profile, o));
  std::vector<uint8_t> prefix(image);
  prefix.insert(prefix.end(), init.begin(), init.end());
  const size_t sb = isa::state_bytes(c);
  const int steps = int(states.size() / sb) - 1;
  const auto pred = sim.rollout({prefix}, steps)[0];
  const bool color = isatty(1);
  std::cout << "step      " << isa::state_heading(c) << "\n0         " << isa::format_state(c, states.data()) << "\n";
  int exact = 0;
  for (int k = 1; k <= steps; ++k) {
    const uint8_t* truth = states.data() + k * sb;
    std::cout << std::left << std::setw(4) << k << "true  " << isa::format_state(c, truth) << "\n";
    const size_t off = size_t(k - 1) * sb;
    if (pred.size() < off + sb) {
      std::cout << "    model (stopped)\n";
      continue;
    }
    const uint8_t* p = pred.data() + off;
    std::string diffs;
    for (size_t i = 0; i < sb; ++i)
      if (p[i] != truth[i]) diffs += " " + isa::byte_name(c, i) + "=" + std::to_string(p[i]) + "(want " + std::to_string(truth[i]) + ")";
    exact += diffs.empty();
    std::cout << "    model " << isa::format_state(c, p);
    if (!diffs.empty()) std::cout << (color ? "  \033[31m<<" : "  <<") << diffs << (color ? "\033[0m" : "");
    std::cout << "\n";
  }
  std::cout << exact << "/" << steps << " states predicted exactly\n";
  return 0;
}

}  // namespace cpusim::cli

namespace cpusim::cli {

// `cpusim pipeline`: datagen -> train -> eval (teacher, rollout) -> summary, each stage reading
// and writing files in DIR so any one can be re-run alone with --stages.
int cmd_pipeline(const Args& args) {
  std::string preset = "quickstart", dir, stages = "datagen,train,eval", device = "cpu";
  double minutes = 0;
  uint64_t seed = 1;
  po::options_description d("pipeline options");
  d.add_options()("preset", po::value(&preset)->default_value("quickstart"), "quickstart (CPU: 20 min of training, ~21 min in all) or smoke (seconds)")
      ("output,o", po::value(&dir)->required(), "pipeline folder")
      ("stages", po::value(&stages)->default_value("datagen,train,eval"), "which stages to run")
      ("minutes", po::value(&minutes)->default_value(0), "training time budget (default: the preset's)")
      ("seed", po::value(&seed)->default_value(1), "seed for data and training")
      ("device", po::value(&device)->default_value("cpu"), "cpu or cuda");
  po::variables_map vm;
  if (!parse("pipeline", "--preset quickstart -o DIR [--stages datagen,train,eval]", d, {}, args, vm)) return 0;
  // The recipe: the paper's CPU (bgpt) at a size two CPU cores can learn: 64-byte memory,
  // programs of 1..16 instructions; a small bGPT with the copy path and 8 heads (the best
  // held-out loss of the head counts tried, results/quickstart/README.md) and the exact GELU
  // (~25% more steps in the time than GPT-2's tanh form on this CPU); loss on states only;
  // bf16 where the CPU has it.
  Args gen = {"--isa", "bgpt", "--memory-size", "64", "--seed", std::to_string(seed), "-o", dir + "/data.h5"};
  Args train = {"--data", dir + "/data.h5", "-o", dir + "/run", "--preset", "small", "--copy-path", "--heads", "8", "--gelu", "erf",
                "--seed", std::to_string(seed), "--device", device};
  Args eval_common = {"--model", dir + "/model.pt", "--data", dir + "/data.h5", "--device", device};
  if (preset == "quickstart") {
    gen.insert(gen.end(), {"--train", "60000", "--test", "1000"});
    train.insert(train.end(), {"--batch", "32", "--lr", "2e-3", "--warmup", "200", "--steps", "6000",
                               "--eval-every", "500", "--eval-traces", "256", "--checkpoint-every", "500",
                               "--max-minutes", std::to_string(minutes > 0 ? minutes : 20.0)});
    eval_common.insert(eval_common.end(), {"--limit", "1000"});
  } else if (preset == "smoke") {
    gen.insert(gen.end(), {"--train", "300", "--test", "30", "--max-len", "6"});
    train = {"--data", dir + "/data.h5", "-o", dir + "/run", "--preset", "tiny", "--copy-path", "--seed",
             std::to_string(seed), "--steps", "20", "--batch", "8", "--warmup", "5", "--eval-every", "10",
             "--eval-traces", "16", "--device", device, "-q"};
    if (minutes > 0) train.insert(train.end(), {"--max-minutes", std::to_string(minutes)});
    eval_common.insert(eval_common.end(), {"--limit", "30", "-q"});
  } else {
    throw Error("unknown pipeline preset '" + preset + "' (expected quickstart or smoke)");
  }
  auto want = [&](const std::string& s) { return ("," + stages + ",").find("," + s + ",") != std::string::npos; };
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create: " + ec.message());
  const auto t0 = std::chrono::steady_clock::now();
  auto stage = [&](const std::string& name) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cerr << "== pipeline: " << name << " (" << long(s) << " s elapsed)\n";
  };
  if (want("datagen")) {
    stage("datagen");
    if (fs::exists(dir + "/data.h5")) fs::remove(dir + "/data.h5");
    if (int rc = cmd_datagen(gen)) return rc;
  }
  if (want("train")) {
    stage("train");
    if (int rc = cmd_train(train)) return rc;
    fs::copy_file(dir + "/run/model.pt", temp_sibling(dir + "/model.pt"), fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::rename(temp_sibling(dir + "/model.pt"), dir + "/model.pt", ec);
    if (ec) throw Error(dir + "/model.pt: cannot write: " + ec.message());
  }
  if (want("eval")) {
    for (const std::string mode : {"teacher", "rollout"}) {
      stage("eval " + mode);
      Args e = eval_common;
      e.insert(e.end(), {"--mode", mode, "-o", dir + "/report-" + mode});
      if (mode == "rollout") {
        fs::remove_all(dir + "/predictions-rollout", ec);
        e.insert(e.end(), {"--write-predictions", dir + "/predictions-rollout"});
      }
      if (int rc = cmd_eval(e)) return rc;
    }
  }
  stage("done");
  std::cerr << "pipeline: reports in " << dir << "/report-teacher/report.md and " << dir << "/report-rollout/report.md\n";
  return 0;
}

}  // namespace cpusim::cli
