// harness/report.cpp: JSON, Markdown and the chart.
#include "harness/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "common/io.h"
#include "harness/curves.h"
#include "isa/asm.h"

namespace cpusim::harness {

using json = nlohmann::json;

namespace {

json three(const Tally& t) {
  return {{"byte_accuracy", t.byte_accuracy()},
          {"state_accuracy", t.state_accuracy()},
          {"changed_byte_accuracy", t.changed_byte_accuracy()}};
}

json pair_json(const Pair& p) {
  json j = three(p.model);
  j["states"] = p.model.states;
  j["bytes"] = p.model.bytes;
  j["changed_bytes"] = p.model.changed_bytes;
  j["baseline"] = three(p.baseline);
  return j;
}

json or_null(double x) { return std::isnan(x) ? json() : json(x); }

std::string row(const std::string& name, const Pair& p) {
  return "| " + name + " | " + std::to_string(p.model.states) + " | " +
         percent(p.model.byte_accuracy()) + " | " + percent(p.baseline.byte_accuracy()) + " | " +
         percent(p.model.state_accuracy()) + " | " + percent(p.baseline.state_accuracy()) + " | " +
         percent(p.model.changed_byte_accuracy()) + " | " +
         percent(p.baseline.changed_byte_accuracy()) + " |\n";
}

const char* kHeader =
    "| | states | byte acc. | baseline | exact states | baseline | changed-byte acc. | baseline |\n"
    "|---|---|---|---|---|---|---|---|\n";

}  // namespace

std::string percent(double v) {
  if (std::isnan(v)) return "-";  // nothing scored
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100 * v);
  return b;
}

json report_json(const Scorer& s, const json& meta) {
  const Pair& t = s.total();
  json j = meta;
  j["traces"] = s.traces();
  j["exact_traces"] = s.exact_traces();
  j["states"] = t.model.states;
  j["byte_accuracy"] = t.model.byte_accuracy();
  j["state_accuracy"] = t.model.state_accuracy();
  j["changed_byte_accuracy"] = t.model.changed_byte_accuracy();
  j["matched_bytes"] = t.model.matched_bytes;
  j["state_bytes"] = t.model.bytes;
  j["baseline"] = three(t.baseline);
  j["mode"] = mode_name(s.mode());
  json ops = json::object(), forms = json::object(), lens = json::object(), fields = json::object();
  for (const auto& [k, p] : s.per_opcode()) ops[k] = pair_json(p);
  for (const auto& [k, p] : s.per_form()) forms[k] = pair_json(p);
  for (const auto& [k, p] : s.per_length()) lens[k] = pair_json(p);
  for (const auto& [k, p] : s.per_field()) fields[k] = pair_json(p);
  j["per_opcode"] = ops;
  j["per_form"] = forms;
  j["per_length"] = lens;
  j["per_field"] = fields;
  if (s.has_data_memory()) {
    j["data_memory"] = pair_json(s.data_memory());
    json mem = json::object();
    for (const auto& [k, p] : s.per_opcode_memory()) mem[k] = pair_json(p);
    j["per_opcode_memory"] = mem;
  }
  json steps = json::object();
  for (const auto& [k, p] : s.per_step()) steps[std::to_string(k)] = pair_json(p);
  j["per_step"] = steps;
  if (s.mode() == Mode::rollout) j["first_divergence"] = s.divergence();
  json worst = json::array();
  for (const auto& w : s.worst())
    worst.push_back({{"trace", w.trace},
                     {"byte_accuracy", w.byte_accuracy},
                     {"first_divergence", w.first_divergence}});
  j["worst"] = worst;
  return j;
}

std::string report_markdown(const Scorer& s, const json& meta, const std::string& chart,
                            const std::string& step_chart) {
  const isa::Config& c = s.config();
  const Pair& t = s.total();
  std::string md = "# cpusim evaluation (" + std::string(mode_name(s.mode())) + ")\n\n";
  for (const auto& [k, v] : meta.items())
    md += "- " + k + ": " + (v.is_string() ? v.get<std::string>() : v.dump()) + "\n";
  md += "\n" +
        std::string(s.mode() == Mode::teacher
                        ? "Teacher mode: each state predicted from the true history before it."
                        : "Rollout: whole traces predicted from the program and initial state, the "
                          "model's own "
                          "states fed back.") +
        " Baseline: the do-nothing predictor (advance the PC, fetch the next instruction, copy "
        "everything else)" +
        (s.mode() == Mode::rollout ? ", chained on its own states." : ".") + "\n\n";
  md += "## Headline\n\n" + std::string(kHeader) + row("all states", t);
  if (s.has_data_memory()) md += row("data memory (its bytes alone)", s.data_memory());
  md += "\n" + std::to_string(s.traces()) + " traces, " + std::to_string(s.exact_traces()) +
        " predicted without a single wrong byte.\n\n";
  // Per opcode, worst first (by exact states, then changed bytes).
  std::vector<std::pair<std::string, Pair>> ops(s.per_opcode().begin(), s.per_opcode().end());
  std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) {
    if (a.second.model.state_accuracy() != b.second.model.state_accuracy())
      return a.second.model.state_accuracy() < b.second.model.state_accuracy();
    return a.second.model.changed_byte_accuracy() < b.second.model.changed_byte_accuracy();
  });
  md += "## Per opcode (worst first; the opcode executed just before the state)\n\n" +
        std::string(kHeader);
  for (const auto& [k, p] : ops) md += row(k, p);
  if (!chart.empty()) md += "\n![per-opcode accuracy](" + chart + ")\n";
  md += "\n## Per operand form\n\n" + std::string(kHeader);
  for (const auto& [k, p] : s.per_form()) md += row(k, p);
  md += "\n## Per field (a field is right when all its bytes are)\n\n" + std::string(kHeader);
  for (const auto& [k, p] : s.per_field()) md += row(k, p);
  if (s.has_data_memory()) {
    md +=
        "\n## Data memory per opcode (the memory's bytes alone)\n\nExact: the whole data memory "
        "right; changed bytes: the bytes the instruction wrote (a store's).\n\n" +
        std::string(kHeader);
    for (const auto& [k, p] : s.per_opcode_memory()) md += row(k, p);
  }
  md += "\n## Per program length (instructions executed)\n\n" + std::string(kHeader);
  std::vector<std::pair<std::string, Pair>> lens(s.per_length().begin(), s.per_length().end());
  std::sort(lens.begin(), lens.end(),
            [](const auto& a, const auto& b) { return std::stoul(a.first) < std::stoul(b.first); });
  for (const auto& [k, p] : lens) md += row(k, p);
  md += "\n## Per step index (the k-th state after the first: how errors grow along a trace)\n\n" +
        std::string(kHeader);
  for (const auto& [k, p] : s.per_step()) md += row(std::to_string(k), p);
  if (!step_chart.empty()) md += "\n![accuracy by step index](" + step_chart + ")\n";
  if (s.mode() == Mode::rollout) {
    md +=
        "\n## First divergence (state index where the rollout first differs)\n\n| first wrong "
        "state | traces |\n|---|---|\n";
    std::vector<std::pair<std::string, uint64_t>> d(s.divergence().begin(), s.divergence().end());
    std::sort(d.begin(), d.end(), [](const auto& a, const auto& b) {
      if (a.first == "none" || b.first == "none") return b.first == "none" && a.first != "none";
      return std::stoul(a.first) < std::stoul(b.first);
    });
    for (const auto& [k, n] : d) md += "| " + k + " | " + std::to_string(n) + " |\n";
  }
  md += "\n## Worst cases\n";
  const size_t ib = isa::image_bytes(c), sb = isa::state_bytes(c);
  for (const auto& w : s.worst()) {
    md += "\n### trace " + std::to_string(w.trace) + ": " + percent(w.byte_accuracy) +
          " of bytes right";
    if (w.first_divergence >= 0) md += ", first wrong state " + std::to_string(w.first_divergence);
    md += "\n\n```\n";
    md += isa::numbered_listing(c.profile, std::span(w.image).subspan(0, ib), "", 40);
    if (w.first_divergence >= 1) {
      const size_t k = size_t(w.first_divergence);
      const uint8_t* truth = w.truth.data() + k * sb;
      const auto [pred, avail] = isa::predicted_state(w.predicted, k, sb);
      md += "state " + std::to_string(k - 1) +
            " (true):  " + isa::format_state(c, w.truth.data() + (k - 1) * sb) + "\n";
      md += "state " + std::to_string(k) + " expected:  " + isa::format_state(c, truth) + "\n";
      if (avail == sb)
        md += "state " + std::to_string(k) + " predicted: " + isa::format_state(c, pred) + "\n";
      md += "  differences:\n" + isa::render_differences(c, truth, pred, avail);
    }
    md += "```\n";
  }
  return md;
}

// Chart: bytes and exact states by step index (the k-th state after the first), model against
// the baseline: how errors grow along a trace (in rollouts, the model's own states fed back).
static bool write_step_chart(const Scorer& s, const std::string& dir) {
  if (s.per_step().empty()) return false;
  std::string dat = "# step byte_model byte_baseline exact_model exact_baseline states\n";
  for (const auto& [k, p] : s.per_step()) {
    char line[160];
    std::snprintf(line, sizeof line, "%llu %.4f %.4f %.4f %.4f %llu\n", (unsigned long long)k,
                  100 * p.model.byte_accuracy(), 100 * p.baseline.byte_accuracy(),
                  100 * p.model.state_accuracy(), 100 * p.baseline.state_accuracy(),
                  (unsigned long long)p.model.states);
    dat += line;
  }
  write_file_atomic(dir + "/by-step.dat", dat);
  const std::string png = dir + "/by-step.png";
  const std::string gp = "set terminal pngcairo size 1000,500 noenhanced font ',10'\nset output '" +
                         temp_sibling(png).string() + "'\nset title 'Accuracy by step index (" +
                         std::string(mode_name(s.mode())) +
                         ")'\nset xlabel 'state index (k-th state after the first)'\n"
                         "set ylabel '%'\nset yrange [0:105]\nset key outside right top\n"
                         "set grid\nplot '" +
                         dir +
                         "/by-step.dat' using 1:2 with linespoints pt 7 ps 0.4 title 'bytes "
                         "(model)', '' using 1:3 with lines dt 2 title 'bytes (baseline)', '' "
                         "using 1:4 with linespoints pt 7 ps 0.4 title 'exact states (model)', '' "
                         "using 1:5 with lines dt 2 title 'exact states (baseline)'\n";
  return run_gnuplot(gp, dir + "/by-step.gp", png);
}

std::string write_report(const Scorer& s, const json& meta, const std::string& dir,
                         const std::string& train_log) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create report folder: " + ec.message());
  write_file_atomic(dir + "/report.json", report_json(s, meta).dump(2) + "\n");
  write_file_atomic(dir + "/report.html", report_html(s, meta, train_log));
  // Chart: exact states and changed-byte accuracy per opcode, model vs baseline.
  std::string dat = "# opcode exact_model exact_baseline changed_model changed_baseline\n";
  for (const auto& [k, p] : s.per_opcode()) {
    std::string name = k;
    std::replace(name.begin(), name.end(), ' ', '_');
    char line[160];
    std::snprintf(line, sizeof line, "\"%s\" %.4f %.4f %.4f %.4f\n", name.c_str(),
                  100 * p.model.state_accuracy(), 100 * p.baseline.state_accuracy(),
                  100 * p.model.changed_byte_accuracy(), 100 * p.baseline.changed_byte_accuracy());
    dat += line;
  }
  write_file_atomic(dir + "/per-opcode.dat", dat);
  const std::string png = dir + "/per-opcode.png";
  const std::string gp =
      "set terminal pngcairo size 1200,600 noenhanced font ',10'\n"
      "set output '" +
      temp_sibling(png).string() +
      "'\n"
      "set title 'Per-opcode accuracy (" +
      std::string(mode_name(s.mode())) +
      ")'\n"
      "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8 "
      "border -1\n"
      "set boxwidth 0.9\nset yrange [0:105]\nset ylabel '%'\nset xtics rotate by -45\nset key "
      "outside right top\n"
      "set grid ytics\n"
      "plot '" +
      dir +
      "/per-opcode.dat' using 2:xtic(1) title 'exact states (model)', "
      "'' using 3 title 'exact states (baseline)', '' using 4 title 'changed bytes (model)', "
      "'' using 5 title 'changed bytes (baseline)'\n";
  const bool drawn = run_gnuplot(gp, dir + "/per-opcode.gp", png);
  const bool steps_drawn = write_step_chart(s, dir);
  write_file_atomic(dir + "/report.md", report_markdown(s, meta, drawn ? "per-opcode.png" : "",
                                                        steps_drawn ? "by-step.png" : ""));
  return drawn ? png : "";
}

nlohmann::json headline_json(const EvalResult& r) {
  nlohmann::json head = report_json(r.scorer, r.meta);
  head.erase("per_form");
  head.erase("per_length");
  head.erase("per_field");
  head.erase("per_opcode_memory");
  return head;
}

std::string headline_text(const EvalResult& r, const std::string& report_dir) {
  const auto& t = r.scorer.total();
  std::ostringstream os;
  os << std::fixed << std::setprecision(2) << "eval " << mode_name(r.scorer.mode()) << ": "
     << r.scorer.traces() << " traces, " << t.model.states << " states\n"
     << "  byte accuracy        " << 100 * t.model.byte_accuracy() << "%  (do-nothing baseline "
     << 100 * t.baseline.byte_accuracy() << "%)\n"
     << "  exact states         " << 100 * t.model.state_accuracy() << "%  (baseline "
     << 100 * t.baseline.state_accuracy() << "%)\n"
     << "  changed-byte acc.    " << 100 * t.model.changed_byte_accuracy() << "%  (baseline "
     << 100 * t.baseline.changed_byte_accuracy() << "%)\n"
     << "  report: " << report_dir << "/report.md"
     << (r.chart.empty() ? " (no chart: gnuplot missing)" : "") << "\n";
  return os.str();
}

json tally_json(const Tally& t) {
  return {{"states", t.states},
          {"state_bytes", t.bytes},
          {"matched_bytes", t.matched_bytes},
          {"byte_accuracy", t.byte_accuracy()},
          {"exact_states", t.exact_states},
          {"state_accuracy", t.state_accuracy()},
          {"missing_bytes", t.missing_bytes}};
}

json verify_json(const VerifyTotals& t) {
  json j = tally_json(t.tally);
  j["traces"] = t.traces;
  j["exact_traces"] = t.exact_traces;
  return j;
}

std::string verify_text(const VerifyTotals& total) {
  const Tally& t = total.tally;
  std::ostringstream os;
  os << std::fixed << std::setprecision(4) << "traces        " << total.traces << " ("
     << total.exact_traces << " exact)\n"
     << "byte accuracy " << 100 * t.byte_accuracy() << "% (" << t.matched_bytes << "/" << t.bytes
     << " state bytes; " << t.missing_bytes << " missing)\n"
     << "exact states  " << 100 * t.state_accuracy() << "% (" << t.exact_states << "/" << t.states
     << ")\n";
  return os.str();
}

json verify_file_json(const std::string& path, const VerifyResult& r) {
  VerifyTotals one;
  one.add(r);
  json j = verify_json(one);
  j["path"] = path;
  j["first_mismatch_state"] = r.trace.first_mismatch;
  return j;
}

std::string verify_file_text(const std::string& path, const VerifyResult& r) {
  const Tally& t = r.trace.tally;
  std::string s = path + ": " + std::to_string(t.matched_bytes) + "/" + std::to_string(t.bytes) +
                  " bytes, " + std::to_string(t.exact_states) + "/" + std::to_string(t.states) +
                  " states";
  if (r.trace.first_mismatch >= 0)
    s += ", first mismatch at state " + std::to_string(r.trace.first_mismatch);
  return s + "\n";
}

std::string render_prediction(const isa::Config& c, const Prediction& r, bool color) {
  const size_t sb = isa::state_bytes(c);
  const int steps = int(r.truth.size() / sb) - 1;
  std::string out = "step      " + isa::state_heading(c) + "\n0         " +
                    isa::format_state(c, r.truth.data()) + "\n";
  int exact = 0;
  for (int k = 1; k <= steps; ++k) {
    const uint8_t* truth = r.truth.data() + k * sb;
    char step[16];
    std::snprintf(step, sizeof step, "%-4d", k);
    out += step + ("true  " + isa::format_state(c, truth)) + "\n";
    const isa::PredictedState p = isa::predicted_state(r.predicted, size_t(k), sb);
    if (p.avail < sb) {
      out += "    model (stopped)\n";
      continue;
    }
    const std::string diffs = isa::render_differences(c, truth, p.bytes, sb, "predicted", "      ");
    exact += diffs.empty();
    out += "    model " + isa::format_state(c, p.bytes) + (diffs.empty() ? "\n" : "  <<\n");
    out += color && !diffs.empty() ? "\033[31m" + diffs + "\033[0m" : diffs;
  }
  return out + std::to_string(exact) + "/" + std::to_string(steps) + " states predicted exactly\n";
}

nlohmann::json prediction_json(const isa::Config& c, const Prediction& r) {
  const size_t sb = isa::state_bytes(c);
  const size_t steps = r.truth.size() / sb - 1;
  isa::Tally total;
  nlohmann::json states = nlohmann::json::array(), first_wrong = nullptr;
  for (size_t k = 1; k <= steps; ++k) {
    const uint8_t* truth = r.truth.data() + k * sb;
    const auto [pred, avail] = isa::predicted_state(r.predicted, k, sb);
    const isa::Tally t = isa::score_state(truth, truth - sb, pred, avail, sb);
    total += t;
    nlohmann::json wrong = nlohmann::json::array();
    for (const isa::Field& f : isa::state_fields(c))
      if (isa::score_field(f, truth, truth - sb, pred, avail).exact_states == 0)
        wrong.push_back(f.name);
    if (t.exact_states == 0 && first_wrong.is_null()) first_wrong = k;
    states.push_back({{"step", k},
                      {"true", hex(truth, sb)},
                      {"predicted", avail == sb ? nlohmann::json(hex(pred, sb)) : nlohmann::json()},
                      {"exact", t.exact_states == 1},
                      {"wrong_fields", wrong}});
  }
  return {{"isa", std::string(isa::profile_name(c.profile))},
          {"memory_size", c.memory_size},
          {"initial", hex(r.truth.data(), sb)},
          {"states", steps},
          {"exact_states", total.exact_states},
          {"byte_accuracy", or_null(total.byte_accuracy())},
          {"changed_byte_accuracy", or_null(total.changed_byte_accuracy())},
          {"first_wrong_state", first_wrong},
          {"steps", states}};
}

}  // namespace cpusim::harness
