// harness/metrics.h: per-instruction accuracy of predicted states against the emulator's: the
// paper's byte accuracy, exact states, changed-byte accuracy (only the bytes the instruction
// changed), per field, per opcode, per operand form, per program-length bucket, rollout
// divergence, and the do-nothing baseline beside every figure. Accumulates counts; reporters
// (harness/report.h) format them. No torch.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "isa/compare.h"
#include "isa/isa.h"

namespace cpusim::harness {

// Counts of one slice (all states, one opcode, one field, ...): the one count type.
using Tally = isa::Tally;

// A slice scored for the model and for the do-nothing baseline.
struct Pair {
  Tally model, baseline;
  Pair& operator+=(const Pair& o) {
    model += o.model, baseline += o.baseline;
    return *this;
  }
};

struct WorstCase {
  uint64_t trace = 0;
  double byte_accuracy = 0;
  int64_t first_divergence = -1;  // state index, -1: none
  std::vector<uint8_t> image;
  std::vector<uint8_t> truth;      // all true states
  std::vector<uint8_t> predicted;  // predicted states after the first (may be shorter)
};

enum class Mode { teacher, rollout };
// The one spelling of each mode, in reports, file names and options: "teacher", "rollout".
const char* mode_name(Mode m);
// The mode named `name`; throws cpusim::Error "--mode NAME: expected teacher or rollout".
Mode parse_mode(const std::string& name);

class Scorer {
 public:
  Scorer(const isa::Config& c, Mode mode, int worst_k = 5);
  // `trace`: image + all true states; `predicted`: the model's states after the first (bytes;
  // shorter than the truth when it stopped early: missing bytes count as mismatches).
  void add(uint64_t index, std::span<const uint8_t> trace, std::span<const uint8_t> predicted);

  const isa::Config& config() const { return c_; }
  Mode mode() const { return mode_; }
  uint64_t traces() const { return traces_; }
  uint64_t exact_traces() const { return exact_traces_; }
  const Pair& total() const { return total_; }
  // Keyed by mnemonic ("(first fetch)" for state 1, which follows no executed instruction).
  const std::map<std::string, Pair>& per_opcode() const { return per_op_; }
  const std::map<std::string, Pair>& per_form() const { return per_form_; }   // "ADD r,r"
  const std::map<std::string, Pair>& per_length() const { return per_len_; }  // "17-32"
  const std::vector<std::pair<std::string, Pair>>& per_field() const { return per_field_; }
  // Machines whose state holds a data memory (toy): the memory's bytes alone, scored as a state
  // of their own (byte accuracy over its bytes, exact when all are right, changed bytes those a
  // store wrote), per opcode executed. Empty for machines without one (bgpt).
  const std::map<std::string, Pair>& per_opcode_memory() const { return per_op_memory_; }
  bool has_data_memory() const { return memory_.size > 0; }
  // The data memory over all states, as per_opcode_memory; zero counts without one.
  const Pair& data_memory() const { return data_memory_; }
  // Rollout: traces by the first state that differs ("none" for exact traces), bucketed.
  const std::map<std::string, uint64_t>& divergence() const { return divergence_; }
  // By state index k (the k-th state after the first): how errors grow along a trace.
  const std::map<uint64_t, Pair>& per_step() const { return per_step_; }
  const std::vector<WorstCase>& worst() const { return worst_; }

 private:
  isa::Config c_;
  Mode mode_;
  int worst_k_;
  std::vector<isa::Field> fields_;
  isa::Field memory_{"data memory", 0, 0};  // where the data memory is (size 0: none)
  Pair data_memory_;
  uint64_t traces_ = 0, exact_traces_ = 0;
  Pair total_;
  std::map<std::string, Pair> per_op_, per_form_, per_len_, per_op_memory_;
  std::vector<std::pair<std::string, Pair>> per_field_;
  std::map<std::string, uint64_t> divergence_;
  std::map<uint64_t, Pair> per_step_;
  std::vector<WorstCase> worst_;
};

// The do-nothing prediction of the state after `prev`: PC advanced, the next instruction
// fetched from `image`, everything else copied.
void do_nothing(const isa::Config& c, std::span<const uint8_t> image, const uint8_t* prev,
                uint8_t* out);

// "1-8", "9-16", "17-32", ... for a program that ran `steps` instructions.
std::string length_bucket(uint64_t steps);

}  // namespace cpusim::harness
