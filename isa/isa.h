// isa/isa.h: the two ISA profiles (`bgpt`, the paper's CPU; `toy`, cpusim's machine with a data
// memory): opcode tables, operand forms, instruction decoding and validation, and the byte
// layout of a machine state and of a trace. Semantics live in emulator/, text in isa/asm.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cpusim::isa {

enum class Profile : uint8_t { bgpt, toy };

// Everything that differs between the profiles besides their opcode tables and semantics, one
// row each: the functions below read these rows instead of branching on the profile.
struct ProfileInfo {
  Profile profile;
  const char* name;          // "bgpt", "toy"
  unsigned default_memory;   // bgpt: the whole memory; toy: the data memory
  unsigned default_program;  // toy: the separate program image (bgpt: 0, the program is in memory)
  unsigned default_step_limit;  // instructions fetched at most
  unsigned first_register;      // operand value of the first register (bgpt A = 1, toy R0 = 0)
  const char* byte1;            // the state's byte 1: "ACC" or "FLAGS"
  bool data_in_state;           // toy: the data memory is part of every state
  unsigned max_random_len;      // datagen's default longest program (capped by the image)
};
const ProfileInfo& profile_info(Profile p);

std::string_view profile_name(Profile p);
// Parses "bgpt" or "toy"; throws cpusim::Error otherwise.
Profile parse_profile(std::string_view name);

// Kind of one operand byte.
enum class Slot : uint8_t { No, Reg, Imm, Addr, Ind, Tgt };

enum class Form : uint8_t {
#define CPUSIM_FORM(name, s1, s2, s3, text) name,
#include "isa/forms.def"
#undef CPUSIM_FORM
};
inline constexpr int kNumForms = 0
#define CPUSIM_FORM(name, s1, s2, s3, text) +1
#include "isa/forms.def"
#undef CPUSIM_FORM
    ;

struct FormInfo {
  Form form;
  Slot slot[3];
  const char* text;  // "r,r", "[n],r", ...
  int arity;         // slots that are not No
};
const FormInfo& form_info(Form f);

// Bitmask of forms an opcode accepts.
using FormSet = uint16_t;
constexpr FormSet form_bit(Form f) { return FormSet(1u << unsigned(f)); }

struct OpInfo {
  uint8_t code;
  const char* mnemonic;
  FormSet forms;
  const char* category;
};

// Rows of the profile's opcode table, indexed by code (codes are dense from 0).
std::span<const OpInfo> opcodes(Profile p);
// Looks a mnemonic up (case-insensitive); nullptr if unknown.
const OpInfo* find_opcode(Profile p, std::string_view mnemonic);

// FNV-1a over the opcode table, forms and state layout: stored in every file cpusim writes, so
// a reader can tell a trace made by another version of the ISA.
uint64_t table_hash(Profile p);
// Version of the profile's semantics; bumped on any change that alters a trace.
inline constexpr int kIsaVersion = 1;

// One instruction: four bytes [op, a1, a2, a3].
struct Insn {
  uint8_t op = 0, a1 = 0, a2 = 0, a3 = 0;
  uint8_t arg(int i) const { return i == 0 ? a1 : i == 1 ? a2 : a3; }
  friend bool operator==(const Insn&, const Insn&) = default;
};
inline Insn insn_at(const uint8_t* p) { return Insn{p[0], p[1], p[2], p[3]}; }
inline constexpr int kInsnBytes = 4;

// Machine parameters of one run. For `bgpt`, memory_size is the whole memory (program at 0;
// the PC is capped at min(memory_size/4 - 1, 255)); for `toy` it is the data memory, and the
// program image of program_size bytes is separate.
struct Config {
  Profile profile = Profile::bgpt;
  unsigned memory_size = 1024;  // bgpt: 16..1024, multiple of 16; toy: 16..256, a power of 2
  unsigned program_size = 256;  // toy: 16..1024, a power of 2 (4 bytes per instruction)
  unsigned step_limit = 0;      // instructions fetched at most; 0 = the profile's default
};
// The profile's defaults (toy: 32-byte data memory, 256-byte program, 256 steps).
Config default_config(Profile p);
// Throws cpusim::Error naming the bad parameter.
void validate(const Config& c);
unsigned step_limit(const Config& c);  // c.step_limit or the profile default

inline constexpr size_t kPatchBytes = 16;
inline constexpr size_t kHeaderBytes = 16;   // PC, ACC|FLAGS, IR0..3, ten registers
size_t image_bytes(const Config& c);         // bgpt: memory_size; toy: program_size
size_t state_bytes(const Config& c);         // bgpt: 16; toy: 16 + memory_size
unsigned program_capacity(const Config& c);  // instruction slots in the image

// The PC after fetching the instruction at `pc`, in a machine of `slots` instruction slots
// (program_capacity): bgpt stays at its last slot (the cap), toy wraps (slots is a power of 2).
// The one statement of the rule: the interpreter, the Unicorn lowering and the do-nothing
// baseline all call it.
constexpr unsigned next_pc(Profile p, unsigned slots, unsigned pc) {
  return p == Profile::bgpt ? (pc + 1 < slots ? pc + 1 : slots - 1) : (pc + 1) & (slots - 1);
}
inline unsigned next_pc(const Config& c, unsigned pc) {
  return next_pc(c.profile, program_capacity(c), pc);
}

// Byte offsets of the state header, the same in both profiles.
enum StateByte : uint8_t { kPC = 0, kAcc = 1, kFlags = 1, kIR = 2, kRegs = 6 };
inline constexpr int kNumRegs = 10;
// Toy flag bits.
inline constexpr uint8_t kFlagZ = 1, kFlagC = 2;

// A named field of the state: PC, ACC (bgpt) or FLAGS (toy), IR, each register, each data byte.
struct Field {
  std::string name;
  uint16_t offset;
  uint16_t size;
};
std::vector<Field> state_fields(const Config& c);
// Name of the state byte at `offset` ("PC", "IR1", "C", "M[5]").
std::string byte_name(const Config& c, size_t offset);
// Register name for operand value v ("A".."J" for bgpt, "R0".."R9" for toy).
std::string reg_name(Profile p, unsigned v);

// Why an instruction cannot execute.
enum class Fault : uint8_t { none, bad_opcode, bad_register, bad_pc };
std::string_view fault_name(Fault f);

// The form an instruction's bytes select (the spec's rules: more operands while the next byte
// is non-zero and the opcode allows them). nullopt for an unknown opcode.
std::optional<Form> form_of(Profile p, Insn in);
// Fault::none, bad_opcode or bad_register (a register operand outside the profile's range).
Fault check(Profile p, Insn in);

// The program bytes canonicalised: the operand bytes a form does not use set to 0.
Insn canonical(Profile p, Insn in);

}  // namespace cpusim::isa
