// emulator/lower.cpp: one lowering function per opcode-table row, per profile.
#include "emulator/lower.h"

#include "emulator/a64.h"

namespace cpusim::lower {

using namespace a64;

namespace {

constexpr Reg W0 = 0, W1 = 1;

struct Emitter {
  const isa::Config& c;
  Program& p;
  unsigned slot;
  void put(uint32_t w) { p.code.push_back(w); }
  uint64_t here() const { return p.base + 4 * p.code.size(); }
  // Branch to the stub of `target` (or to exit).
  void b_stub(unsigned target) { put(b(int64_t(p.stub(target)) - int64_t(here()))); }
  void b_next() { b_stub(isa::next_pc(c, slot)); }
  void b_exit() { put(b(int64_t(p.exit) - int64_t(here()))); }
};

// ---- bgpt ----------------------------------------------------------------------------------
// Register operand v (1..10) -> host register; unary target a1 == 0 -> ACC.
Reg breg(uint8_t v) { return kRegBase + v - 1; }
Reg btarget(uint8_t v) { return v == 0 ? kAccZ : breg(v); }

// Binary operands by form: returns {x, y, d}.
struct XYD {
  Reg x, y, d;
};
XYD binary_operands(isa::Insn in) {
  if (in.a2 == 0) return {kAccZ, breg(in.a1), kAccZ};
  if (in.a3 == 0) return {breg(in.a1), breg(in.a2), breg(in.a1)};
  return {breg(in.a1), breg(in.a2), breg(in.a3)};
}

struct Bgpt {
  static void HLT(Emitter& e, isa::Insn) { e.b_exit(); }
  static void CLR(Emitter& e, isa::Insn in) { e.put(movz(btarget(in.a1), 0)); }
  static void INC(Emitter& e, isa::Insn in) {
    const Reg t = btarget(in.a1);
    e.put(add_imm(W0, t, 1));
    e.put(cmp_imm(W0, 255));
    e.put(csel(t, k255, W0, HI));  // 256 -> 255
  }
  static void DEC(Emitter& e, isa::Insn in) {
    const Reg t = btarget(in.a1);
    e.put(subs_imm(W0, t, 1));
    e.put(csel(t, W0, kZr, HS));  // borrow -> 0
  }
  static void SHL(Emitter& e, isa::Insn in) {
    const Reg t = btarget(in.a1);
    e.put(lsl(W0, t, 1));
    e.put(and_mask(t, W0, 8));
  }
  static void SHR(Emitter& e, isa::Insn in) { e.put(lsr(btarget(in.a1), btarget(in.a1), 1)); }
  static void ROL(Emitter& e, isa::Insn in) {
    const Reg t = btarget(in.a1);
    e.put(lsl(W0, t, 1));
    e.put(lsr(W1, t, 7));
    e.put(orr(W0, W0, W1));
    e.put(and_mask(t, W0, 8));
  }
  static void ROR(Emitter& e, isa::Insn in) {
    const Reg t = btarget(in.a1);
    e.put(lsr(W0, t, 1));
    e.put(lsl(W1, t, 7));
    e.put(orr(W0, W0, W1));
    e.put(and_mask(t, W0, 8));
  }
  static void NOT(Emitter& e, isa::Insn in) { e.put(eor_mask(btarget(in.a1), btarget(in.a1), 8)); }
  static void PUSH(Emitter& e, isa::Insn in) { e.put(mov(kAccZ, breg(in.a1))); }
  static void POP(Emitter& e, isa::Insn in) { e.put(mov(breg(in.a1), kAccZ)); }
  static void LOADI(Emitter& e, isa::Insn in) { e.put(movz(kAccZ, in.a1)); }
  static void SWAP(Emitter& e, isa::Insn in) {
    const Reg p = in.a2 == 0 ? kAccZ : breg(in.a1), q = in.a2 == 0 ? breg(in.a1) : breg(in.a2);
    e.put(mov(W0, p));
    e.put(mov(p, q));
    e.put(mov(q, W0));
  }
  static void ADD(Emitter& e, isa::Insn in) {
    const XYD o = binary_operands(in);
    e.put(add(W0, o.x, o.y));
    e.put(cmp_imm(W0, 255));
    e.put(csel(o.d, k255, W0, HI));
  }
  static void SUB(Emitter& e, isa::Insn in) {
    const XYD o = binary_operands(in);
    e.put(subs(W0, o.x, o.y));
    e.put(csel(o.d, W0, kZr, HS));
  }
  static void MUL(Emitter& e, isa::Insn in) {
    const XYD o = binary_operands(in);
    e.put(mul(W0, o.x, o.y));
    e.put(cmp_imm(W0, 255));
    e.put(csel(o.d, k255, W0, HI));
  }
  static void DIV(Emitter& e, isa::Insn in) {
    const XYD o = binary_operands(in);
    e.put(udiv(W0, o.x, o.y));  // A64 gives 0 for a zero divisor: replaced by 255 below
    e.put(cmp_imm(o.y, 0));
    e.put(csel(o.d, k255, W0, EQ));
  }
  static void AND(Emitter& e, isa::Insn in) {
    const XYD o = binary_operands(in);
    e.put(and_(o.d, o.x, o.y));
  }
  static void OR(Emitter& e, isa::Insn in) {
    const XYD o = binary_operands(in);
    e.put(orr(o.d, o.x, o.y));
  }
  static void XOR(Emitter& e, isa::Insn in) {
    const XYD o = binary_operands(in);
    e.put(eor(o.d, o.x, o.y));
  }
  static void MOV(Emitter& e, isa::Insn in) { e.put(mov(breg(in.a1), breg(in.a2))); }
};

// ---- toy -----------------------------------------------------------------------------------
Reg treg(uint8_t v) { return kRegBase + v; }
uint32_t log2u(unsigned v) {
  uint32_t k = 0;
  while ((1u << k) < v) ++k;
  return k;
}

struct Toy {
  // Z from a register holding an 8-bit result.
  static void set_z(Emitter& e, Reg r) {
    e.put(cmp_imm(r, 0));
    e.put(cset(kAccZ, EQ));
  }
  // Rd = W0 & 255 with C = bit 8 of W0 and Z.
  static void finish_add(Emitter& e, Reg d) {
    e.put(lsr(kCarry, W0, 8));
    e.put(and_mask(d, W0, 8));
    set_z(e, d);
  }
  static void HLT(Emitter& e, isa::Insn) { e.b_exit(); }
  static void LDI(Emitter& e, isa::Insn in) { e.put(movz(treg(in.a1), in.a2)); }
  static void MOV(Emitter& e, isa::Insn in) { e.put(mov(treg(in.a1), treg(in.a2))); }
  static void LD(Emitter& e, isa::Insn in) {
    e.put(ldrb_imm(treg(in.a1), kData, in.a2 & (e.c.memory_size - 1)));
  }
  static void ST(Emitter& e, isa::Insn in) {
    e.put(strb_imm(treg(in.a2), kData, in.a1 & (e.c.memory_size - 1)));
  }
  static void LDR(Emitter& e, isa::Insn in) {
    e.put(and_mask(W0, treg(in.a2), log2u(e.c.memory_size)));
    e.put(ldrb_reg(treg(in.a1), kData, W0));
  }
  static void STR(Emitter& e, isa::Insn in) {
    e.put(and_mask(W0, treg(in.a1), log2u(e.c.memory_size)));
    e.put(strb_reg(treg(in.a2), kData, W0));
  }
  static void ADD(Emitter& e, isa::Insn in) {
    e.put(add(W0, treg(in.a1), treg(in.a2)));
    finish_add(e, treg(in.a1));
  }
  static void SUB(Emitter& e, isa::Insn in) {
    e.put(cmp(treg(in.a1), treg(in.a2)));
    e.put(cset(kCarry, LO));  // borrow
    e.put(sub(W0, treg(in.a1), treg(in.a2)));
    e.put(and_mask(treg(in.a1), W0, 8));
    set_z(e, treg(in.a1));
  }
  static void logic(Emitter& e, uint32_t word) {
    e.put(word);
    e.put(movz(kCarry, 0));
  }
  static void AND(Emitter& e, isa::Insn in) {
    logic(e, and_(treg(in.a1), treg(in.a1), treg(in.a2)));
    set_z(e, treg(in.a1));
  }
  static void OR(Emitter& e, isa::Insn in) {
    logic(e, orr(treg(in.a1), treg(in.a1), treg(in.a2)));
    set_z(e, treg(in.a1));
  }
  static void XOR(Emitter& e, isa::Insn in) {
    logic(e, eor(treg(in.a1), treg(in.a1), treg(in.a2)));
    set_z(e, treg(in.a1));
  }
  static void ADDI(Emitter& e, isa::Insn in) {
    e.put(add_imm(W0, treg(in.a1), in.a2));
    finish_add(e, treg(in.a1));
  }
  static void INC(Emitter& e, isa::Insn in) {
    e.put(add_imm(W0, treg(in.a1), 1));
    finish_add(e, treg(in.a1));
  }
  static void DEC(Emitter& e, isa::Insn in) {
    e.put(cmp_imm(treg(in.a1), 0));
    e.put(cset(kCarry, EQ));
    e.put(sub_imm(W0, treg(in.a1), 1));
    e.put(and_mask(treg(in.a1), W0, 8));
    set_z(e, treg(in.a1));
  }
  static void SHL(Emitter& e, isa::Insn in) {
    e.put(lsr(kCarry, treg(in.a1), 7));
    e.put(lsl(W0, treg(in.a1), 1));
    e.put(and_mask(treg(in.a1), W0, 8));
    set_z(e, treg(in.a1));
  }
  static void SHR(Emitter& e, isa::Insn in) {
    e.put(and_mask(kCarry, treg(in.a1), 1));
    e.put(lsr(treg(in.a1), treg(in.a1), 1));
    set_z(e, treg(in.a1));
  }
  static void compare(Emitter& e, uint32_t cmp_word, uint32_t sub_word) {
    e.put(cmp_word);
    e.put(cset(kCarry, LO));
    e.put(sub_word);
    e.put(and_mask(W0, W0, 8));
    set_z(e, W0);
  }
  static void CMP(Emitter& e, isa::Insn in) {
    compare(e, cmp(treg(in.a1), treg(in.a2)), sub(W0, treg(in.a1), treg(in.a2)));
  }
  static void CMPI(Emitter& e, isa::Insn in) {
    compare(e, cmp_imm(treg(in.a1), in.a2), sub_imm(W0, treg(in.a1), in.a2));
  }
  static unsigned target(Emitter& e, isa::Insn in) {
    return in.a1 & (isa::program_capacity(e.c) - 1);
  }
  // cbz/cbnz over the taken branch when the condition fails, then the taken branch.
  static void jump_unless(Emitter& e, bool skip_if_zero, Reg flag, isa::Insn in) {
    e.put(skip_if_zero ? cbz(flag, 8) : cbnz(flag, 8));
    e.b_stub(target(e, in));
  }
  static void JMP(Emitter& e, isa::Insn in) { e.b_stub(target(e, in)); }
  static void JZ(Emitter& e, isa::Insn in) { jump_unless(e, true, kAccZ, in); }
  static void JNZ(Emitter& e, isa::Insn in) { jump_unless(e, false, kAccZ, in); }
  static void JC(Emitter& e, isa::Insn in) { jump_unless(e, true, kCarry, in); }
  static void JNC(Emitter& e, isa::Insn in) { jump_unless(e, false, kCarry, in); }
};

void lower_insn(Emitter& e, isa::Insn in) {
  if (e.c.profile == isa::Profile::bgpt) {
    switch (in.op) {
#define CPUSIM_OP(code, name, forms, cat) \
  case code:                              \
    Bgpt::name(e, in);                    \
    return;
#include "isa/bgpt/opcodes.def"
#undef CPUSIM_OP
    }
  } else {
    switch (in.op) {
#define CPUSIM_OP(code, name, forms, cat) \
  case code:                              \
    Toy::name(e, in);                     \
    return;
#include "isa/toy/opcodes.def"
#undef CPUSIM_OP
    }
  }
}

}  // namespace

Program lower(const isa::Config& c, std::span<const uint8_t> image, uint64_t base) {
  Program p;
  p.base = base;
  const unsigned slots = isa::program_capacity(c);
  p.code.assign(slots * kStubBytes / 4, 0);  // stubs, filled below
  p.exit = p.base + 4 * p.code.size();
  p.code.push_back(nop());
  p.block.resize(slots);
  for (unsigned i = 0; i < slots; ++i) {
    p.block[i] = p.base + 4 * p.code.size();
    Emitter e{c, p, i};
    const isa::Insn in = isa::insn_at(image.data() + i * isa::kInsnBytes);
    if (isa::check(c.profile, in) != isa::Fault::none) {
      e.put(movz(kFault, 1));
      e.b_exit();
      continue;
    }
    lower_insn(e, in);
    if (in.op != 0) e.b_next();  // (unreachable after JMP; HLT is code 0 in both tables)
  }
  for (unsigned j = 0; j < slots; ++j) {
    const size_t w = j * kStubBytes / 4;
    const uint64_t at = p.stub(j);
    p.code[w] = ldr_w(kIr, kProg, 4 * j);
    p.code[w + 1] = movz(kPc, isa::next_pc(c, j));
    p.code[w + 2] = b(int64_t(p.block[j]) - int64_t(at + 8));
  }
  return p;
}

}  // namespace cpusim::lower
