// harness/predict.cpp: one program, emulator beside predictor.
#include "harness/predict.h"

#include <algorithm>
#include <cmath>
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

nlohmann::json prediction_json(const isa::Config& c, const Prediction& r) {
  const size_t sb = isa::state_bytes(c);
  const size_t steps = r.truth.size() / sb - 1;
  isa::Tally total;
  nlohmann::json states = nlohmann::json::array(), first_wrong = nullptr;
  for (size_t k = 1; k <= steps; ++k) {
    const uint8_t* truth = r.truth.data() + k * sb;
    const size_t off = (k - 1) * sb, avail = r.predicted.size() > off ? std::min(sb, r.predicted.size() - off) : 0;
    const isa::Tally t = isa::score_state(truth, truth - sb, r.predicted.data() + off, avail, sb);
    total += t;
    nlohmann::json wrong = nlohmann::json::array();
    for (const isa::Field& f : isa::state_fields(c))
      if (isa::score_field(f, truth, truth - sb, r.predicted.data() + off, avail).exact_states == 0) wrong.push_back(f.name);
    if (t.exact_states == 0 && first_wrong.is_null()) first_wrong = k;
    states.push_back({{"step", k},
                      {"true", hex(truth, sb)},
                      {"predicted", avail == sb ? nlohmann::json(hex(r.predicted.data() + off, sb)) : nlohmann::json()},
                      {"exact", t.exact_states == 1},
                      {"wrong_fields", wrong}});
  }
  auto num = [](double x) { return std::isnan(x) ? nlohmann::json() : nlohmann::json(x); };
  return {{"isa", std::string(isa::profile_name(c.profile))},
          {"memory_size", c.memory_size},
          {"initial", hex(r.truth.data(), sb)},
          {"states", steps},
          {"exact_states", total.exact_states},
          {"byte_accuracy", num(total.byte_accuracy())},
          {"changed_byte_accuracy", num(total.changed_byte_accuracy())},
          {"first_wrong_state", first_wrong},
          {"steps", states}};
}

}  // namespace cpusim::harness
