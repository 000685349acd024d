// harness/predict.cpp: one program, emulator beside predictor.
#include "harness/predict.h"

#include <cstdio>

#include "common/io.h"
#include "emulator/emulator.h"
#include "isa/asm.h"
#include "isa/compare.h"

namespace cpusim::harness {

Prediction predict_program(Predictor& p, std::span<const uint8_t> image, std::span<const uint8_t> init,
                           const std::string& name) {
  const isa::Config& c = p.isa();
  Prediction r;
  const emu::Outcome o = emu::run(c, image, init, r.truth);
  if (o.stop == emu::Stop::fault) throw Error(name + ": " + emu::describe_fault(c.profile, o));
  std::vector<uint8_t> prefix(image.begin(), image.end());
  prefix.insert(prefix.end(), init.begin(), init.end());
  const int steps = int(r.truth.size() / isa::state_bytes(c)) - 1;
  r.predicted = p.rollout({prefix}, steps)[0];
  return r;
}

std::string render_prediction(const isa::Config& c, const Prediction& r, bool color) {
  const size_t sb = isa::state_bytes(c);
  const int steps = int(r.truth.size() / sb) - 1;
  std::string out = "step      " + isa::state_heading(c) + "\n0         " + isa::format_state(c, r.truth.data()) + "\n";
  int exact = 0;
  for (int k = 1; k <= steps; ++k) {
    const uint8_t* truth = r.truth.data() + k * sb;
    char step[16];
    std::snprintf(step, sizeof step, "%-4d", k);
    out += step + ("true  " + isa::format_state(c, truth)) + "\n";
    const size_t off = size_t(k - 1) * sb;
    if (r.predicted.size() < off + sb) {
      out += "    model (stopped)\n";
      continue;
    }
    const std::string diffs = isa::render_differences(c, truth, r.predicted.data() + off, sb, "predicted", "      ");
    exact += diffs.empty();
    out += "    model " + isa::format_state(c, r.predicted.data() + off) + (diffs.empty() ? "\n" : "  <<\n");
    out += color && !diffs.empty() ? "\033[31m" + diffs + "\033[0m" : diffs;
  }
  return out + std::to_string(exact) + "/" + std::to_string(steps) + " states predicted exactly\n";
}

}  // namespace cpusim::harness
