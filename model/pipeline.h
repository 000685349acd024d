// model/pipeline.h: `cpusim pipeline` as a library: a preset's recipe (the datagen, training and
// evaluation configurations) and the stages that run it, each reading and writing files in one
// folder so any stage can be re-run alone. Torch-free; printing goes through the callbacks.
#pragma once

#include <functional>
#include <string>

#include "datagen/generate.h"
#include "harness/evaluate.h"
#include "model/api.h"
#include "model/config.h"

namespace cpusim::model {

struct PipelinePlan {
  std::string
      dir;  // DIR: data.h5, run/, model.pt, report-teacher/, report-rollout/, predictions-rollout/
  datagen::DatagenConfig gen;
  TrainConfig train;
  harness::EvalConfig eval;  // shared by both modes; each stage sets mode, report and predictions
  std::string device = "cpu";
  // Continue what is in dir: the set kept (no new datagen), training resumed from run/'s
  // checkpoint (the same losses as one uninterrupted run when the preset's schedule follows the
  // steps, as paper-task's does), then the evaluations of the model it ends with.
  bool resume = false;
};

// "quickstart" (CPU: 20 minutes of training, or `minutes`) or "smoke" (seconds), for the paper's
// CPU ("bgpt") or cpusim's "toy" machine (its memory-writing ISA: a state is 3 patches); or
// "paper-task" (bgpt only: the paper's 1 KB memory and programs of 1..255 instructions, a run of
// hours made in pieces of `minutes`); throws cpusim::Error for another name. `device`: "auto"
// (CUDA where this libtorch sees a device, else the CPU), "cpu" or "cuda".
PipelinePlan pipeline_plan(const std::string& preset, const std::string& dir, uint64_t seed,
                           double minutes, const std::string& device,
                           const std::string& isa = "bgpt");

// What the stages report as they go (any may be empty).
struct PipelineOutput {
  std::function<void(const std::string& stage, double seconds)> stage;
  std::function<void(const datagen::DatagenConfig&)> datagen_start;
  std::function<void(const datagen::DatagenConfig&, const datagen::SetSummary&)> datagen_done;
  std::function<void(const TrainSummary&)> train_done;
  std::function<void(const harness::EvalResult&, const std::string& report_dir)> eval_done;
};

// Throws cpusim::Error unless `stages` is a comma-separated list of datagen, train and eval.
void check_stages(const std::string& stages);

// Runs the stages named in `stages` ("datagen,train,eval" or a part); returns the exit code
// (non-zero when training stopped on a non-finite loss).
int run_pipeline(const PipelinePlan& plan, const std::string& stages, const PipelineOutput& out);

}  // namespace cpusim::model
