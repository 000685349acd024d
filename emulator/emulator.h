// emulator/emulator.h: the reference interpreter for both ISA profiles. The run loops are
// templates over a Sink that receives each recorded state (after fetch, before execute, as in
// the paper's simulator); they never print, allocate or touch files. Faults come back in an
// Outcome; emulator.cpp turns them into messages.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "isa/isa.h"

namespace cpusim::emu {

enum class Stop : uint8_t { halted, step_limit, fault };

struct Outcome {
  Stop stop = Stop::halted;
  isa::Fault fault = isa::Fault::none;
  uint8_t pc = 0;        // index of the last fetched instruction (the faulting one on a fault)
  isa::Insn insn;        // its bytes
  uint32_t steps = 0;    // instructions fetched: the trace holds steps + 1 states
};

// What one instruction's semantics report back to the run loop.
enum class Effect : uint8_t { next, halt, bad_register };

// A sink that records nothing.
struct NoSink {
  void operator()(const uint8_t*) const {}
};

// ---------------------------------------------------------------------------------------------
// bgpt: state bytes [PC, ACC, IR0..IR3, A..J]; R(x) for x in 1..10 is byte 5 + x.
namespace bgpt {

struct Core {
  uint8_t* s;  // the 16-byte state
  uint8_t& acc() { return s[isa::kAcc]; }
  uint8_t& R(uint8_t x) { return s[isa::kRegs - 1 + x]; }
  static bool reg(uint8_t x) { return uint8_t(x - 1) < 10; }

  // CLR..NOT: the target is ACC when a1 == 0, else R(a1).
  template <class F>
  Effect unary(isa::Insn in, F f) {
    if (in.a1 == 0) {
      acc() = f(acc());
    } else {
      if (!reg(in.a1)) return Effect::bad_register;
      R(in.a1) = f(R(in.a1));
    }
    return Effect::next;
  }
  // ADD..XOR: a2 == 0: ACC = ACC op R(a1); a3 == 0: R(a1) = R(a1) op R(a2); else R(a3) = ...
  template <class F>
  Effect binary(isa::Insn in, F f) {
    if (!reg(in.a1)) return Effect::bad_register;
    if (in.a2 == 0) {
      acc() = f(acc(), R(in.a1));
    } else if (!reg(in.a2)) {
      return Effect::bad_register;
    } else if (in.a3 == 0) {
      R(in.a1) = f(R(in.a1), R(in.a2));
    } else {
      if (!reg(in.a3)) return Effect::bad_register;
      R(in.a3) = f(R(in.a1), R(in.a2));
    }
    return Effect::next;
  }
};

// One function per row of isa/bgpt/opcodes.def, named by its mnemonic.
struct Ops {
  static Effect HLT(Core&, isa::Insn) { return Effect::halt; }
  static Effect CLR(Core& c, isa::Insn in) { return c.unary(in, [](uint8_t) { return 0; }); }
  static Effect INC(Core& c, isa::Insn in) {
    return c.unary(in, [](uint8_t x) { return uint8_t(x == 255 ? 255 : x + 1); });
  }
  static Effect DEC(Core& c, isa::Insn in) {
    return c.unary(in, [](uint8_t x) { return uint8_t(x == 0 ? 0 : x - 1); });
  }
  static Effect SHL(Core& c, isa::Insn in) { return c.unary(in, [](uint8_t x) { return uint8_t(x << 1); }); }
  static Effect SHR(Core& c, isa::Insn in) { return c.unary(in, [](uint8_t x) { return uint8_t(x >> 1); }); }
  static Effect ROL(Core& c, isa::Insn in) {
    return c.unary(in, [](uint8_t x) { return uint8_t(x << 1 | x >> 7); });
  }
  static Effect ROR(Core& c, isa::Insn in) {
    return c.unary(in, [](uint8_t x) { return uint8_t(x >> 1 | x << 7); });
  }
  static Effect NOT(Core& c, isa::Insn in) { return c.unary(in, [](uint8_t x) { return uint8_t(~x); }); }
  static Effect PUSH(Core& c, isa::Insn in) {
    if (!Core::reg(in.a1)) return Effect::bad_register;
    c.acc() = c.R(in.a1);
    return Effect::next;
  }
  static Effect POP(Core& c, isa::Insn in) {
    if (!Core::reg(in.a1)) return Effect::bad_register;
    c.R(in.a1) = c.acc();
    return Effect::next;
  }
  static Effect LOADI(Core& c, isa::Insn in) {
    c.acc() = in.a1;
    return Effect::next;
  }
  static Effect SWAP(Core& c, isa::Insn in) {
    if (!Core::reg(in.a1)) return Effect::bad_register;
    if (in.a2 == 0) {
      std::swap(c.acc(), c.R(in.a1));
    } else {
      if (!Core::reg(in.a2)) return Effect::bad_register;
      std::swap(c.R(in.a1), c.R(in.a2));
    }
    return Effect::next;
  }
  static Effect ADD(Core& c, isa::Insn in) {
    return c.binary(in, [](unsigned x, unsigned y) { return uint8_t(x + y > 255 ? 255 : x + y); });
  }
  static Effect SUB(Core& c, isa::Insn in) {
    return c.binary(in, [](unsigned x, unsigned y) { return uint8_t(x > y ? x - y : 0); });
  }
  static Effect MUL(Core& c, isa::Insn in) {
    return c.binary(in, [](unsigned x, unsigned y) { return uint8_t(x * y > 255 ? 255 : x * y); });
  }
  static Effect DIV(Core& c, isa::Insn in) {
    return c.binary(in, [](unsigned x, unsigned y) { return uint8_t(y == 0 ? 255 : x / y); });
  }
  static Effect AND(Core& c, isa::Insn in) { return c.binary(in, [](uint8_t x, uint8_t y) { return uint8_t(x & y); }); }
  static Effect OR(Core& c, isa::Insn in) { return c.binary(in, [](uint8_t x, uint8_t y) { return uint8_t(x | y); }); }
  static Effect XOR(Core& c, isa::Insn in) { return c.binary(in, [](uint8_t x, uint8_t y) { return uint8_t(x ^ y); }); }
  static Effect MOV(Core& c, isa::Insn in) {
    if (!Core::reg(in.a1) || !Core::reg(in.a2)) return Effect::bad_register;
    c.R(in.a1) = c.R(in.a2);
    return Effect::next;
  }
};

inline Effect execute(Core& c, isa::Insn in, bool& bad_opcode) {
  switch (in.op) {
#define CPUSIM_OP(code, name, forms, cat) \
  case code: return Ops::name(c, in);
#include "isa/bgpt/opcodes.def"
#undef CPUSIM_OP
    default: bad_opcode = true; return Effect::halt;
  }
}

// Runs from `state` (16 bytes, updated in place) over `mem` (the whole memory, program at 0).
// `sink(state)` sees the initial state and the state after every fetch.
template <class Sink>
Outcome run(std::span<const uint8_t> mem, uint8_t* state, uint32_t step_limit, Sink&& sink) {
  const unsigned slots = unsigned(mem.size() / isa::kInsnBytes);
  const unsigned cap = (slots < 256 ? slots : 256) - 1;  // the PC never passes this
  Core c{state};
  Outcome out;
  sink(static_cast<const uint8_t*>(state));
  for (uint32_t step = 0; step < step_limit; ++step) {
    const unsigned pc = state[isa::kPC];
    out.pc = uint8_t(pc);
    if (pc > cap) {
      out.stop = Stop::fault;
      out.fault = isa::Fault::bad_pc;
      return out;
    }
    const uint8_t* ip = mem.data() + pc * isa::kInsnBytes;
    std::memcpy(state + isa::kIR, ip, isa::kInsnBytes);
    state[isa::kPC] = uint8_t(pc < cap ? pc + 1 : cap);
    out.steps = step + 1;
    sink(static_cast<const uint8_t*>(state));
    const isa::Insn in = isa::insn_at(ip);
    bool bad_opcode = false;
    const Effect e = execute(c, in, bad_opcode);
    if (e == Effect::next) continue;
    out.insn = in;
    if (bad_opcode || e == Effect::bad_register) {
      out.stop = Stop::fault;
      out.fault = bad_opcode ? isa::Fault::bad_opcode : isa::Fault::bad_register;
    } else {
      out.stop = Stop::halted;
    }
    return out;
  }
  out.stop = Stop::step_limit;
  out.insn = isa::insn_at(state + isa::kIR);
  return out;
}

}  // namespace bgpt

// ---------------------------------------------------------------------------------------------
// toy: state bytes [PC, FLAGS, IR0..IR3, R0..R9, M[0..D-1]] (docs/isa-toy.md).
namespace toy {

struct Core {
  uint8_t* s;          // 16 + D bytes
  unsigned data_mask;  // D - 1
  unsigned pc_mask;    // program slots - 1
  uint8_t& R(uint8_t x) { return s[isa::kRegs + x]; }
  uint8_t& M(unsigned a) { return s[isa::kHeaderBytes + (a & data_mask)]; }
  void flags(unsigned result, bool carry) {
    s[isa::kFlags] = uint8_t((uint8_t(result) == 0 ? isa::kFlagZ : 0) | (carry ? isa::kFlagC : 0));
  }
  bool zero() const { return s[isa::kFlags] & isa::kFlagZ; }
  bool carry() const { return s[isa::kFlags] & isa::kFlagC; }
  static bool reg(uint8_t x) { return x < 10; }
  Effect jump_if(bool cond, uint8_t target) {
    if (cond) s[isa::kPC] = uint8_t(target & pc_mask);
    return Effect::next;
  }
  // Rd = f(Rd, y) with flags Z (result 0) and C (f's carry).
  template <class F>
  Effect alu(uint8_t d, unsigned y, F f, bool write = true) {
    if (!reg(d)) return Effect::bad_register;
    bool c = false;
    const uint8_t r = f(unsigned(R(d)), y, c);
    flags(r, c);
    if (write) R(d) = r;
    return Effect::next;
  }
};

inline uint8_t add(unsigned x, unsigned y, bool& c) { c = x + y > 255; return uint8_t(x + y); }
inline uint8_t sub(unsigned x, unsigned y, bool& c) { c = x < y; return uint8_t(x - y); }

#define CPUSIM_RR_CHECK(in) \
  if (!Core::reg(in.a1) || !Core::reg(in.a2)) return Effect::bad_register

// One function per row of isa/toy/opcodes.def, named by its mnemonic.
struct Ops {
  static Effect HLT(Core&, isa::Insn) { return Effect::halt; }
  static Effect LDI(Core& c, isa::Insn in) {
    if (!Core::reg(in.a1)) return Effect::bad_register;
    c.R(in.a1) = in.a2;
    return Effect::next;
  }
  static Effect MOV(Core& c, isa::Insn in) {
    CPUSIM_RR_CHECK(in);
    c.R(in.a1) = c.R(in.a2);
    return Effect::next;
  }
  static Effect LD(Core& c, isa::Insn in) {
    if (!Core::reg(in.a1)) return Effect::bad_register;
    c.R(in.a1) = c.M(in.a2);
    return Effect::next;
  }
  static Effect ST(Core& c, isa::Insn in) {
    if (!Core::reg(in.a2)) return Effect::bad_register;
    c.M(in.a1) = c.R(in.a2);
    return Effect::next;
  }
  static Effect LDR(Core& c, isa::Insn in) {
    CPUSIM_RR_CHECK(in);
    c.R(in.a1) = c.M(c.R(in.a2));
    return Effect::next;
  }
  static Effect STR(Core& c, isa::Insn in) {
    CPUSIM_RR_CHECK(in);
    c.M(c.R(in.a1)) = c.R(in.a2);
    return Effect::next;
  }
  static Effect ADD(Core& c, isa::Insn in) {
    if (!Core::reg(in.a2)) return Effect::bad_register;
    return c.alu(in.a1, c.R(in.a2), add);
  }
  static Effect SUB(Core& c, isa::Insn in) {
    if (!Core::reg(in.a2)) return Effect::bad_register;
    return c.alu(in.a1, c.R(in.a2), sub);
  }
  static Effect AND(Core& c, isa::Insn in) {
    if (!Core::reg(in.a2)) return Effect::bad_register;
    return c.alu(in.a1, c.R(in.a2), [](unsigned x, unsigned y, bool&) { return uint8_t(x & y); });
  }
  static Effect OR(Core& c, isa::Insn in) {
    if (!Core::reg(in.a2)) return Effect::bad_register;
    return c.alu(in.a1, c.R(in.a2), [](unsigned x, unsigned y, bool&) { return uint8_t(x | y); });
  }
  static Effect XOR(Core& c, isa::Insn in) {
    if (!Core::reg(in.a2)) return Effect::bad_register;
    return c.alu(in.a1, c.R(in.a2), [](unsigned x, unsigned y, bool&) { return uint8_t(x ^ y); });
  }
  static Effect ADDI(Core& c, isa::Insn in) { return c.alu(in.a1, in.a2, add); }
  static Effect INC(Core& c, isa::Insn in) { return c.alu(in.a1, 1, add); }
  static Effect DEC(Core& c, isa::Insn in) { return c.alu(in.a1, 1, sub); }
  static Effect SHL(Core& c, isa::Insn in) {
    return c.alu(in.a1, 0, [](unsigned x, unsigned, bool& cy) { cy = x & 0x80; return uint8_t(x << 1); });
  }
  static Effect SHR(Core& c, isa::Insn in) {
    return c.alu(in.a1, 0, [](unsigned x, unsigned, bool& cy) { cy = x & 1; return uint8_t(x >> 1); });
  }
  static Effect CMP(Core& c, isa::Insn in) {
    if (!Core::reg(in.a2)) return Effect::bad_register;
    return c.alu(in.a1, c.R(in.a2), sub, /*write=*/false);
  }
  static Effect CMPI(Core& c, isa::Insn in) { return c.alu(in.a1, in.a2, sub, /*write=*/false); }
  static Effect JMP(Core& c, isa::Insn in) { return c.jump_if(true, in.a1); }
  static Effect JZ(Core& c, isa::Insn in) { return c.jump_if(c.zero(), in.a1); }
  static Effect JNZ(Core& c, isa::Insn in) { return c.jump_if(!c.zero(), in.a1); }
  static Effect JC(Core& c, isa::Insn in) { return c.jump_if(c.carry(), in.a1); }
  static Effect JNC(Core& c, isa::Insn in) { return c.jump_if(!c.carry(), in.a1); }
};
#undef CPUSIM_RR_CHECK

inline Effect execute(Core& c, isa::Insn in, bool& bad_opcode) {
  switch (in.op) {
#define CPUSIM_OP(code, name, forms, cat) \
  case code: return Ops::name(c, in);
#include "isa/toy/opcodes.def"
#undef CPUSIM_OP
    default: bad_opcode = true; return Effect::halt;
  }
}

// Runs from `state` (16 + data_size bytes, updated in place) over the program image `prog`
// (a power of 2 bytes). The PC wraps at the end of the image.
template <class Sink>
Outcome run(std::span<const uint8_t> prog, uint8_t* state, unsigned data_size, uint32_t step_limit,
            Sink&& sink) {
  const unsigned slots = unsigned(prog.size() / isa::kInsnBytes);
  Core c{state, data_size - 1, slots - 1};
  Outcome out;
  sink(static_cast<const uint8_t*>(state));
  for (uint32_t step = 0; step < step_limit; ++step) {
    const unsigned pc = state[isa::kPC];
    out.pc = uint8_t(pc);
    if (pc >= slots) {
      out.stop = Stop::fault;
      out.fault = isa::Fault::bad_pc;
      return out;
    }
    const uint8_t* ip = prog.data() + pc * isa::kInsnBytes;
    std::memcpy(state + isa::kIR, ip, isa::kInsnBytes);
    state[isa::kPC] = uint8_t((pc + 1) & c.pc_mask);
    out.steps = step + 1;
    sink(static_cast<const uint8_t*>(state));
    const isa::Insn in = isa::insn_at(ip);
    if (step + 1 == step_limit && in.op != 0) break;  // its effect would never be recorded
    bool bad_opcode = false;
    const Effect e = execute(c, in, bad_opcode);
    if (e == Effect::next) continue;
    out.insn = in;
    if (bad_opcode || e == Effect::bad_register) {
      out.stop = Stop::fault;
      out.fault = bad_opcode ? isa::Fault::bad_opcode : isa::Fault::bad_register;
    } else {
      out.stop = Stop::halted;
    }
    return out;
  }
  out.stop = Stop::step_limit;
  out.insn = isa::insn_at(state + isa::kIR);
  return out;
}

}  // namespace toy

// ---------------------------------------------------------------------------------------------
// Profile-generic entry points.

// Runs from `image` (image_bytes(c)) and `init` (state_bytes(c)), appending every recorded
// state, the initial one first, to `states`. Throws cpusim::Error on a size mismatch only;
// faults come back in the Outcome.
Outcome run(const isa::Config& c, std::span<const uint8_t> image, std::span<const uint8_t> init,
            std::vector<uint8_t>& states);

// As run(), but appends the trace file's bytes: the image, then the states.
Outcome run_trace(const isa::Config& c, std::span<const uint8_t> image,
                  std::span<const uint8_t> init, std::vector<uint8_t>& trace);

// "invalid opcode at PC 3: bytes 19 00 00 00 (.insn 0x19 ...)"; empty when no fault.
std::string describe_fault(isa::Profile p, const Outcome& o);

// The initial state the paper's machine starts from: PC = 0, IR = 0, ACC/FLAGS and the rest
// as given (zeros by default).
std::vector<uint8_t> zero_state(const isa::Config& c);

}  // namespace cpusim::emu
