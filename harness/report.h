// harness/report.h: the one reporter: every count the harness makes (a Scorer's evaluation, a
// verify run's totals, one predicted program) rendered as JSON for machines, text and Markdown
// for people, and the per-opcode chart (PNG, drawn by gnuplot). Reads counts only; computes
// nothing new. eval, predict, verify, pipeline and the Python module all print through it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "harness/evaluate.h"
#include "harness/metrics.h"
#include "harness/predict.h"
#include "harness/verify.h"

namespace cpusim::harness {

// --- An evaluation (cpusim eval, pipeline) ---

// A fraction as every report shows it: "12.34%", or "-" for an accuracy over nothing (NaN).
std::string percent(double fraction);

// `meta`: what was evaluated (model, data, split, mode, ...), copied into the report.
nlohmann::json report_json(const Scorer& s, const nlohmann::json& meta);
// `chart`, `step_chart`: the per-opcode and by-step charts' file names beside report.md, each
// linked when not empty.
std::string report_markdown(const Scorer& s, const nlohmann::json& meta,
                            const std::string& chart = "", const std::string& step_chart = "");

// Writes report.json, report.html, per-opcode.png and by-step.png (each with its .dat/.gp
// inputs) and report.md into `dir`, each through a temporary name; report.md links a chart only
// when it was drawn. Returns the per-opcode chart's path, or "" when gnuplot is not available.
std::string write_report(const Scorer& s, const nlohmann::json& meta, const std::string& dir,
                         const std::string& train_log = "");
// report.html: one self-contained page (no network, no outside script) of the same counts: the
// headline against the baseline, per-opcode/form/field/length/step tables that sort on a click,
// accuracy by step index as a chart, the worst cases with their wrong bytes marked, and the
// learning curves of `train_log` (a run's log.jsonl; none when ""). Every figure sits in an
// element whose id names it (`headline-byte_accuracy`, `per_opcode-ADD-state_accuracy`, ...).
std::string report_html(const Scorer& s, const nlohmann::json& meta,
                        const std::string& train_log = "");

// The report's headline: its JSON without the per-form, per-length and per-field tables.
nlohmann::json headline_json(const EvalResult& r);
// The same for people: byte accuracy, exact states and changed-byte accuracy beside the baseline.
std::string headline_text(const EvalResult& r, const std::string& report_dir);

// --- Re-executed traces (cpusim verify, the Python module's verify) ---

// The paper's score of one slice: states, state_bytes, matched_bytes, byte_accuracy,
// exact_states, state_accuracy, missing_bytes.
nlohmann::json tally_json(const Tally& t);
// Totals: tally_json plus traces and exact_traces.
nlohmann::json verify_json(const VerifyTotals& t);
std::string verify_text(const VerifyTotals& t);
// One file (`verify --per-file`): verify_json of it with its path and first_mismatch_state.
nlohmann::json verify_file_json(const std::string& path, const VerifyResult& r);
std::string verify_file_text(const std::string& path, const VerifyResult& r);

// --- One program beside the emulator (cpusim predict) ---

// The listing: each true state, the predicted one under it, its wrong fields (red when
// `color`), and a count of the exact states.
std::string render_prediction(const isa::Config& c, const Prediction& r, bool color);

// The same as JSON (`cpusim predict --json`): the counts (states, exact_states, byte_accuracy,
// changed_byte_accuracy, first_wrong_state: 1-based, or null) and each step's true and predicted
// state as hex (predicted null once the model stopped) with the names of its wrong fields.
nlohmann::json prediction_json(const isa::Config& c, const Prediction& r);

}  // namespace cpusim::harness
