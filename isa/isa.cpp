// isa/isa.cpp: the opcode tables expanded from the .def files, form decoding, state layout.
#include "isa/isa.h"

#include <algorithm>
#include <cctype>

#include "common/io.h"

namespace cpusim::isa {

namespace {

constexpr FormSet F(Form f) { return form_bit(f); }

constexpr OpInfo kBgptOps[] = {
#define CPUSIM_OP(code, name, forms, cat) {code, #name, forms, #cat},
#define F(x) F(Form::x)
#include "isa/bgpt/opcodes.def"
#undef F
#undef CPUSIM_OP
};

constexpr OpInfo kToyOps[] = {
#define CPUSIM_OP(code, name, forms, cat) {code, #name, forms, #cat},
#define F(x) F(Form::x)
#include "isa/toy/opcodes.def"
#undef F
#undef CPUSIM_OP
};

constexpr bool dense(std::span<const OpInfo> ops) {
  for (size_t i = 0; i < ops.size(); ++i)
    if (ops[i].code != i) return false;
  return true;
}
static_assert(dense(kBgptOps), "bgpt opcode codes must be dense from 0");
static_assert(dense(kToyOps), "toy opcode codes must be dense from 0");
static_assert(std::size(kBgptOps) == 21, "the paper's CPU has 21 opcodes");

constexpr int arity_of(Slot a, Slot b, Slot c) {
  return (a != Slot::No) + (b != Slot::No) + (c != Slot::No);
}

constexpr FormInfo kForms[] = {
#define CPUSIM_FORM(name, s1, s2, s3, text) \
  {Form::name, {Slot::s1, Slot::s2, Slot::s3}, text, arity_of(Slot::s1, Slot::s2, Slot::s3)},
#include "isa/forms.def"
#undef CPUSIM_FORM
};
static_assert(std::size(kForms) == kNumForms);
static_assert(sizeof(FormSet) * 8 >= kNumForms);

constexpr ProfileInfo kProfiles[] = {
    // profile, name, memory, program, step limit, first register, byte 1, data in state, random
    // length
    {Profile::bgpt, "bgpt", 1024, 0, 65536, 1, "ACC", false, 255},
    {Profile::toy, "toy", 32, 256, 256, 0, "FLAGS", true, 32},
};
static_assert(kProfiles[unsigned(Profile::bgpt)].profile == Profile::bgpt &&
                  kProfiles[unsigned(Profile::toy)].profile == Profile::toy,
              "one row per profile, in enum order");

bool reg_ok(Profile p, uint8_t v) {
  const unsigned r0 = profile_info(p).first_register;
  return v >= r0 && v < r0 + kNumRegs;
}

bool is_pow2(unsigned v) { return v && !(v & (v - 1)); }

}  // namespace

const ProfileInfo& profile_info(Profile p) { return kProfiles[unsigned(p)]; }

std::string_view profile_name(Profile p) { return profile_info(p).name; }

Profile parse_profile(std::string_view name) {
  for (const ProfileInfo& row : kProfiles)
    if (name == row.name) return row.profile;
  throw Error("unknown ISA profile '" + std::string(name) + "' (expected bgpt or toy)");
}

const FormInfo& form_info(Form f) { return kForms[unsigned(f)]; }

std::span<const OpInfo> opcodes(Profile p) {
  if (p == Profile::bgpt) return kBgptOps;
  return kToyOps;
}

const OpInfo* find_opcode(Profile p, std::string_view m) {
  for (const OpInfo& op : opcodes(p)) {
    std::string_view n = op.mnemonic;
    if (n.size() == m.size() && std::equal(n.begin(), n.end(), m.begin(), [](char a, char b) {
          return std::toupper(static_cast<unsigned char>(a)) ==
                 std::toupper(static_cast<unsigned char>(b));
        }))
      return &op;
  }
  return nullptr;
}

uint64_t table_hash(Profile p) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  };
  mix(profile_name(p));
  mix(std::to_string(kIsaVersion));
  for (const OpInfo& op : opcodes(p)) {
    mix(std::to_string(op.code));
    mix(op.mnemonic);
    for (int f = 0; f < kNumForms; ++f)
      if (op.forms & form_bit(Form(f))) mix(kForms[f].text);
  }
  for (const Field& f : state_fields(default_config(p))) {
    if (f.name.rfind("M[", 0) == 0) break;  // data memory: its size is a run parameter
    mix(f.name);
  }
  return h;
}

Config default_config(Profile p) {
  Config c;
  c.profile = p;
  c.memory_size = profile_info(p).default_memory;
  if (profile_info(p).default_program) c.program_size = profile_info(p).default_program;
  return c;
}

unsigned step_limit(const Config& c) {
  if (c.step_limit) return c.step_limit;
  return profile_info(c.profile).default_step_limit;
}

void validate(const Config& c) {
  const std::string m = std::to_string(c.memory_size);
  if (c.profile == Profile::bgpt) {
    if (c.memory_size < 16 || c.memory_size > 1024 || c.memory_size % 16)
      throw Error("--memory-size " + m + ": bgpt memory must be 16..1024 bytes, a multiple of 16");
  } else {
    if (c.memory_size < 16 || c.memory_size > 256 || !is_pow2(c.memory_size))
      throw Error("--memory-size " + m + ": toy data memory must be 16, 32, 64, 128 or 256 bytes");
    if (c.program_size < 16 || c.program_size > 1024 || !is_pow2(c.program_size))
      throw Error("--program-size " + std::to_string(c.program_size) +
                  ": toy program image must be a power of 2 from 16 to 1024 bytes");
  }
}

size_t image_bytes(const Config& c) {
  return c.profile == Profile::bgpt ? c.memory_size : c.program_size;
}

size_t state_bytes(const Config& c) {
  return kHeaderBytes + (profile_info(c.profile).data_in_state ? c.memory_size : 0);
}

unsigned program_capacity(const Config& c) {
  const unsigned slots = unsigned(image_bytes(c) / kInsnBytes);
  return c.profile == Profile::bgpt ? std::min(slots, 256u) : slots;
}

std::string reg_name(Profile p, unsigned v) {
  if (profile_info(p).first_register == 1) return std::string(1, char('A' + v - 1));  // bgpt: A..J
  return "R" + std::to_string(v);
}

std::vector<Field> state_fields(const Config& c) {
  std::vector<Field> f;
  f.push_back({"PC", kPC, 1});
  const ProfileInfo& p = profile_info(c.profile);
  f.push_back({p.byte1, kAcc, 1});
  f.push_back({"IR", kIR, 4});
  for (unsigned r = 0; r < kNumRegs; ++r)
    f.push_back({reg_name(c.profile, p.first_register + r), uint16_t(kRegs + r), 1});
  if (p.data_in_state)
    for (unsigned a = 0; a < c.memory_size; ++a)
      f.push_back({"M[" + std::to_string(a) + "]", uint16_t(kHeaderBytes + a), 1});
  return f;
}

std::string byte_name(const Config& c, size_t offset) {
  if (offset >= kIR && offset < kIR + 4) return "IR" + std::to_string(offset - kIR);
  for (const Field& f : state_fields(c))
    if (offset == f.offset) return f.name;
  return "byte" + std::to_string(offset);
}

std::string_view fault_name(Fault f) {
  switch (f) {
    case Fault::none:
      return "none";
    case Fault::bad_opcode:
      return "invalid opcode";
    case Fault::bad_register:
      return "invalid register operand";
    case Fault::bad_pc:
      return "PC outside the program image";
  }
  return "?";
}

std::optional<Form> form_of(Profile p, Insn in) {
  auto ops = opcodes(p);
  if (in.op >= ops.size()) return std::nullopt;
  const FormSet set = ops[in.op].forms;
  // Start from the fewest operands the opcode allows; take one more while the next operand
  // byte is non-zero and the opcode has a form with that many.
  std::optional<Form> best;
  for (int f = 0; f < kNumForms; ++f)
    if ((set & form_bit(Form(f))) && (!best || kForms[f].arity < form_info(*best).arity))
      best = Form(f);
  for (;;) {
    const int k = form_info(*best).arity;
    if (k >= 3 || in.arg(k) == 0) break;
    std::optional<Form> next;
    for (int f = 0; f < kNumForms; ++f)
      if ((set & form_bit(Form(f))) && kForms[f].arity == k + 1) next = Form(f);
    if (!next) break;
    best = next;
  }
  return best;
}

Fault check(Profile p, Insn in) {
  const auto form = form_of(p, in);
  if (!form) return Fault::bad_opcode;
  const FormInfo& fi = form_info(*form);
  for (int i = 0; i < 3; ++i)
    if ((fi.slot[i] == Slot::Reg || fi.slot[i] == Slot::Ind) && !reg_ok(p, in.arg(i)))
      return Fault::bad_register;
  return Fault::none;
}

Insn canonical(Profile p, Insn in) {
  const auto form = form_of(p, in);
  if (!form) return in;
  const FormInfo& fi = form_info(*form);
  uint8_t a[3] = {in.a1, in.a2, in.a3};
  for (int i = 0; i < 3; ++i)
    if (fi.slot[i] == Slot::No) a[i] = 0;
  return Insn{in.op, a[0], a[1], a[2]};
}

}  // namespace cpusim::isa
