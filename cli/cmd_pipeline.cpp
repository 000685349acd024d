// cli/cmd_pipeline.cpp: `cpusim pipeline`: datagen -> train -> eval (teacher, rollout) ->
// reports, each stage reading and writing files in DIR (model/pipeline.h), with each stage's
// usual output (or one JSON object with each stage's summary).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/print.h"
#include "common/io.h"
#include "harness/report.h"
#include "model/pipeline.h"

namespace cpusim::cli {

int cmd_pipeline(const Args& args) {
  std::string preset = "quickstart", dir, stages = "datagen,train,eval", device = "auto",
              isa = "bgpt";
  double minutes = 0, old_minutes = 0;
  uint64_t seed = 1;
  int procs = 0;
  int64_t steps = 0, stop_after = 0;
  bool json = false, quiet = false, resume = false;
  po::options_description d("pipeline options");
  d.add_options()(
      "preset", po::value(&preset)->default_value("quickstart"),
      "quickstart (CPU: 20 min of training, ~25 min in all), paper-task (the paper's 1 KB CPU and "
      "programs of 1..255 instructions: hours, in pieces) or smoke (seconds)")(
      "output,o", po::value(&dir)->required(), "pipeline folder")(
      "isa", po::value(&isa)->default_value("bgpt"),
      "bgpt (the paper's CPU, 64-byte memory) or toy (cpusim's memory-writing machine, 32-byte "
      "data memory)")("stages", po::value(&stages)->default_value("datagen,train,eval"),
                      "which stages to run: a comma-separated list of datagen, train, eval")(
      "max-minutes", po::value(&minutes)->default_value(0),
      "training time budget (default: the preset's; paper-task: this piece's)")(
      "minutes", po::value(&old_minutes), "the same as --max-minutes (older spelling)")(
      "seed", po::value(&seed)->default_value(1), "seed for data and training")(
      "steps", po::value(&steps)->default_value(0), "training steps (0: the preset's)")(
      "stop-after", po::value(&stop_after)->default_value(0),
      "end this piece of training after N steps (continue with --resume)")(
      "resume", po::bool_switch(&resume),
      "continue the run in DIR: keep its set, resume training from its checkpoint, then evaluate")(
      "device", po::value(&device)->default_value("auto"),
      "auto (CUDA where this libtorch sees a device, else the CPU), cpu or cuda")(
      "procs", po::value(&procs)->default_value(0),
      "processes on this machine for training and evaluation (train and eval --procs; 0: the "
      "preset's: quickstart 2 on a CPU with 2 or more cores, else 1)")(
      "json", po::bool_switch(&json), "print one JSON object with each stage's summary on stdout")(
      "quiet,q", po::bool_switch(&quiet), "no progress display");
  po::variables_map vm;
  if (!parse("pipeline", "--preset quickstart -o DIR [--stages datagen,train,eval]", d, {}, args,
             vm))
    return 0;
  if (vm.count("minutes")) minutes = old_minutes;
  model::check_stages(stages);
  model::PipelinePlan plan = model::pipeline_plan(preset, dir, seed, minutes, device, isa);
  if (procs < 0)
    throw Error("--procs " + std::to_string(procs) + ": expected 0 (the preset's) or more");
  if (procs > 0) plan.train.procs = procs;
  if (steps < 0) throw Error("--steps " + std::to_string(steps) + ": expected 0 or more");
  if (steps > 0) plan.train.steps = steps;
  if (stop_after < 0)
    throw Error("--stop-after " + std::to_string(stop_after) + ": expected 0 or more");
  plan.train.stop_after = stop_after;
  plan.resume = resume;
  if (quiet || json) plan.gen.progress = false, plan.train.quiet = true, plan.eval.progress = false;
  nlohmann::json result = {{"dir", dir}, {"preset", preset}, {"isa", isa}, {"stages", stages}};
  model::PipelineOutput out;
  out.stage = [&](const std::string& name, double s) {
    if (!quiet && !json) std::cerr << "== pipeline: " << name << " (" << long(s) << " s elapsed)\n";
  };
  if (!quiet && !json) out.datagen_start = print_datagen_start;
  out.datagen_done = [&](const datagen::DatagenConfig& c, const datagen::SetSummary& s) {
    if (json)
      result["datagen"] = datagen_summary_json(c, s, "h5", plan.train.data);
    else
      print_datagen_summary(c, s, "h5", plan.train.data, false);
  };
  out.train_done = [&](const model::TrainSummary& s) {
    if (json)
      result["train"] = nlohmann::json::parse(model::summary_json(s, plan.train.out_dir));
    else
      std::cout << model::summary_line(s);
  };
  out.eval_done = [&](const harness::EvalResult& r, const std::string& report) {
    if (json)
      result["eval"][harness::mode_name(r.scorer.mode())] = harness::headline_json(r);
    else
      std::cout << harness::headline_text(r, report);
  };
  const int rc = model::run_pipeline(plan, stages, out);
  if (json) std::cout << result.dump(2) << "\n";
  if (rc) return rc;
  if (!quiet && !json)
    std::cerr << "pipeline: reports in " << dir << "/report-teacher/report.md and " << dir
              << "/report-rollout/report.md\n";
  return 0;
}

}  // namespace cpusim::cli
