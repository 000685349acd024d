// harness/predict.cpp: one program, emulator beside predictor.
#include "harness/predict.h"

#include "common/io.h"
#include "emulator/emulator.h"

namespace cpusim::harness {

Prediction predict_program(Predictor& p, std::span<const uint8_t> image,
                           std::span<const uint8_t> init, const std::string& name) {
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

}  // namespace cpusim::harness
