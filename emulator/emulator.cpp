// emulator/emulator.cpp: profile-generic wrappers around the interpreters.
#include "emulator/emulator.h"

#include <cstdio>

#include "common/io.h"
#include "isa/asm.h"

namespace cpusim::emu {

Outcome run(const isa::Config& c, std::span<const uint8_t> image, std::span<const uint8_t> init,
            std::vector<uint8_t>& states) {
  const size_t sb = isa::state_bytes(c);
  if (image.size() != isa::image_bytes(c))
    throw Error("program image is " + std::to_string(image.size()) + " bytes, expected " +
                std::to_string(isa::image_bytes(c)));
  if (init.size() != sb)
    throw Error("initial state is " + std::to_string(init.size()) + " bytes, expected " +
                std::to_string(sb));
  std::vector<uint8_t> state(init.begin(), init.end());
  auto sink = [&states, sb](const uint8_t* s) { states.insert(states.end(), s, s + sb); };
  const uint32_t limit = isa::step_limit(c);
  if (c.profile == isa::Profile::bgpt) return bgpt::run(image, state.data(), limit, sink);
  return toy::run(image, state.data(), c.memory_size, limit, sink);
}

Outcome run_trace(const isa::Config& c, std::span<const uint8_t> image,
                  std::span<const uint8_t> init, std::vector<uint8_t>& trace) {
  trace.insert(trace.end(), image.begin(), image.end());
  return run(c, image, init, trace);
}

std::string describe_fault(isa::Profile p, const Outcome& o) {
  if (o.stop != Stop::fault) return "";
  char bytes[32];
  std::snprintf(bytes, sizeof bytes, "%02x %02x %02x %02x", o.insn.op, o.insn.a1, o.insn.a2,
                o.insn.a3);
  std::string s = std::string(isa::fault_name(o.fault)) + " at PC " + std::to_string(o.pc);
  if (o.fault != isa::Fault::bad_pc) s += ": bytes " + std::string(bytes);
  return s;
}

std::vector<uint8_t> zero_state(const isa::Config& c) {
  return std::vector<uint8_t>(isa::state_bytes(c), 0);
}

}  // namespace cpusim::emu
