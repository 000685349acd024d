// model/run_files.h: what a run folder holds and how it is written: the held-out line, the log
// (log.jsonl and the progress line), the checks made on the folder before any work. The
// trainer's (model/train.cpp) files, apart from the checkpoints (model/checkpoint.h). Includes
// torch through loss.h; internal to model/.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

#include "common/io.h"
#include "model/config.h"
#include "model/loss.h"

namespace cpusim::model {

// "train: at step S: held-out loss L, teacher-forced byte accuracy A%" on stderr.
void print_heldout(int64_t step, const EvalResult& e);

// One log row (log.jsonl), and the progress line on stderr (every half second on a terminal,
// every 10 s otherwise, and at each evaluation).
class RunLog {
 public:
  // A resumed run (append) first drops the rows after its checkpoint's step `first`: the steps
  // it is about to run again.
  // A log that is not `enabled` (the ranks after the first of a data-parallel run) writes nothing.
  RunLog(const std::string& path, bool append, int64_t first, bool quiet, bool enabled = true)
      : quiet_(quiet || !enabled), enabled_(enabled) {
    if (!enabled) return;
    if (append) keep_through(path, first);
    out_.open(path, append ? std::ios::app : std::ios::trunc);
    if (!out_) throw Error(path + ": cannot write");
  }
  void row(int64_t step, int64_t total, int64_t first, double loss, double lr, double secs,
           int64_t bytes, const EvalResult* ev, double budget_s);

 private:
  static void keep_through(const std::string& path, int64_t first);

  bool quiet_, enabled_;
  std::ofstream out_;
  double last_print_ = -1;
};

// Checks made before any work: the options, the run folder (a run in it is refused without
// --resume or --overwrite; the `leader` removes a replaced run's files and a killed run's
// temporaries), the profile's path.
void check_run(const TrainConfig& t, bool leader);

}  // namespace cpusim::model
