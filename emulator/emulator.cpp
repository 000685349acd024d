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

Outcome run_mutant(const isa::Config& c, std::span<const uint8_t> image,
                   std::span<const uint8_t> init, std::vector<uint8_t>& states, const Mutation& m) {
  const size_t sb = isa::state_bytes(c);
  if (image.size() != isa::image_bytes(c) || init.size() != sb)
    throw Error("run_mutant: wrong image or state size");
  std::vector<uint8_t> state(init.begin(), init.end()), before(sb);
  // The run loops call `after` once the instruction executed; `before` is refreshed by the sink
  // (which sees the state right after each fetch, i.e. just before execution).
  auto sink = [&](const uint8_t* s) {
    states.insert(states.end(), s, s + sb);
    std::copy(s, s + sb, before.begin());
  };
  auto after = [&](uint8_t* s, isa::Insn in, Effect e) {
    if (in.op != m.op || isa::form_of(c.profile, in) != m.form) return e;
    if (e == Effect::halt) return Effect::next;  // HLT that does not halt
    size_t target = sb;
    for (size_t i = isa::kAcc; i < sb && target == sb; ++i)  // PC and IR excluded
      if ((i < isa::kIR || i >= isa::kIR + 4) && s[i] != before[i]) target = i;
    if (target == sb) {
      const isa::FormInfo& fi = isa::form_info(m.form);
      const bool bgpt = c.profile == isa::Profile::bgpt;
      if (fi.slot[0] == isa::Slot::Tgt)
        target = isa::kPC;
      else if (fi.slot[0] == isa::Slot::Reg || fi.slot[0] == isa::Slot::Ind)
        target = isa::kRegs + in.a1 - (bgpt ? 1 : 0);
      else if (fi.slot[1] == isa::Slot::Reg)
        target = isa::kRegs + in.a2 - (bgpt ? 1 : 0);
      else
        target = isa::kAcc;
    }
    if (m.edge_only) {
      const bool edge =
          target == isa::kPC ? s[isa::kFlags] != 0 : (s[target] == 0 || s[target] == 255);
      if (!edge) return e;
    }
    s[target] ^= 1;
    return e;
  };
  const uint32_t limit = isa::step_limit(c);
  if (c.profile == isa::Profile::bgpt) return bgpt::run(image, state.data(), limit, sink, after);
  return toy::run(image, state.data(), c.memory_size, limit, sink, after);
}

std::string describe_fault(isa::Profile, const Outcome& o) {
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
