// harness/verify.h: `cpusim verify`: re-executes a trace file from its image and first state
// and scores every later byte of the file against the emulator's (the paper's evaluation);
// many files, folders and sets added up (harness/report.h renders the totals).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

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
VerifyResult verify_trace(const isa::Config& c, std::span<const uint8_t> file,
                          const std::string& name);

// Scores of many files added up.
struct VerifyTotals {
  uint64_t traces = 0, exact_traces = 0;
  isa::Tally tally;
  isa::Config machine;  // the machine of the last trace scored (verify_paths)
  void add(const VerifyResult& r);
};

// In-memory traces of one machine, named "trace 0", "trace 1", ... in messages.
VerifyTotals verify_traces(const isa::Config& c,
                           const std::vector<std::span<const uint8_t>>& traces);

// `cpusim verify PATH...`: trace files as given, folders expanded to their .bin files
// (recursively, sorted), HDF5 sets (.h5, .hdf5) read split by split (`split`: train, test or all).
struct VerifyPaths {
  std::vector<std::string> paths;
  std::string split = "all";
  // The machine of a trace file (not a set's: a set names its own).
  std::function<isa::Config(const std::string& path)> machine_for;
  // A profile named on the command line that every set must be of (nullopt: any).
  std::optional<isa::Profile> profile;
  // Called with each trace's name ("file", or "set.h5:test/7") and score; may be empty.
  std::function<void(const std::string& name, const VerifyResult& r)> each;
};
// Throws cpusim::Error naming the path for a missing file, an empty folder, a set of another
// profile than `profile`, and what verify_trace refuses.
VerifyTotals verify_paths(const VerifyPaths& v);

}  // namespace cpusim::harness
