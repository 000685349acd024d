// harness/curves.cpp: learning curves from training logs (harness/curves.h).
#include "harness/curves.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/io.h"

namespace cpusim::harness {

namespace fs = std::filesystem;

namespace {

// A run's rows as two gnuplot blocks: training (step, minutes, loss) and held-out (step,
// minutes, loss, exact patches %, byte accuracy %).
std::string blocks(const CurveRun& r) {
  const std::string log = (fs::path(r.run_dir) / "log.jsonl").string();
  std::ifstream in(log);
  if (!in) throw Error(log + ": cannot open (a cpusim train run folder holds log.jsonl)");
  std::string train = "# " + r.label + ": step minutes loss\n",
              held = "# " + r.label + ": step minutes eval_loss exact% byte%\n";
  int rows = 0;
  char line[200];
  for (std::string text; std::getline(in, text);) {
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.contains("step") || !j.contains("loss")) continue;  // a torn line
    const double step = j["step"].get<double>(), min = j.value("seconds", 0.0) / 60;
    std::snprintf(line, sizeof line, "%.0f %.4f %.6g\n", step, min, j["loss"].get<double>());
    train += line;
    ++rows;
    if (j.contains("eval_loss")) {
      const double exact =
          j.contains("eval_exact_patches") ? 100 * j["eval_exact_patches"].get<double>() : NAN;
      std::snprintf(line, sizeof line, "%.0f %.4f %.6g %.4f %.4f\n", step, min,
                    j["eval_loss"].get<double>(), exact, 100 * j.value("eval_byte_accuracy", 0.0));
      held += line;
    }
  }
  if (!rows) throw Error(log + ": no training rows");
  return train + "\n\n" + held + "\n\n";
}

}  // namespace

bool run_gnuplot(const std::string& script, const std::string& script_path,
                 const std::string& png) {
  write_file_atomic(script_path, std::vector<uint8_t>(script.begin(), script.end()));
  const std::string cmd = "gnuplot '" + script_path + "' 2>/dev/null";
  const fs::path tmp = temp_sibling(png);
  if (std::system(cmd.c_str()) != 0 || !fs::exists(tmp)) {
    std::string plain = script;  // pngcairo may be missing from a minimal gnuplot
    plain.replace(plain.find("pngcairo"), 8, "png");
    write_file_atomic(script_path, std::vector<uint8_t>(plain.begin(), plain.end()));
    if (std::system(cmd.c_str()) != 0 || !fs::exists(tmp)) return false;
  }
  std::error_code ec;
  fs::rename(tmp, png, ec);
  return !ec;
}

bool plot_curves(const std::vector<CurveRun>& runs, const std::string& out_png,
                 const std::string& title) {
  if (runs.empty()) throw Error("no runs to plot");
  std::string dat;
  for (const auto& r : runs) dat += blocks(r);
  const std::string dat_path = out_png + ".dat";
  write_file_atomic(dat_path, std::vector<uint8_t>(dat.begin(), dat.end()));
  auto panel = [&](const std::string& name, const std::string& xlabel, const std::string& ylabel,
                   int x, bool loss) {
    std::string p =
        "set title '" + name + "'\nset xlabel '" + xlabel + "'\nset ylabel '" + ylabel + "'\n";
    p += loss ? "set logscale y\nset yrange [*:*]\n" : "unset logscale y\nset yrange [0:100]\n";
    p += "plot ";
    for (size_t i = 0; i < runs.size(); ++i) {
      const std::string lt = " lt " + std::to_string(i + 1), tr = std::to_string(2 * i),
                        ev = std::to_string(2 * i + 1);
      const std::string xs = std::to_string(x);
      if (i) p += ", ";
      if (loss) {
        p += "'" + dat_path + "' index " + tr + " using " + xs + ":3 with lines" + lt +
             " lw 1 title '" + runs[i].label + " train', '' index " + ev + " using " + xs +
             ":3 with linespoints" + lt + " lw 2 pt 7 title '" + runs[i].label + " held-out'";
      } else {
        p += "'" + dat_path + "' index " + ev + " using " + xs + ":4 with linespoints" + lt +
             " lw 2 pt 7 title '" + runs[i].label + " exact patches', '' index " + ev + " using " +
             xs + ":5 with linespoints" + lt + " dt 2 pt 6 title '" + runs[i].label + " bytes'";
      }
    }
    return p + "\n";
  };
  std::string gp = "set terminal pngcairo size 1400,900 noenhanced font ',10'\nset output '" +
                   temp_sibling(out_png).string() + "'\nset multiplot layout 2,2 title '" +
                   (title.empty() ? std::string("training curves") : title) +
                   "'\nset grid\nset key top right\n";
  gp += panel("loss against steps", "step", "loss (nats per byte)", 1, true);
  gp += panel("loss against training time", "minutes", "loss (nats per byte)", 2, true);
  gp += "set key bottom right\n";
  gp += panel("held-out accuracy against steps (teacher-forced)", "step", "%", 1, false);
  gp += panel("held-out accuracy against training time", "minutes", "%", 2, false);
  gp += "unset multiplot\n";
  return run_gnuplot(gp, out_png + ".gp", out_png);
}

}  // namespace cpusim::harness
