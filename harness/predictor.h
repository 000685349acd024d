// harness/predictor.h: what the harness needs from a learned simulator, without torch: the
// machine it was trained for, teacher-forced next states and rollouts. model::Simulator
// implements it; tests implement it with the emulator or with deliberate mistakes.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "isa/isa.h"

namespace cpusim::harness {

class Predictor {
 public:
  virtual ~Predictor() = default;
  // The machine (profile, memory size) whose traces it predicts.
  virtual const isa::Config& isa() const = 0;
  // For each trace (image + true states): every state after the first, each predicted from the
  // true history before it; state_bytes * (states - 1) values, each a byte or 256 (the end symbol).
  virtual std::vector<std::vector<int16_t>> predict_teacher(
      const std::vector<std::span<const uint8_t>>& traces) = 0;
  // For each prefix (image + initial state): the predicted states after the first, its own
  // states fed back, until a state fetches HLT, the end symbol, or `max_steps` states.
  virtual std::vector<std::vector<uint8_t>> rollout(
      const std::vector<std::span<const uint8_t>>& prefixes, int max_steps) = 0;
  // What the report says about the predictor (model file, parameters, options, and what its
  // work counts below add up to).
  virtual nlohmann::json describe() const = 0;
  // Counts of work done since it was made (for a model: patches decoded, decoder passes) that
  // add up across the processes of a group: eval sums every rank's into rank 0's predictor with
  // add_work_counts before its describe() goes into the report.
  virtual std::vector<uint64_t> work_counts() const { return {}; }
  virtual void add_work_counts(const std::vector<uint64_t>& /*other*/) {}
};

}  // namespace cpusim::harness
