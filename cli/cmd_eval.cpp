// cli/cmd_eval.cpp: `cpusim eval`: a checkpoint scored against the emulator, teacher-forced or
// in rollouts (harness/evaluate.h).
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "harness/report.h"
#include "model/api.h"

namespace cpusim::cli {

int cmd_eval(const Args& args) {
  harness::EvalConfig c;
  std::string ckpt, mode = harness::mode_name(harness::Mode::teacher);
  model::EvalRun run;
  bool json = false, quiet = false;
  po::options_description d("eval options");
  d.add_options()("model", po::value(&ckpt)->required(), "checkpoint (RUN_DIR/model.pt)")(
      "data", po::value(&c.data)->required(), "HDF5 trace set")(
      "split", po::value(&c.split)->default_value("test"),
      "train or test (default test: a model is scored on programs it did not train on)")(
      "mode", po::value(&mode)->default_value(mode),
      "teacher (one step from the true history) or rollout")(
      "limit", po::value(&c.limit)->default_value(0), "evaluate the first N traces (0: all)")(
      "batch", po::value(&c.batch)->default_value(64), "traces per model call")(
      "decode", po::value(&run.decode)->default_value(run.decode),
      "draft (each patch checked against a draft in one pass, from the first byte the model "
      "disagrees with) or bytewise (one pass per byte, the reference): the same predictions")(
      "worst", po::value(&c.worst)->default_value(5), "worst cases rendered in the report")(
      "train-log", po::value(&c.train_log),
      "the model's training log (RUN/log.jsonl): its learning curves in report.html")(
      "write-predictions", po::value(&c.predictions),
      "folder for the predicted traces (.bin, the paper's layout)")(
      "paper-layout", po::bool_switch(&c.paper_layout),
      "bgpt: write the predictions with the paper's 1024-byte memory image (for its simulator's "
      "scoring)")("device", po::value(&run.device)->default_value("cpu"), "cpu or cuda")(
      "threads", po::value(&run.threads)->default_value(0),
      "CPU threads (0: libtorch's default, one per core for bf16; with --procs, the cores shared "
      "out)")(
      "procs", po::value(&run.procs)->default_value(1),
      "processes on this machine sharing the predictions (CPU; the report is the one process's)")(
      "precision", po::value(&run.precision)->default_value("auto"),
      "auto (bf16 on CUDA and on CPUs with bf16 instructions), bf16 or fp32")(
      "output,o", po::value(&c.report_dir)->required(), "report folder")(
      "dist-timeout", po::value(&run.timeout_s)->default_value(300),
      "with --procs or launched as several processes (WORLD_SIZE > 1): seconds to wait for the "
      "other ranks")("json", po::bool_switch(&json), "print the report's headline as JSON")(
      "quiet,q", po::bool_switch(&quiet), "no progress display");
  po::variables_map vm;
  if (!parse("eval",
             "--model CKPT --data D.h5 [--split test] --mode teacher|rollout [--limit N] -o "
             "REPORT_DIR",
             d, {}, args, vm))
    return 0;
  c.mode = harness::parse_mode(mode);
  c.progress = !quiet;
  // Launched as several processes (torchrun's variables) or with --procs: each predicts its share
  // of the traces; rank 0 scores them and writes the report one process would write.
  bool leader = true;
  const harness::EvalResult r = model::evaluate_model(ckpt, c, run, &leader);
  if (!leader) return 0;
  if (r.traces_run_differently && !quiet)
    std::cerr << "eval: note: " << r.traces_run_differently << " of " << r.scorer.traces()
              << " traces reach the " << r.scorer.config().memory_size
              << "-byte memory's PC cap; the paper's 1024-byte machine runs them to "
              << "other states, so its scores of " << c.predictions
              << " differ from these for them\n";
  std::cout << (json ? harness::headline_json(r).dump(2) + "\n"
                     : harness::headline_text(r, c.report_dir));
  return 0;
}

}  // namespace cpusim::cli
