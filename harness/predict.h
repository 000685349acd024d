// harness/predict.h: `cpusim predict`: one program run by the emulator and rolled out by a
// Predictor, and the two rendered side by side, state by state, with the fields it got wrong.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
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
Prediction predict_program(Predictor& p, std::span<const uint8_t> image, std::span<const uint8_t> init,
                           const std::string& name);

// The listing: each true state, the predicted one under it, its wrong fields (red when
// `color`), and a count of the exact states.
std::string render_prediction(const isa::Config& c, const Prediction& r, bool color);

// The same as JSON (`cpusim predict --json`): the counts (states, exact_states, byte_accuracy,
// changed_byte_accuracy, first_wrong_state: 1-based, or null) and each step's true and predicted
// state as hex (predicted null once the model stopped) with the names of its wrong fields.
nlohmann::json prediction_json(const isa::Config& c, const Prediction& r);

}  // namespace cpusim::harness
