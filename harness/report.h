// harness/report.h: formats a Scorer's counts: JSON for machines, Markdown for people, and a
// per-opcode accuracy chart (PNG, drawn by gnuplot). Reads counts only; computes nothing new.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "harness/metrics.h"

namespace cpusim::harness {

// `meta`: what was evaluated (model, data, split, mode, ...), copied into the report.
nlohmann::json report_json(const Scorer& s, const nlohmann::json& meta);
std::string report_markdown(const Scorer& s, const nlohmann::json& meta);

// Writes report.json, report.md, per-opcode.png (and its .dat/.gp inputs) into `dir`, each
// through a temporary name. Returns the chart path, or "" when gnuplot is not available.
std::string write_report(const Scorer& s, const nlohmann::json& meta, const std::string& dir);

}  // namespace cpusim::harness
