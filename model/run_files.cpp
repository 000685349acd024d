// model/run_files.cpp: the run folder's files (model/run_files.h) and the run's configuration and
// summaries as the command prints them (model/api.h: config_json, summary_line, summary_json).
#include "model/run_files.h"

#include <torch/version.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/io.h"
#include "common/version.h"
#include "model/api.h"
#include "model/checkpoint.h"

namespace cpusim::model {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string torch_version() { return TORCH_VERSION; }

std::string config_json(const TrainConfig& t, int64_t parameters) {
  json j = {
      {"data", t.data},
      {"out_dir", t.out_dir},
      {"preset", t.preset},
      {"model", to_json(t.model)},
      {"parameters", parameters},
      {"steps", t.steps},
      {"epochs", t.epochs},
      {"batch", t.batch},
      {"accum", t.accum},
      {"lr", t.lr},
      {"min_lr_ratio", t.min_lr_ratio},
      {"warmup", t.warmup},
      {"weight_decay", t.weight_decay},
      {"clip", t.clip},
      {"device", t.device},
      {"precision", t.precision},
      {"cuda_graphs", t.cuda_graphs},
      {"resume", t.resume},
      {"loss_on", t.loss_on},
      {"hard_states", t.hard_states},
      {"eval_every", t.eval_every},
      {"eval_traces", t.eval_traces},
      {"checkpoint_every", t.checkpoint_every},
      {"max_minutes", t.max_minutes},
      {"schedule", t.schedule},
      {"stop_after", t.stop_after},
      {"seed", t.seed},
      {"timing", t.timing},
      {"profile", t.profile},
      {"state_prefix", t.state_prefix_from_data},
      {"copy_state", t.copy_stride_from_data},
      {"program_memory", t.program_memory_from_data},
      {"overwrite", t.overwrite},
      {"dist_timeout", t.dist_timeout},
      {"allreduce", t.allreduce},
      {"procs", t.procs},
      {"build", {{"cpusim", version()}, {"commit", commit()}, {"libtorch", torch_version()}}}};
  return j.dump(2);
}

std::string summary_line(const TrainSummary& s) {
  char line[320];
  std::snprintf(
      line, sizeof line,
      "train: %lld steps in %.1f s; final loss %.4f; held-out loss %.4f (%.4f at step %lld), "
      "teacher-forced byte accuracy %.2f%% (%.2f%%)\n",
      (long long)s.steps, s.seconds, s.final_loss, s.eval_loss, s.start_eval_loss,
      (long long)s.start_step, 100 * s.eval_byte_accuracy, 100 * s.start_eval_byte_accuracy);
  return line;
}

std::string summary_json(const TrainSummary& s, const std::string& run_dir) {
  json j = {{"run_dir", run_dir},
            {"steps", s.steps},
            {"seconds", s.seconds},
            {"final_loss", s.final_loss},
            {"eval_loss", s.eval_loss},
            {"eval_byte_accuracy", s.eval_byte_accuracy},
            {"start_step", s.start_step},
            {"start_eval_loss", s.start_eval_loss},
            {"start_eval_byte_accuracy", s.start_eval_byte_accuracy},
            {"stopped_on_nan", s.stopped_on_nan}};
  return j.dump(2);
}

void print_heldout(int64_t step, const EvalResult& e) {
  char line[160];
  std::snprintf(line, sizeof line,
                "train: at step %lld: held-out loss %.4f, teacher-forced byte accuracy %.2f%%\n",
                (long long)step, e.loss, 100 * e.byte_accuracy);
  std::cerr << line;
}

void RunLog::row(int64_t step, int64_t total, int64_t first, double loss, double lr, double secs,
                 int64_t bytes, const EvalResult* ev, double budget_s) {
  json r = {
      {"step", step}, {"loss", loss}, {"lr", lr}, {"seconds", secs}, {"bytes_per_s", bytes / secs}};
  if (ev)
    r["eval_loss"] = ev->loss, r["eval_byte_accuracy"] = ev->byte_accuracy,
    r["eval_exact_patches"] = ev->exact_patches;
  if (!enabled_) return;
  out_ << r.dump() << "\n";
  out_.flush();
  const bool tty = isatty(2);
  if (quiet_ || !(secs - last_print_ > (tty ? 0.5 : 10) || ev || step == total)) return;
  last_print_ = secs;
  double eta = secs / double(step - first) * double(total - step);
  if (budget_s > 0) eta = std::min(eta, std::max(0.0, budget_s - secs));
  char line[256];
  std::snprintf(line, sizeof line,
                "%sstep %lld/%lld  loss %.4f  lr %.2e  %.0f B/s  %.1fs  ETA %.0fs%s",
                tty ? "\r" : "", (long long)step, (long long)total, loss, lr, bytes / secs, secs,
                eta, tty ? "" : "\n");
  std::cerr << line;
  if (ev) {
    std::snprintf(line, sizeof line,
                  "%s  held-out loss %.4f, teacher-forced byte accuracy %.2f%%\n", tty ? "\n" : "",
                  ev->loss, 100 * ev->byte_accuracy);
    std::cerr << line;
  }
}

void RunLog::keep_through(const std::string& path, int64_t first) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const json r = json::parse(line, nullptr, false);
    if (r.is_discarded() || !r.contains("step") ||
        !r["step"].is_number_integer())  // a torn last line
      continue;
    if (r["step"].get<int64_t>() <= first) kept += line + "\n";
  }
  write_file_atomic(path, std::vector<uint8_t>(kept.begin(), kept.end()));
}

namespace {

// What a run folder holds.
constexpr const char* kRunFiles[] = {"checkpoint.pt", "model.pt", "best.pt", "log.jsonl",
                                     "config.json"};

}  // namespace

void check_run(const TrainConfig& t, bool leader) {
  if (!(t.hard_states > 0 && t.hard_states <= 1)) {
    char v[32];
    std::snprintf(v, sizeof v, "%g", t.hard_states);
    throw Error(std::string("--hard-states ") + v + ": expected a fraction in (0, 1]");
  }
  if (t.hard_states < 1 && t.cuda_graphs)
    throw Error("--hard-states below 1 runs eagerly: it cannot take --cuda-graphs");
  if (t.loss_on != "states" && t.loss_on != "all")
    throw Error("--loss-on " + t.loss_on + ": expected states or all");
  if (t.schedule != "clock" && t.schedule != "steps")
    throw Error("--schedule " + t.schedule + ": expected clock or steps");
  if (t.allreduce != "auto" && t.allreduce != "during" && t.allreduce != "after")
    throw Error("--allreduce " + t.allreduce + ": expected auto, during or after");
  if (t.cuda_graphs && !t.profile.empty())  // the profiler's CUDA events would land inside captures
    throw Error(
        "--profile and --cuda-graphs together: a graph replay has no operators to time; profile "
        "without --cuda-graphs");
  std::error_code ec;
  fs::create_directories(t.out_dir, ec);
  if (ec) throw Error(t.out_dir + ": cannot create run folder: " + ec.message());
  const fs::path dir(t.out_dir);
  require_writable(dir / "config.json");
  if (leader)  // a killed run's temporaries
    for (const char* f : kRunFiles) remove_stale_temps(dir / f);
  if (t.resume) {
    if (!fs::exists(dir / "checkpoint.pt", ec))
      throw Error(t.out_dir + ": no checkpoint.pt to resume from");
  } else {
    for (const char* f : kRunFiles) {
      if (!fs::exists(dir / f, ec)) continue;
      if (!t.overwrite)
        throw Error(t.out_dir + ": holds a run (" + f +
                    "); --resume continues it, --overwrite replaces it");
      if (leader) fs::remove(dir / f, ec);
    }
  }
  if (!t.profile.empty()) {  // fail now, not after the steps it is to record
    const auto tmp = temp_sibling(t.profile);
    if (!std::ofstream(tmp)) throw Error(t.profile + ": cannot write the profile");
    fs::remove(tmp, ec);
  }
}

}  // namespace cpusim::model
