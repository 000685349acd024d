// harness/predict.h: `cpusim predict`: one program run by the emulator and rolled out by a
// Predictor; harness/report.h renders the two side by side, state by state.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "harness/predictor.h"

namespace cpusim::harness {

struct Prediction {
  std::vector<uint8_t> truth;      // the emulator's states, the initial one first
  std::vector<uint8_t> predicted;  // the predictor's states after the initial one (may be shorter)
};

// Throws cpusim::Error "<name>: ..." when the program faults on the emulator.
Prediction predict_program(Predictor& p, std::span<const uint8_t> image,
                           std::span<const uint8_t> init, const std::string& name);

// Rendered by harness/report.h (render_prediction, prediction_json).

}  // namespace cpusim::harness
