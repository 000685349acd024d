// harness/curves.h: `cpusim plot`: training curves of runs (their log.jsonl) as one PNG drawn by
// gnuplot: training and held-out loss, held-out exact patches and byte accuracy, each against
// steps and against minutes; one colour per run. The numbers plotted go beside it (OUT.dat).
#pragma once

#include <string>
#include <vector>

namespace cpusim::harness {

struct CurveRun {
  std::string label;    // the legend's name
  std::string run_dir;  // holds log.jsonl
};

// Throws cpusim::Error "<log>: ..." for a missing or unreadable log (a torn last line is skipped,
// as a killed run leaves one). Returns false when gnuplot is not available (OUT.dat written).
bool plot_curves(const std::vector<CurveRun>& runs, const std::string& out_png,
                 const std::string& title = "");

// gnuplot `script` (which sets its output to temp_sibling(png)) run, then the PNG renamed into
// place; when the pngcairo terminal is missing, the plain png one. False without gnuplot.
bool run_gnuplot(const std::string& script, const std::string& script_path, const std::string& png);

}  // namespace cpusim::harness
