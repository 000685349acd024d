// emulator/lower.h: translation of a toy program (either profile) into AArch64 machine code for
// the Unicorn cross-checker. Each instruction slot of the image becomes a block of host code
// with its operands baked in; saturation, flags and memory are done by host instructions. The
// interpreter is never called. Reads the same opcode tables as everything else.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "isa/isa.h"

namespace cpusim::lower {

// Host register map (W = low 32 bits of X).
inline constexpr uint32_t kRegBase = 9;  // toy registers: W9..W18 (bgpt A..J, toy R0..R9)
inline constexpr uint32_t kData = 19;    // X19: data memory base (toy)
inline constexpr uint32_t kProg = 20;    // X20: program image base
inline constexpr uint32_t kPc = 21;      // W21: toy PC
inline constexpr uint32_t kIr = 22;      // W22: toy IR (little-endian word)
inline constexpr uint32_t kAccZ = 23;    // W23: bgpt ACC / toy Z flag (0 or 1)
inline constexpr uint32_t kCarry = 24;   // W24: toy C flag (0 or 1)
inline constexpr uint32_t k255 = 25;     // W25: the constant 255
inline constexpr uint32_t kFault = 26;   // W26: set to 1 by a block for an invalid instruction

// Code layout from `base`: one 3-instruction stub per slot (fetch IR, set PC, branch to the
// slot's block), an exit instruction, then the blocks. Control passes from block to block only
// through stubs, so a hook on the stubs' third instruction sees every toy-instruction boundary
// right after the fetch, i.e. where the interpreter records a state.
inline constexpr uint64_t kStubBytes = 12;
inline constexpr uint64_t kStubHookOffset = 8;

struct Program {
  uint64_t base = 0;
  std::vector<uint32_t> code;
  std::vector<uint64_t> block;  // address of each slot's block
  uint64_t exit = 0;            // emulation stops here
  uint64_t stub(unsigned slot) const { return base + kStubBytes * slot; }
};

Program lower(const isa::Config& c, std::span<const uint8_t> image, uint64_t base);

}  // namespace cpusim::lower
