// harness/evaluate.h: `cpusim eval` as a library: a Predictor (a trained model, or anything
// else that predicts states) scored on a trace set against the emulator's states, teacher-forced
// or in rollouts, with the do-nothing baseline beside every figure; optionally the predicted
// traces written for `cpusim verify`; the report written. Printing is the caller's.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/metrics.h"
#include "harness/predictor.h"

namespace cpusim::harness {

// Processes that evaluate one set together (model/dist.h implements it on c10d): each predicts
// its share, rank 0 scores all and writes the report a single process would write.
struct Collective {
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  // Every rank's bytes at rank 0, in rank order (the other ranks get an empty vector).
  virtual std::vector<std::vector<uint8_t>> gather(const std::vector<uint8_t>& mine) = 0;
};

struct EvalConfig {
  std::string data;            // HDF5 trace set
  std::string split = "test";  // train or test
  Mode mode = Mode::teacher;
  uint64_t limit = 0;                // the first N traces (0: all)
  int batch = 64;                    // traces per predictor call
  int worst = 5;                     // worst cases kept for the report
  std::string predictions;           // folder for the predicted traces (.bin); "" for none
  bool paper_layout = false;         // bgpt: predictions written with the paper's 1024-byte image
  std::string report_dir;            // report.json, report.md, report.html, per-opcode chart
  std::string train_log;             // a run's log.jsonl: learning curves in report.html ("": none)
  bool progress = true;              // progress display on stderr
  Collective* collective = nullptr;  // a group of processes sharing the work (null: this one alone)
};

struct EvalResult {
  Scorer scorer;
  nlohmann::json meta;                  // what was evaluated, as the report states it
  std::string chart;                    // per-opcode PNG, "" when gnuplot is missing
  uint64_t traces_run_differently = 0;  // paper layout: traces the 1024-byte machine runs otherwise
};

// Throws cpusim::Error for a set of another machine than the predictor's, an empty split, an
// existing predictions folder, or --paper-layout without predictions or on a toy set.
EvalResult evaluate(Predictor& p, const EvalConfig& c);
// (Rendered by harness/report.h: headline_json, headline_text, report_json, ...)

}  // namespace cpusim::harness
