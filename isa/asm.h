// isa/asm.h: text assembler and disassembler for both profiles, driven by the opcode tables.
// Syntax (docs/cli.md): one instruction per line, `MNEMONIC op, op, op`; `;` or `#` starts a
// comment; `name:` defines a label (toy branch targets); `.insn b0 b1 b2 b3` emits raw bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "isa/isa.h"

namespace cpusim::isa {

// Assembles `text` into program bytes (4 per instruction). Throws cpusim::Error
// "<source>:<line>: <problem>".
std::vector<uint8_t> assemble(Profile p, std::string_view text, std::string_view source = "<asm>");

// One instruction as text: its canonical form, or `.insn 0x.. ...` for bytes that are not a
// valid canonical instruction (so that assemble(disassemble(x)) == x for every x).
std::string disassemble(Profile p, Insn in);
// A whole program, one instruction per line. Of the all-zero words (HLT) after the last
// non-zero one only the first is kept, unless keep_trailing_zeros.
std::string disassemble_program(Profile p, std::span<const uint8_t> bytes,
                                bool keep_trailing_zeros = false);

}  // namespace cpusim::isa

namespace cpusim::isa {

// A state as one readable line (registers in decimal, IR disassembled, toy flags and data memory
// in hex), and the column headings that go above such lines.
std::string state_heading(const Config& c);
std::string format_state(const Config& c, const uint8_t* state);
// A heading line, then one numbered line per state ("step  ..."); a truncated last state is
// noted, not shown.
std::string format_states(const Config& c, std::span<const uint8_t> states);
// The program image's listing with each line numbered by its slot ("<prefix>N: MNEMONIC ..."),
// at most `max_lines` lines (then "<prefix>...").
std::string numbered_listing(Profile p, std::span<const uint8_t> image,
                             const std::string& prefix = "", size_t max_lines = SIZE_MAX);

}  // namespace cpusim::isa
