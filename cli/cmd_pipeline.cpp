// cli/cmd_pipeline.cpp: `cpusim pipeline`: datagen -> train -> eval (teacher, rollout) ->
// reports, each stage reading and writing files in DIR (model/pipeline.h), with each stage's
// usual output.
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/print.h"
#include "model/pipeline.h"

namespace cpusim::cli {

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
  const model::PipelinePlan plan = model::pipeline_plan(preset, dir, seed, minutes, device);
  model::PipelineOutput out;
  out.stage = [](const std::string& name, double s) {
    std::cerr << "== pipeline: " << name << " (" << long(s) << " s elapsed)\n";
  };
  out.datagen_start = print_datagen_start;
  out.datagen_done = [&](const datagen::DatagenConfig& c, const datagen::SetSummary& s) {
    print_datagen_summary(c, s, "h5", plan.train.data, false);
  };
  out.train_done = [](const model::TrainSummary& s) { std::cerr << model::summary_line(s); };
  out.eval_done = [](const harness::EvalResult& r, const std::string& report) {
    std::cout << harness::headline_text(r, report);
  };
  if (int rc = model::run_pipeline(plan, stages, out)) return rc;
  std::cerr << "pipeline: reports in " << dir << "/report-teacher/report.md and " << dir << "/report-rollout/report.md\n";
  return 0;
}

}  // namespace cpusim::cli
