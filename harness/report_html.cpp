// harness/report_html.cpp: report.html, the evaluation as one self-contained page. The tables are
// written here, not by script: the page reads the same without JavaScript, and its small inline
// script only sorts a table when a header is clicked.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "harness/report.h"
#include "isa/asm.h"

namespace cpusim::harness {

using json = nlohmann::json;

namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else if (c == '"')
      o += "&quot;";
    else
      o += c;
  }
  return o;
}

// An id part: letters and digits kept, everything else '_'.
std::string idpart(const std::string& s) {
  std::string o;
  for (char c : s) o += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return o;
}

// A cell holding a figure, its id naming it, its sort key the raw value.
std::string cell(const std::string& id, double v) {
  return "<td id=\"" + id + "\" data-v=\"" + (std::isnan(v) ? "-1" : std::to_string(v)) + "\">" +
         percent(v) + "</td>";
}

const char* kHead =
    "<tr><th>name</th><th>states</th><th>byte acc.</th><th>baseline</th><th>exact states</th>"
    "<th>baseline</th><th>changed-byte acc.</th><th>baseline</th></tr>";

std::string row(const std::string& table, const std::string& name, const Pair& p) {
  const std::string id = table + "-" + idpart(name) + "-";
  return "<tr><td>" + esc(name) + "</td><td data-v=\"" + std::to_string(p.model.states) + "\">" +
         std::to_string(p.model.states) + "</td>" +
         cell(id + "byte_accuracy", p.model.byte_accuracy()) +
         cell(id + "baseline-byte_accuracy", p.baseline.byte_accuracy()) +
         cell(id + "state_accuracy", p.model.state_accuracy()) +
         cell(id + "baseline-state_accuracy", p.baseline.state_accuracy()) +
         cell(id + "changed_byte_accuracy", p.model.changed_byte_accuracy()) +
         cell(id + "baseline-changed_byte_accuracy", p.baseline.changed_byte_accuracy()) + "</tr>";
}

template <class Map>
std::string table(const std::string& id, const std::string& title, const Map& rows) {
  std::string h = "<h2>" + title + "</h2><table class=\"sortable\" id=\"" + id + "\">" + kHead;
  for (const auto& [k, p] : rows) {
    if constexpr (std::is_same_v<std::decay_t<decltype(k)>, uint64_t>)
      h += row(id, std::to_string(k), p);
    else
      h += row(id, k, p);
  }
  return h + "</table>";
}

// A line chart (inline SVG) of series of (x, y) points, y in [lo, hi].
std::string chart(
    const std::string& id, const std::string& title,
    const std::vector<std::pair<std::string, std::vector<std::pair<double, double>>>>& series,
    double lo, double hi, const std::string& xlabel) {
  const double W = 640, H = 260, L = 50, B = 30;
  double xmax = 1;
  for (const auto& [n, pts] : series)
    for (const auto& [x, y] : pts) xmax = std::max(xmax, x);
  const char* colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"};
  std::ostringstream o;
  o << "<h2>" << esc(title) << "</h2><svg id=\"" << id << "\" width=\"" << W << "\" height=\"" << H
    << "\" viewBox=\"0 0 " << W << " " << H << "\" role=\"img\">"
    << "<rect x=\"" << L << "\" y=\"5\" width=\"" << W - L - 10 << "\" height=\"" << H - B - 5
    << "\" fill=\"none\" stroke=\"#999\"/>"
    << "<text x=\"2\" y=\"15\" font-size=\"11\">" << hi << "</text><text x=\"2\" y=\"" << H - B
    << "\" font-size=\"11\">" << lo << "</text><text x=\"" << W / 2 << "\" y=\"" << H - 8
    << "\" font-size=\"11\">" << esc(xlabel) << " (0.." << xmax << ")</text>";
  size_t c = 0;
  for (const auto& [name, pts] : series) {
    o << "<polyline fill=\"none\" stroke=\"" << colours[c % 4] << "\" points=\"";
    for (const auto& [x, y] : pts) {
      const double yy = std::isnan(y) ? lo : std::clamp(y, lo, hi);
      o << L + (W - L - 10) * x / xmax << "," << 5 + (H - B - 5) * (hi - yy) / (hi - lo) << " ";
    }
    o << "\"/><text x=\"" << L + 10 << "\" y=\"" << 20 + 14 * c << "\" font-size=\"11\" fill=\""
      << colours[c % 4] << "\">" << esc(name) << "</text>";
    ++c;
  }
  return o.str() + "</svg>";
}

// The learning curves of a run's log.jsonl: training loss and held-out loss by step.
std::string curves(const std::string& train_log) {
  std::ifstream in(train_log);
  if (train_log.empty() || !in) return "";
  std::vector<std::pair<double, double>> train, held;
  double top = 0;
  std::string line;
  while (std::getline(in, line)) {
    const json e = json::parse(line, nullptr, false);
    if (e.is_discarded() || !e.contains("step")) continue;
    const double step = e["step"].get<double>();
    if (e.contains("loss")) train.push_back({step, e["loss"].get<double>()});
    if (e.contains("eval_loss")) held.push_back({step, e["eval_loss"].get<double>()});
    for (const auto* v : {&train, &held})
      if (!v->empty()) top = std::max(top, v->back().second);
  }
  if (train.empty() && held.empty()) return "";
  return chart("curves", "Learning curves (loss by step, " + train_log + ")",
               {{"training loss", train}, {"held-out loss", held}}, 0, top > 0 ? top : 1, "step");
}

// A state's bytes in hex, those that differ from `other` marked.
std::string bytes_row(const uint8_t* b, const uint8_t* other, size_t n, size_t avail) {
  std::string h;
  char x[8];
  for (size_t i = 0; i < n; ++i) {
    if (i >= avail) {
      h += "<mark>--</mark> ";
      continue;
    }
    std::snprintf(x, sizeof x, "%02x", b[i]);
    h += other && b[i] != other[i] ? "<mark>" + std::string(x) + "</mark> " : std::string(x) + " ";
  }
  return h;
}

std::string worst_cases(const Scorer& s) {
  const isa::Config& c = s.config();
  const size_t ib = isa::image_bytes(c), sb = isa::state_bytes(c);
  std::string h = "<h2>Worst cases</h2>";
  for (const auto& w : s.worst()) {
    h += "<h3 id=\"worst-" + std::to_string(w.trace) + "\">trace " + std::to_string(w.trace) +
         ": " + percent(w.byte_accuracy) + " of bytes right" +
         (w.first_divergence >= 0 ? ", first wrong state " + std::to_string(w.first_divergence)
                                  : std::string()) +
         "</h3><pre>" +
         esc(isa::numbered_listing(c.profile, std::span(w.image).subspan(0, ib), "", 40)) +
         "</pre>";
    if (w.first_divergence < 1) continue;
    const size_t k = size_t(w.first_divergence);
    const uint8_t* truth = w.truth.data() + k * sb;
    const auto [pred, avail] = isa::predicted_state(w.predicted, k, sb);
    h += "<pre class=\"state\">state " + std::to_string(k) +
         " expected:  " + bytes_row(truth, nullptr, sb, sb) + "\nstate " + std::to_string(k) +
         " predicted: " + bytes_row(pred, truth, sb, avail) + "</pre>";
  }
  return h;
}

const char* kStyle =
    "body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;"
    "margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child{"
    "text-align:left}th{background:#eee;cursor:pointer}mark{background:#f99}pre{background:#f6f6f6;"
    "padding:.5em}";

// Sorts a table by the clicked column (numbers by their data-v, names as text); again: reverse.
const char* kScript =
    "document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener("
    "'click',function(){var t=th.closest('table'),i=Array.prototype.indexOf.call(th.parentNode."
    "children,th),rows=Array.prototype.slice.call(t.querySelectorAll('tr')).slice(1),d=th.dataset."
    "dir==='a'?-1:1;th.dataset.dir=d===1?'a':'d';rows.sort(function(a,b){var x=a.children[i],y=b."
    "children[i];if(x.dataset.v!==undefined)return d*(parseFloat(x.dataset.v)-parseFloat(y.dataset."
    "v));return d*x.textContent.localeCompare(y.textContent);});rows.forEach(function(r){t."
    "appendChild(r);});});});";

}  // namespace

std::string report_html(const Scorer& s, const json& meta, const std::string& train_log) {
  const Pair& t = s.total();
  const std::string mode = mode_name(s.mode());
  std::string h =
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>cpusim eval (" + mode +
      ")</title><style>" + kStyle + "</style></head><body>";
  h += "<h1>cpusim eval: " + std::string(s.mode() == Mode::teacher ? "teacher-forced" : "rollout") +
       "</h1><ul>";
  for (const auto& [k, v] : meta.items())
    if (!v.is_object())
      h += "<li>" + esc(k) + ": " + esc(v.is_string() ? v.get<std::string>() : v.dump()) + "</li>";
  h += "</ul><h2>Headline</h2><table id=\"headline\">" + std::string(kHead) +
       row("headline", "all states", t) + "</table>";
  // (the headline's own ids, without the row name)
  for (const char* k : {"byte_accuracy", "state_accuracy", "changed_byte_accuracy"}) {
    const std::string from = "headline-all_states-" + std::string(k),
                      to = "headline-" + std::string(k);
    h.replace(h.find(from), from.size(), to);
  }
  h += "<p><span id=\"traces\">" + std::to_string(s.traces()) +
       "</span> traces, <span id=\"exact_traces\">" + std::to_string(s.exact_traces()) +
       "</span> predicted without a wrong byte. Baseline: the do-nothing predictor (advance the "
       "PC, fetch the next instruction, copy everything else).</p>";
  std::vector<std::pair<double, double>> by_step, base_step;
  for (const auto& [k, p] : s.per_step()) {
    by_step.push_back({double(k), 100 * p.model.byte_accuracy()});
    base_step.push_back({double(k), 100 * p.baseline.byte_accuracy()});
  }
  h += chart("per_step_chart", "Byte accuracy by step index (%)",
             {{"model", by_step}, {"do-nothing baseline", base_step}}, 0, 100, "state index");
  h += table("per_step", "Per step index", s.per_step());
  h +=
      table("per_opcode", "Per opcode (the opcode executed just before the state)", s.per_opcode());
  h += table("per_form", "Per operand form", s.per_form());
  std::map<std::string, Pair> fields(s.per_field().begin(), s.per_field().end());
  h += table("per_field", "Per field (a field is right when all its bytes are)", fields);
  if (s.has_data_memory())
    h += table("per_opcode_memory", "Data memory per opcode (the memory's bytes alone)",
               s.per_opcode_memory());
  h += table("per_length", "Per program length (instructions executed)", s.per_length());
  h += worst_cases(s);
  h += curves(train_log);
  return h + "<script>" + kScript + "</script></body></html>\n";
}

}  // namespace cpusim::harness
