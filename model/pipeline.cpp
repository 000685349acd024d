// model/pipeline.cpp: the pipeline's recipes and stages (model/pipeline.h).
#include "model/pipeline.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/io.h"
#include "harness/curves.h"
#include "model/device.h"

namespace cpusim::model {

namespace fs = std::filesystem;

PipelinePlan pipeline_plan(const std::string& preset, const std::string& dir, uint64_t seed,
                           double minutes, const std::string& device_name,
                           const std::string& isa_name) {
  // The recipe is `cpusim train --preset quickstart` (quickstart-toy on toy; model/presets.cpp);
  // here the data it is measured on and the stages around it. bgpt: the paper's CPU at a size
  // two CPU cores can learn, a 64-byte memory and programs of 1..16 instructions.
  PipelinePlan p;
  p.dir = dir;
  // "auto" (the default): CUDA where this libtorch sees a device, else the CPU.
  const std::string device = resolve_device_name(device_name);
  p.device = device;
  const bool toy = isa_name == "toy";
  if (!toy && isa_name != "bgpt") throw Error("--isa " + isa_name + ": expected bgpt or toy");
  if (preset != "quickstart" && preset != "smoke" && preset != "paper-task")
    throw Error("unknown pipeline preset '" + preset +
                "' (expected quickstart, paper-task or smoke)");
  const bool paper = preset == "paper-task";
  if (paper && toy) throw Error("--preset paper-task is the paper's CPU: --isa bgpt");
  p.gen.gen.isa = isa::default_config(toy ? isa::Profile::toy : isa::Profile::bgpt);
  if (toy) {
    // The toy machine at the quickstart's size: programs of 1..16 instructions in a 64-byte
    // image, 32 bytes of data memory (48-byte states), at most 32 steps (loops stop there).
    p.gen.gen.isa.program_size = 64;
    p.gen.gen.isa.step_limit = 32;
    p.gen.gen.max_len = 16;
  } else if (!paper) {
    p.gen.gen.isa.memory_size = 64;
  }  // (paper-task: the paper's distribution, datagen's default: 1 KB, 1..255 instructions)
  p.gen.seed = seed;
  p.gen.jobs = std::max(1u, std::thread::hardware_concurrency());
  p.train = layer_config(preset + (toy ? "-toy" : ""), [&](TrainConfig& t) {
    t.data = dir + "/data.h5";
    t.out_dir = dir + "/run";
    t.seed = seed;
    t.device = device;
    t.overwrite = true;  // a re-run of the train stage replaces the stage's run
    if (minutes > 0) t.max_minutes = minutes;
  });
  p.eval.data = dir + "/data.h5";
  if (preset == "quickstart" || paper) {
    // paper-task: 200,000 training programs (the full 6,000 steps of 8 see 48,000), 1,000 to
    // score, as the paper's evaluation of 1 KB traces.
    p.gen.train = paper ? 200000 : 60000, p.gen.test = 1000;
    p.eval.limit = toy ? 300 : 1000;  // (toy: rollouts of up to 32 steps)
    // Two processes of one core each beat one of two cores (results/distributed.md).
    p.train.procs = device == "cpu" && std::thread::hardware_concurrency() >= 2 ? 2 : 1;
  } else {
    p.gen.train = 300, p.gen.test = 30, p.gen.gen.max_len = 6;
    p.train.quiet = true;
    p.eval.limit = 30, p.eval.progress = false;
  }
  return p;
}

namespace {

void copy_model(const std::string& from, const std::string& to) {
  std::error_code ec;
  const fs::path tmp = temp_sibling(to);
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(to + ": cannot write: " + ec.message());
  }
  durable_rename(tmp, to);
}

}  // namespace

void check_stages(const std::string& stages) {
  if (stages.empty())
    throw Error("--stages is empty (expected a comma-separated list of datagen, train, eval)");
  size_t start = 0;
  while (true) {
    const size_t comma = stages.find(',', start);
    const std::string s =
        stages.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (s != "datagen" && s != "train" && s != "eval")
      throw Error("--stages " + stages + ": unknown stage '" + s +
                  "' (expected datagen, train, eval)");
    if (comma == std::string::npos) return;
    start = comma + 1;
  }
}

int run_pipeline(const PipelinePlan& p, const std::string& stages, const PipelineOutput& out) {
  check_stages(stages);
  auto want = [&](const std::string& s) {
    return ("," + stages + ",").find("," + s + ",") != std::string::npos;
  };
  std::error_code ec;
  require_writable(fs::path(p.dir) / "model.pt");  // a read-only output: refused before any work
  const FolderLock lock(p.dir, "pipeline folder");
  const auto t0 = std::chrono::steady_clock::now();
  auto stage = [&](const std::string& name) {
    if (out.stage)
      out.stage(name, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  };
  if (want("datagen") && p.resume && fs::exists(p.train.data)) {
    stage("datagen (kept: --resume)");
  } else if (want("datagen")) {
    stage("datagen");
    if (fs::exists(p.train.data)) fs::remove(p.train.data);
    datagen::validate(p.gen.gen);
    if (out.datagen_start) out.datagen_start(p.gen);
    const auto summary = datagen::make_set(p.gen, "h5", p.train.data);
    if (out.datagen_done) out.datagen_done(p.gen, summary);
  }
  if (want("train")) {
    stage("train");
    TrainConfig t = p.train;
    if (p.resume && fs::exists(fs::path(t.out_dir) / "checkpoint.pt"))
      t.resume = true, t.overwrite = false;  // the next piece of the same run
    const TrainSummary s = train(t);
    if (out.train_done) out.train_done(s);
    if (s.stopped_on_nan) return 1;
    copy_model(p.train.out_dir + "/model.pt", p.dir + "/model.pt");
    harness::plot_curves({{"run", p.train.out_dir}}, p.dir + "/curves.png",
                         "cpusim pipeline: training curves");
  }
  if (want("eval")) {
    for (const harness::Mode mode : {harness::Mode::teacher, harness::Mode::rollout}) {
      const std::string name = harness::mode_name(mode);
      stage("eval " + name);
      harness::EvalConfig e = p.eval;
      e.mode = mode;
      e.report_dir = p.dir + "/report-" + name;
      e.train_log = p.train.out_dir + "/log.jsonl";  // the learning curves in report.html
      if (mode == harness::Mode::rollout) {
        e.predictions = p.dir + "/predictions-rollout";
        fs::remove_all(e.predictions, ec);
      }
      EvalRun run;
      run.device = p.device;
      run.procs =
          p.device == "cpu" ? p.train.procs : 1;  // the training's processes share the predictions
      const harness::EvalResult r = evaluate_model(p.dir + "/model.pt", e, run);
      if (out.eval_done) out.eval_done(r, e.report_dir);
    }
  }
  stage("done");
  return 0;
}

}  // namespace cpusim::model
