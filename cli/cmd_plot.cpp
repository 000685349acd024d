// cli/cmd_plot.cpp: `cpusim plot RUN_DIR...`: training curves as PNG (harness/curves.h).
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "harness/curves.h"

namespace cpusim::cli {

int cmd_plot(const Args& args) {
  std::vector<std::string> runs;
  std::string out, title;
  po::options_description d("plot options");
  d.add_options()("run", po::value(&runs)->required(),
                  "run folders of cpusim train (each holds log.jsonl); LABEL=DIR names a line")(
      "output,o", po::value(&out), "PNG to write (default: RUN_DIR/curves.png for one run)")(
      "title", po::value(&title), "the figure's title");
  po::positional_options_description pos;
  pos.add("run", -1);
  po::variables_map vm;
  if (!parse("plot", "RUN_DIR [LABEL=RUN_DIR ...] [-o OUT.png]", d, pos, args, vm)) return 0;
  std::vector<harness::CurveRun> cr;
  for (const auto& r : runs) {
    const size_t eq = r.find('=');
    const std::string dir = eq == std::string::npos ? r : r.substr(eq + 1);
    std::string label = eq == std::string::npos
                            ? std::filesystem::path(dir).lexically_normal().filename().string()
                            : r.substr(0, eq);
    if (label.empty()) label = dir;
    cr.push_back({label, dir});
  }
  if (out.empty()) {
    if (cr.size() > 1) throw Error("-o OUT.png is required for several runs");
    out = (std::filesystem::path(cr[0].run_dir) / "curves.png").string();
  }
  if (!harness::plot_curves(cr, out, title))
    throw Error(out + ": gnuplot is not available (the data is in " + out + ".dat)");
  if (!quiet(vm)) std::cerr << "plot: wrote " << out << "\n";
  std::cout << out << "\n";
  return 0;
}

}  // namespace cpusim::cli
