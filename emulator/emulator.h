// emulator/emulator.h: the reference interpreter for both ISA profiles. The run loops are
// templates over a Sink that receives each recorded state (after fetch, before execute, as in
// the paper's simulator); they never print, allocate or touch files. Faults come back in an
// Outcome; emulator.cpp turns them into messages.
#pragma once

#include <algorithm>
#include <array>
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
  uint8_t pc = 0;      // index of the last fetched instruction (the faulting one on a fault)
  isa::Insn insn;      // its bytes
  uint32_t steps = 0;  // instructions fetched: the trace holds steps + 1 states
};

// What one instruction's semantics report back to the run loop.
enum class Effect : uint8_t { next, halt, bad_register };

// A sink that records nothing.
struct NoSink {
  void operator()(const uint8_t*) const {}
};

// Called after each executed instruction with the state, the instruction and its effect; returns
// the effect to act on. The default changes nothing and compiles away; the cross-checker's
// mutation self-test passes one that deliberately breaks one opcode and form.
struct NoAfter {
  Effect operator()(uint8_t*, isa::Insn, Effect e) const { return e; }
};

// ---------------------------------------------------------------------------------------------
// bgpt: state bytes [PC, ACC, IR0..IR3, A..J]; R(x) for x in 1..10 is byte 5 + x. The run loop
// works on a 32-byte copy whose byte 16 is a scratch slot: invalid operands are routed there, so
// operand routing needs no branches (random programs make every branch unpredictable).
namespace bgpt {

inline constexpr uint8_t kScratch = 16;

// Operand value -> state offset: registers 1..10; everything else the scratch slot.
inline constexpr auto kReg = [] {
  std::array<uint8_t, 256> t{};
  for (int v = 0; v < 256; ++v) t[v] = uint8_t(v >= 1 && v <= 10 ? isa::kRegs - 1 + v : kScratch);
  return t;
}();
// The same, with 0 meaning ACC (the unary ops' target).
inline constexpr auto kTarget = [] {
  auto t = kReg;
  t[0] = isa::kAcc;
  return t;
}();

// c ? a : b without a branch: in random programs forms and operand values are coin flips, and
// compilers turn ternaries into branches that then mispredict half the time.
inline uint8_t sel(bool c, uint8_t a, uint8_t b) { return uint8_t(b ^ ((a ^ b) & -unsigned(c))); }
// min(v, 255) for v < 65536, branch-free.
inline uint8_t sat255(unsigned v) { return uint8_t(v | -unsigned((v >> 8) != 0)); }

// Opcode categories, from the table's category column.
enum class Category : uint8_t { control, unary, binary, move };
inline constexpr Category kCategory[] = {
#define CPUSIM_OP(code, name, forms, cat) Category::cat,
#include "isa/bgpt/opcodes.def"
#undef CPUSIM_OP
};
inline constexpr int kNumOps = int(std::size(kCategory));
// Opcode codes by mnemonic, from the table's code column (Op::PUSH == 9).
enum class Op : uint8_t {
#define CPUSIM_OP(code, name, forms, cat) name = code,
#include "isa/bgpt/opcodes.def"
#undef CPUSIM_OP
};

// ceil(65536 / y): (x * kRecip[y]) >> 16 == x / y for all 8-bit x and y >= 1 (checked by a test).
inline constexpr auto kRecip = [] {
  std::array<uint32_t, 256> t{};
  for (uint32_t y = 1; y < 256; ++y) t[y] = (65536 + y - 1) / y;
  return t;
}();

// The value each row of the table computes from its operand values x and y (unary rows use x
// only; moves pass x through and differ only in where x comes from and goes to).
struct Sem {
  static uint8_t HLT(unsigned, unsigned) { return 0; }
  static uint8_t CLR(unsigned, unsigned) { return 0; }
  static uint8_t INC(unsigned x, unsigned) { return sat255(x + 1); }
  static uint8_t DEC(unsigned x, unsigned) { return uint8_t(x - (x != 0)); }
  static uint8_t SHL(unsigned x, unsigned) { return uint8_t(x << 1); }
  static uint8_t SHR(unsigned x, unsigned) { return uint8_t(x >> 1); }
  static uint8_t ROL(unsigned x, unsigned) { return uint8_t(x << 1 | x >> 7); }
  static uint8_t ROR(unsigned x, unsigned) { return uint8_t(x >> 1 | x << 7); }
  static uint8_t NOT(unsigned x, unsigned) { return uint8_t(~x); }
  static uint8_t PUSH(unsigned x, unsigned) { return uint8_t(x); }
  static uint8_t POP(unsigned x, unsigned) { return uint8_t(x); }
  static uint8_t LOADI(unsigned x, unsigned) { return uint8_t(x); }
  static uint8_t SWAP(unsigned x, unsigned) { return uint8_t(x); }
  static uint8_t ADD(unsigned x, unsigned y) { return sat255(x + y); }
  static uint8_t SUB(unsigned x, unsigned y) { return uint8_t((x - y) & -unsigned(x > y)); }
  static uint8_t MUL(unsigned x, unsigned y) { return sat255(x * y); }
  static uint8_t DIV(unsigned x, unsigned y) {
    return sel(y == 0, 255, uint8_t((x * kRecip[y]) >> 16));
  }
  static uint8_t AND(unsigned x, unsigned y) { return uint8_t(x & y); }
  static uint8_t OR(unsigned x, unsigned y) { return uint8_t(x | y); }
  static uint8_t XOR(unsigned x, unsigned y) { return uint8_t(x ^ y); }
  static uint8_t MOV(unsigned x, unsigned) { return uint8_t(x); }
};

// Executes one instruction on `s` (state + scratch): one indirect jump on the opcode, then
// branch-free operand routing.
template <Category C>
inline Effect exec(uint8_t* s, isa::Insn in, uint8_t (*f)(unsigned, unsigned));

template <>
inline Effect exec<Category::unary>(uint8_t* s, isa::Insn in, uint8_t (*f)(unsigned, unsigned)) {
  const uint8_t d = kTarget[in.a1];  // ACC when a1 == 0, else R(a1)
  s[d] = f(s[d], 0);
  return d == kScratch ? Effect::bad_register : Effect::next;
}

template <>
inline Effect exec<Category::binary>(uint8_t* s, isa::Insn in, uint8_t (*f)(unsigned, unsigned)) {
  // a2 == 0: ACC = ACC op R(a1); a3 == 0: R(a1) = R(a1) op R(a2); else R(a3) = R(a1) op R(a2).
  const bool one = in.a2 == 0, two = in.a3 == 0;
  const uint8_t r1 = kReg[in.a1], r2 = kReg[in.a2], r3 = kReg[in.a3];
  const bool bad = (r1 == kScratch) | (!one & (r2 == kScratch)) | (!one & !two & (r3 == kScratch));
  const uint8_t x = sel(one, isa::kAcc, r1);
  const uint8_t y = sel(one, r1, r2);
  const uint8_t d = sel(bad, kScratch, sel(one, isa::kAcc, sel(two, r1, r3)));
  s[d] = f(s[x], s[y]);
  return bad ? Effect::bad_register : Effect::next;
}

template <>
inline Effect exec<Category::control>(uint8_t*, isa::Insn, uint8_t (*)(unsigned, unsigned)) {
  return Effect::halt;  // HLT
}

inline Effect exec_move(uint8_t* s, isa::Insn in);

template <>
inline Effect exec<Category::move>(uint8_t* s, isa::Insn in, uint8_t (*)(unsigned, unsigned)) {
  return exec_move(s, in);
}

inline Effect execute(uint8_t* s, isa::Insn in, bool& bad_opcode) {
  switch (in.op) {
#define CPUSIM_OP(code, name, forms, cat) \
  case code:                              \
    return exec<Category::cat>(s, in, Sem::name);
#include "isa/bgpt/opcodes.def"
#undef CPUSIM_OP
  }
  bad_opcode = true;
  return Effect::halt;
}

// PUSH, POP, LOADI, SWAP, MOV: each routes its operands its own way.
inline Effect exec_move(uint8_t* s, isa::Insn in) {
  const uint8_t r1 = kReg[in.a1], r2 = kReg[in.a2];
  switch (in.op) {
    case uint8_t(Op::PUSH):  // ACC = R(a1)
      s[isa::kAcc] = Sem::PUSH(s[r1], 0);
      return r1 == kScratch ? Effect::bad_register : Effect::next;
    case uint8_t(Op::POP):  // R(a1) = ACC
      s[r1] = Sem::POP(s[isa::kAcc], 0);
      return r1 == kScratch ? Effect::bad_register : Effect::next;
    case uint8_t(Op::LOADI):  // ACC = a1
      s[isa::kAcc] = Sem::LOADI(in.a1, 0);
      return Effect::next;
    case uint8_t(Op::SWAP): {  // a2 == 0: ACC <-> R(a1); else R(a1) <-> R(a2)
      const bool one = in.a2 == 0;
      const bool bad = (r1 == kScratch) | (!one & (r2 == kScratch));
      const uint8_t p = sel(bad, kScratch, sel(one, isa::kAcc, r1));
      const uint8_t q = sel(bad, kScratch, sel(one, r1, r2));
      const uint8_t vp = s[p], vq = s[q];
      s[p] = Sem::SWAP(vq, 0);
      s[q] = Sem::SWAP(vp, 0);
      return bad ? Effect::bad_register : Effect::next;
    }
    case uint8_t(Op::MOV): {  // R(a1) = R(a2)
      const bool bad = (r1 == kScratch) | (r2 == kScratch);
      s[sel(bad, kScratch, r1)] = Sem::MOV(s[r2], 0);
      return bad ? Effect::bad_register : Effect::next;
    }
  }
  return Effect::bad_register;  // a move row without a case above (tests run every row)
}

// Runs from `state` (16 bytes, updated in place) over `mem` (the whole memory, program at 0).
// `sink(state)` sees the initial state and the state after every fetch.
template <class Sink, class After = NoAfter>
Outcome run(std::span<const uint8_t> mem, uint8_t* state, uint32_t step_limit, Sink&& sink,
            After&& after = {}) {
  const unsigned slots = std::min(unsigned(mem.size() / isa::kInsnBytes), 256u);
  const unsigned cap = slots - 1;  // the PC never passes this
  alignas(32) uint8_t work[32] = {};
  std::memcpy(work, state, 16);
  struct WriteBack {
    uint8_t* to;
    const uint8_t* from;
    ~WriteBack() { std::memcpy(to, from, 16); }
  } write_back{state, work};
  state = work;
  Outcome out;
  sink(static_cast<const uint8_t*>(state));
  // The PC lives in a register: reloading it from the state array (which the semantics write
  // through computed offsets) would put a store-to-load round trip before every dispatch.
  unsigned pc = state[isa::kPC];
  if (step_limit > 0 && pc > cap) {  // after a fetch the PC never passes the cap
    out.pc = uint8_t(pc);
    out.stop = Stop::fault;
    out.fault = isa::Fault::bad_pc;
    return out;
  }
  // Each instruction's bytes are loaded one step ahead (the program never changes), so the
  // dispatch jump waits only for its table entry, not for a load behind the previous jump.
  isa::Insn in = isa::insn_at(mem.data() + (pc < cap ? pc : cap) * isa::kInsnBytes);
  for (uint32_t step = 0; step < step_limit; ++step) {
    out.pc = uint8_t(pc);
    std::memcpy(state + isa::kIR, mem.data() + pc * isa::kInsnBytes, isa::kInsnBytes);
    pc = isa::next_pc(isa::Profile::bgpt, slots, pc);
    state[isa::kPC] = uint8_t(pc);
    out.steps = step + 1;
    sink(static_cast<const uint8_t*>(state));
    const isa::Insn next = isa::insn_at(mem.data() + pc * isa::kInsnBytes);
    bool bad_opcode = false;
    Effect e = execute(state, in, bad_opcode);
    if (!bad_opcode) e = after(state, in, e);
    if (e == Effect::next) {
      in = next;
      continue;
    }
    // Written out in both loops: a shared helper taking the Outcome cost the toy loop a third
    // of its speed (bench_emulator: 286 M -> 190 M instructions/s).
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

inline uint8_t add(unsigned x, unsigned y, bool& c) {
  c = x + y > 255;
  return uint8_t(x + y);
}
inline uint8_t sub(unsigned x, unsigned y, bool& c) {
  c = x < y;
  return uint8_t(x - y);
}

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
    return c.alu(in.a1, 0, [](unsigned x, unsigned, bool& cy) {
      cy = x & 0x80;
      return uint8_t(x << 1);
    });
  }
  static Effect SHR(Core& c, isa::Insn in) {
    return c.alu(in.a1, 0, [](unsigned x, unsigned, bool& cy) {
      cy = x & 1;
      return uint8_t(x >> 1);
    });
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
  case code:                              \
    return Ops::name(c, in);
#include "isa/toy/opcodes.def"
#undef CPUSIM_OP
    default:
      bad_opcode = true;
      return Effect::halt;
  }
}

// Runs from `state` (16 + data_size bytes, updated in place) over the program image `prog`
// (a power of 2 bytes). The PC wraps at the end of the image.
template <class Sink, class After = NoAfter>
Outcome run(std::span<const uint8_t> prog, uint8_t* state, unsigned data_size, uint32_t step_limit,
            Sink&& sink, After&& after = {}) {
  const unsigned slots = unsigned(prog.size() / isa::kInsnBytes);
  Core c{state, data_size - 1, slots - 1};
  Outcome out;
  sink(static_cast<const uint8_t*>(state));
  for (uint32_t step = 0; step < step_limit; ++step) {
    const unsigned pc = state[isa::kPC];  // branches write it
    out.pc = uint8_t(pc);
    if (pc >= slots) {
      out.stop = Stop::fault;
      out.fault = isa::Fault::bad_pc;
      return out;
    }
    const uint8_t* ip = prog.data() + pc * isa::kInsnBytes;
    std::memcpy(state + isa::kIR, ip, isa::kInsnBytes);
    state[isa::kPC] = uint8_t(isa::next_pc(isa::Profile::toy, slots, pc));
    out.steps = step + 1;
    sink(static_cast<const uint8_t*>(state));
    const isa::Insn in = isa::insn_at(ip);
    if (step + 1 == step_limit && in.op != 0) break;  // its effect would never be recorded
    bool bad_opcode = false;
    Effect e = execute(c, in, bad_opcode);
    if (!bad_opcode) e = after(state, in, e);
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

// A deliberately wrong variant of one (opcode, form)'s semantics, for the cross-checker's
// mutation self-test: after such an instruction executes, bit 0 of one state byte is flipped
// (the first byte it changed; else its first register operand, the PC for a branch, or
// ACC/FLAGS), and a mutated HLT does not halt. Never active unless passed to run_mutant().
// With edge_only, only when that byte's correct new value is 0 or 255 (for a branch: when a flag
// is set), like a bug at a saturation or wrap-around boundary: caught only if the generated
// programs reach that boundary.
struct Mutation {
  uint8_t op;
  isa::Form form;
  bool edge_only = false;
};
Outcome run_mutant(const isa::Config& c, std::span<const uint8_t> image,
                   std::span<const uint8_t> init, std::vector<uint8_t>& states, const Mutation& m);

// "invalid opcode at PC 3: bytes 19 00 00 00 (.insn 0x19 ...)"; empty when no fault.
std::string describe_fault(isa::Profile p, const Outcome& o);

// The initial state the paper's machine starts from: PC = 0, IR = 0, ACC/FLAGS and the rest
// as given (zeros by default).
std::vector<uint8_t> zero_state(const isa::Config& c);

}  // namespace cpusim::emu
