// harness/verify.h: `cpusim verify`: re-executes a trace file from its image and first state
// and scores every later byte of the file against the emulator's (the paper's evaluation).
#pragma once

#include <span>
#include <string>

#include "emulator/emulator.h"
#include "isa/compare.h"
#include "isa/isa.h"

namespace cpusim::harness {

struct VerifyResult {
  isa::TraceScore trace;
  emu::Outcome outcome;  // of the re-execution
};

// `file` is a whole trace file named `name` (for messages). Throws cpusim::Error "<name>: ..."
// when the file is too short for the image and first state, or when re-execution faults.
VerifyResult verify_trace(const isa::Config& c, std::span<const uint8_t> file, const std::string& name);

// Scores of many files added up.
struct VerifyTotals {
  uint64_t traces = 0, exact_traces = 0;
  isa::Tally tally;
  void add(const VerifyResult& r);
};

}  // namespace cpusim::harness
