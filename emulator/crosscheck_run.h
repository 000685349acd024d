// emulator/crosscheck_run.h: the cross-check at scale: many programs split over worker threads
// (one Unicorn each), the first failing program found whatever the number of jobs; the mutation
// self-test that breaks every opcode and form in turn and expects each to be caught; reproducer
// files. Programs come from a ProgramSource (datagen's random programs in practice), so this
// layer needs no generator. Printing is the caller's.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "emulator/crosscheck.h"

namespace cpusim::xcheck {

// Program `index`: its image and initial state (buffers reused). Called from several threads
// at once; must depend on `index` alone.
using ProgramSource =
    std::function<void(uint64_t index, std::vector<uint8_t>& image, std::vector<uint8_t>& init)>;

struct Found {
  uint64_t index = 0;
  std::vector<uint8_t> image, init;
  Mismatch mismatch;
};

struct RunResult {
  uint64_t programs = 0, instructions = 0;
  // Every program below this index was checked (a run stopped by time or by a mismatch may have
  // checked some above it too): where a later run of the same programs can go on from.
  uint64_t complete_below = 0;
  std::optional<Found> first;  // the lowest-index failing program
  double seconds = 0;
};

// Programs 0..n-1 over `jobs` checkers; stops early once a failing program is known (the lowest
// failing index is reported, whatever the jobs), or once `max_seconds` (> 0) have passed (a soak
// run: `programs` says how many were checked). `progress(done)` is called from one worker.
RunResult run_programs(const isa::Config& c, const ProgramSource& programs, uint64_t n,
                       unsigned jobs, const emu::Mutation* mutation = nullptr,
                       const std::function<void(uint64_t)>& progress = {}, double max_seconds = 0);

// "MNEMONIC FORM" ("ADD r,r"; "-" or nothing for no operands) -> the mutation; nullopt if none.
std::optional<emu::Mutation> parse_mutation(isa::Profile p, const std::string& text);
// "ADD r,r" or "ADD r,r (edge)".
std::string mutation_name(isa::Profile p, const emu::Mutation& m);

struct MutantResult {
  emu::Mutation mutation;
  RunResult run;  // run.first set: caught
};
struct SelfTest {
  std::vector<MutantResult> mutants;
  double seconds = 0;
  int caught() const;
  std::vector<std::string> survivors(isa::Profile p) const;
};
// Every (opcode, form) of the table broken in turn (and, with `edges`, broken only at an edge
// value too; HLT has none), each run over programs 0..n-1. `on_mutant` sees each as it ends.
SelfTest self_test(const isa::Config& c, const ProgramSource& programs, uint64_t n, unsigned jobs,
                   bool edges, const std::function<void(const MutantResult&)>& on_mutant = {});

// Writes BASE.asm (the program, with the mismatch and the initial state in comments) and
// BASE.state (the initial state's bytes).
void write_repro(const isa::Config& c, const Repro& r, const std::string& base);

}  // namespace cpusim::xcheck
