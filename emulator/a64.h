// emulator/a64.h: an encoder for the few AArch64 instructions the Unicorn lowering emits (32-bit
// W-register forms, byte loads/stores, branches). Each function returns one 32-bit instruction
// word; encodings follow the Arm A64 instruction set reference. Not a general assembler.
#pragma once

#include <cstdint>

namespace cpusim::a64 {

using Reg = uint32_t;           // 0..30; 31 is WZR/XZR (or SP where noted)
inline constexpr Reg kZr = 31;  // zero register

enum Cond : uint32_t { EQ = 0, NE = 1, HS = 2, LO = 3, HI = 8, LS = 9, AL = 14 };

inline uint32_t movz(Reg d, uint32_t imm16) { return 0x52800000u | (imm16 & 0xffff) << 5 | d; }
inline uint32_t add_imm(Reg d, Reg n, uint32_t imm12) {
  return 0x11000000u | (imm12 & 0xfff) << 10 | n << 5 | d;
}
inline uint32_t sub_imm(Reg d, Reg n, uint32_t imm12) {
  return 0x51000000u | (imm12 & 0xfff) << 10 | n << 5 | d;
}
inline uint32_t subs_imm(Reg d, Reg n, uint32_t imm12) {
  return 0x71000000u | (imm12 & 0xfff) << 10 | n << 5 | d;
}
inline uint32_t cmp_imm(Reg n, uint32_t imm12) { return subs_imm(kZr, n, imm12); }
inline uint32_t add(Reg d, Reg n, Reg m) { return 0x0B000000u | m << 16 | n << 5 | d; }
inline uint32_t sub(Reg d, Reg n, Reg m) { return 0x4B000000u | m << 16 | n << 5 | d; }
inline uint32_t subs(Reg d, Reg n, Reg m) { return 0x6B000000u | m << 16 | n << 5 | d; }
inline uint32_t cmp(Reg n, Reg m) { return subs(kZr, n, m); }
inline uint32_t and_(Reg d, Reg n, Reg m) { return 0x0A000000u | m << 16 | n << 5 | d; }
inline uint32_t orr(Reg d, Reg n, Reg m) { return 0x2A000000u | m << 16 | n << 5 | d; }
inline uint32_t eor(Reg d, Reg n, Reg m) { return 0x4A000000u | m << 16 | n << 5 | d; }
inline uint32_t mov(Reg d, Reg m) { return orr(d, kZr, m); }
// AND / EOR with the immediate 2^bits - 1 (bits 1..31): logical immediate N=0, immr=0, imms=bits-1.
inline uint32_t and_mask(Reg d, Reg n, uint32_t bits) {
  return 0x12000000u | (bits - 1) << 10 | n << 5 | d;
}
inline uint32_t eor_mask(Reg d, Reg n, uint32_t bits) {
  return 0x52000000u | (bits - 1) << 10 | n << 5 | d;
}
// UBFM-based shifts of 32-bit registers.
inline uint32_t ubfm(Reg d, Reg n, uint32_t immr, uint32_t imms) {
  return 0x53000000u | immr << 16 | imms << 10 | n << 5 | d;
}
inline uint32_t lsl(Reg d, Reg n, uint32_t s) { return ubfm(d, n, (32 - s) & 31, 31 - s); }
inline uint32_t lsr(Reg d, Reg n, uint32_t s) { return ubfm(d, n, s, 31); }
inline uint32_t mul(Reg d, Reg n, Reg m) { return 0x1B007C00u | m << 16 | n << 5 | d; }
inline uint32_t udiv(Reg d, Reg n, Reg m) { return 0x1AC00800u | m << 16 | n << 5 | d; }
inline uint32_t csel(Reg d, Reg n, Reg m, Cond c) {
  return 0x1A800000u | m << 16 | uint32_t(c) << 12 | n << 5 | d;
}
// CSET Wd, cond == CSINC Wd, WZR, WZR, invert(cond).
inline uint32_t cset(Reg d, Cond c) { return 0x1A9F07E0u | (uint32_t(c) ^ 1) << 12 | d; }
// Byte loads/stores: [Xn, #imm12] and [Xn, Xm].
inline uint32_t ldrb_imm(Reg t, Reg n, uint32_t imm12) {
  return 0x39400000u | (imm12 & 0xfff) << 10 | n << 5 | t;
}
inline uint32_t strb_imm(Reg t, Reg n, uint32_t imm12) {
  return 0x39000000u | (imm12 & 0xfff) << 10 | n << 5 | t;
}
inline uint32_t ldrb_reg(Reg t, Reg n, Reg m) { return 0x38606800u | m << 16 | n << 5 | t; }
inline uint32_t strb_reg(Reg t, Reg n, Reg m) { return 0x38206800u | m << 16 | n << 5 | t; }
// 32-bit load, [Xn, #byte_offset] with the offset a multiple of 4.
inline uint32_t ldr_w(Reg t, Reg n, uint32_t offset) {
  return 0xB9400000u | ((offset / 4) & 0xfff) << 10 | n << 5 | t;
}
// Branches; `offset` is in bytes from this instruction.
inline uint32_t b(int64_t offset) { return 0x14000000u | (uint32_t(offset / 4) & 0x3ffffff); }
inline uint32_t cbz(Reg t, int64_t offset) {
  return 0x34000000u | (uint32_t(offset / 4) & 0x7ffff) << 5 | t;
}
inline uint32_t cbnz(Reg t, int64_t offset) {
  return 0x35000000u | (uint32_t(offset / 4) & 0x7ffff) << 5 | t;
}
inline uint32_t nop() { return 0xD503201Fu; }

}  // namespace cpusim::a64
