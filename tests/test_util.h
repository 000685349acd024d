// tests/test_util.h: helpers shared by the tests: run assembly text on a given initial state and
// read back states; run the cpusim binary.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "emulator/emulator.h"
#include "isa/asm.h"
#include "isa/isa.h"

namespace cpusim::test {

struct Run {
  emu::Outcome outcome;
  std::vector<uint8_t> states;  // all recorded states, the initial one first
  size_t state_size = 0;
  const uint8_t* state(size_t k) const { return states.data() + k * state_size; }
  size_t count() const { return states.size() / state_size; }
  const uint8_t* last() const { return state(count() - 1); }
};

// Assembles `text`, loads it at 0 of a zeroed image, applies `init` edits (offset, value).
inline Run run_asm(const isa::Config& c, const std::string& text,
                   std::vector<std::pair<size_t, uint8_t>> init = {}) {
  const auto prog = isa::assemble(c.profile, text);
  std::vector<uint8_t> image(isa::image_bytes(c), 0);
  std::copy(prog.begin(), prog.end(), image.begin());
  std::vector<uint8_t> state = emu::zero_state(c);
  for (auto [off, v] : init) state[off] = v;
  Run r;
  r.state_size = isa::state_bytes(c);
  r.outcome = emu::run(c, image, state, r.states);
  return r;
}

inline isa::Config bgpt_config(unsigned memory = 1024) {
  isa::Config c = isa::default_config(isa::Profile::bgpt);
  c.memory_size = memory;
  return c;
}
inline isa::Config toy_config() { return isa::default_config(isa::Profile::toy); }

// Offsets of bgpt register x (1 = A) and toy register x (0 = R0).
inline size_t breg(int x) { return isa::kRegs - 1 + x; }
inline size_t treg(int x) { return isa::kRegs + x; }
inline size_t tmem(int a) { return isa::kHeaderBytes + a; }

// Runs a shell command, returns its exit status and captures stdout+stderr.
struct Shell {
  int status;
  std::string output;
};
Shell shell(const std::string& command);

// The (opcode, form) pairs of the profile's table that no assembly line of `texts` encodes,
// as "MNEMONIC form" (the golden-case coverage tests).
std::vector<std::string> forms_without_case(isa::Profile p, const std::vector<std::string>& texts);

// The cpusim binary under test.
std::string cpusim_bin();
// A fresh, empty temporary folder for one test.
std::string temp_dir(const std::string& name);

}  // namespace cpusim::test
