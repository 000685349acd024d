// emulator/crosscheck.h: differential execution. A program runs in the interpreter and, lowered
// to AArch64 (emulator/lower.h), under Unicorn; a hook at every toy-instruction boundary reads
// the whole toy state back from Unicorn and compares it with the interpreter's state there.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "emulator/emulator.h"
#include "isa/isa.h"

namespace cpusim::xcheck {

struct Mismatch {
  uint64_t step = 0;              // state index where they first differ (1 = after the first fetch)
  std::string what;               // one line
  std::vector<uint8_t> expected;  // interpreter state (empty when it had none)
  std::vector<uint8_t> actual;    // state read from Unicorn (empty when it had none)
  uint64_t host_pc = 0;           // host address of the boundary hook
  int64_t host_slot = -1;         // image slot whose host block ran just before the boundary
  isa::Insn insn;                 // the toy instruction executed just before the boundary
};

class Checker {
 public:
  explicit Checker(const isa::Config& c);  // throws cpusim::Error when Unicorn fails
  ~Checker();
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  // Runs one program both ways. `mutation` (the self-test) breaks the interpreter on purpose.
  std::optional<Mismatch> check(std::span<const uint8_t> image, std::span<const uint8_t> init,
                                const emu::Mutation* mutation = nullptr);
  uint64_t instructions() const;  // toy instructions compared so far

  // Host code of the last lowered program, disassembled with Capstone: the block of image slot
  // `slot` (if >= 0), then the code around `addr`.
  std::string host_listing(int64_t slot, uint64_t addr) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A human-readable report of a mismatch: the toy instruction, each differing field, host code.
std::string describe(const isa::Config& c, const Checker& checker, const Mismatch& m);

// The Unicorn library this binary runs on ("2.0.1": major and minor from the library).
std::string unicorn_version();

// Shrinks a failing program while it still fails: drops instructions, zeroes initial bytes.
struct Repro {
  std::vector<uint8_t> image, init;
  Mismatch mismatch;
};
Repro minimise(const isa::Config& c, Checker& checker, std::span<const uint8_t> image,
               std::span<const uint8_t> init, const emu::Mutation* mutation = nullptr);

}  // namespace cpusim::xcheck
