// isa/asm.cpp: assembler and disassembler. Forms are matched against the opcode table, so a
// new opcode or form needs no change here.
#include "isa/asm.h"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <map>
#include <optional>

#include "common/io.h"

namespace cpusim::isa {

namespace {

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = char(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

std::optional<unsigned> parse_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<uint8_t> parse_reg(Profile p, std::string_view s) {
  const std::string u = upper(s);
  if (p == Profile::bgpt) {
    if (u.size() == 1 && u[0] >= 'A' && u[0] <= 'J') return uint8_t(u[0] - 'A' + 1);
    return std::nullopt;
  }
  if (u.size() == 2 && u[0] == 'R' && u[1] >= '0' && u[1] <= '9') return uint8_t(u[1] - '0');
  return std::nullopt;
}

bool is_ident(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  return true;
}

std::vector<std::string_view> split_operands(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (std::isspace(static_cast<unsigned char>(s[i])) || s[i] == ',')) ++i;
    if (i >= s.size()) break;
    size_t j = i;
    if (s[i] == '[') {
      j = s.find(']', i);
      j = j == std::string_view::npos ? s.size() : j + 1;
    } else {
      while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j])) && s[j] != ',') ++j;
    }
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

struct Line {
  int number;
  std::string_view text;  // instruction text, comment and label removed
};

}  // namespace

namespace {

Error line_error(std::string_view source, int line, const std::string& what) {
  return Error(std::string(source) + ":" + std::to_string(line) + ": " + what);
}

// Pass 1: comments stripped, labels collected (label -> instruction index), instruction lines kept.
std::vector<Line> read_lines(Profile p, std::string_view text, std::string_view source,
                             std::map<std::string, unsigned>& labels) {
  std::vector<Line> lines;
  int number = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    pos = end + 1;
    ++number;
    if (size_t c = l.find_first_of(";#"); c != std::string_view::npos) l = l.substr(0, c);
    l = trim(l);
    while (true) {
      size_t colon = l.find(':');
      if (colon == std::string_view::npos) break;
      std::string_view name = trim(l.substr(0, colon));
      if (!is_ident(name))
        throw line_error(source, number, "bad label '" + std::string(name) + "'");
      if (parse_reg(p, name))
        throw line_error(source, number, "label '" + std::string(name) + "' is a register name");
      if (!labels.emplace(upper(name), unsigned(lines.size())).second)
        throw line_error(source, number, "label '" + std::string(name) + "' defined twice");
      l = trim(l.substr(colon + 1));
    }
    if (!l.empty()) lines.push_back({number, l});
    if (end == text.size()) break;
  }
  return lines;
}

// One operand text as the value of a slot; nullopt, with `why` set, when it is not one.
std::optional<unsigned> operand(Profile p, Slot slot, std::string_view o,
                                const std::map<std::string, unsigned>& labels, std::string& why) {
  const bool bracket = o.size() >= 2 && o.front() == '[' && o.back() == ']';
  const std::string_view inner = bracket ? trim(o.substr(1, o.size() - 2)) : o;
  std::optional<unsigned> v;
  switch (slot) {
    case Slot::Reg:
      if (auto r = bracket ? std::nullopt : parse_reg(p, o))
        v = *r;
      else
        why = "'" + std::string(o) + "' is not a register";
      break;
    case Slot::Ind:
      if (auto r = bracket ? parse_reg(p, inner) : std::nullopt)
        v = *r;
      else
        why = "'" + std::string(o) + "' is not [register]";
      break;
    case Slot::Imm:
    case Slot::Addr:
      if (bracket != (slot == Slot::Addr)) {
        why = "'" + std::string(o) + "' is not " + (bracket ? "an immediate" : "[address]");
        break;
      }
      v = parse_number(inner);
      if (!v || *v > 255) {
        why = "'" + std::string(o) + "' is not a number 0..255";
        v.reset();
      }
      break;
    case Slot::Tgt:
      if (auto n = parse_number(o)) {
        v = *n;
      } else if (auto it = labels.find(upper(o)); it != labels.end()) {
        v = it->second;
      } else {
        why = "unknown label '" + std::string(o) + "'";
      }
      if (v && *v > 255) {
        why = "target '" + std::string(o) + "' is past instruction 255";
        v.reset();
      }
      break;
    case Slot::No:
      break;
  }
  return v;
}

// The first form of `op` whose slots all take the operands, encoded; nullopt with `why` set.
std::optional<Insn> encode(Profile p, const OpInfo& op, const std::vector<std::string_view>& ops,
                           const std::map<std::string, unsigned>& labels, std::string& why) {
  why = "wrong number of operands";
  for (int f = 0; f < kNumForms; ++f) {
    if (!(op.forms & form_bit(Form(f)))) continue;
    const FormInfo& fi = form_info(Form(f));
    if (fi.arity != int(ops.size())) continue;
    uint8_t a[3] = {0, 0, 0};
    bool ok = true;
    for (int i = 0; i < fi.arity && ok; ++i) {
      const auto v = operand(p, fi.slot[i], ops[i], labels, why);
      ok = v.has_value();
      if (ok) a[i] = uint8_t(*v);
    }
    if (ok) return Insn{op.code, a[0], a[1], a[2]};
  }
  return std::nullopt;
}

}  // namespace

std::vector<uint8_t> assemble(Profile p, std::string_view text, std::string_view source) {
  std::map<std::string, unsigned> labels;
  const std::vector<Line> lines = read_lines(p, text, source, labels);
  // Pass 2: encode.
  std::vector<uint8_t> out;
  out.reserve(lines.size() * kInsnBytes);
  for (const Line& line : lines) {
    size_t sp = 0;
    while (sp < line.text.size() && !std::isspace(static_cast<unsigned char>(line.text[sp]))) ++sp;
    const std::string_view mnem = line.text.substr(0, sp);
    const auto ops = split_operands(line.text.substr(sp));
    if (mnem == ".insn") {
      if (ops.size() != 4) throw line_error(source, line.number, ".insn takes 4 bytes");
      for (auto o : ops) {
        auto v = parse_number(o);
        if (!v || *v > 255)
          throw line_error(source, line.number, "bad byte '" + std::string(o) + "'");
        out.push_back(uint8_t(*v));
      }
      continue;
    }
    const OpInfo* op = find_opcode(p, mnem);
    if (!op)
      throw line_error(
          source, line.number,
          "unknown mnemonic '" + std::string(mnem) + "' for ISA " + std::string(profile_name(p)));
    std::string why;
    const auto in = encode(p, *op, ops, labels, why);
    if (!in) throw line_error(source, line.number, std::string(op->mnemonic) + ": " + why);
    out.insert(out.end(), {in->op, in->a1, in->a2, in->a3});
  }
  return out;
}

std::string disassemble(Profile p, Insn in) {
  const auto form = form_of(p, in);
  if (!form || check(p, in) != Fault::none || !(canonical(p, in) == in)) {
    char buf[48];
    std::snprintf(buf, sizeof buf, ".insn 0x%02x 0x%02x 0x%02x 0x%02x", in.op, in.a1, in.a2, in.a3);
    return buf;
  }
  std::string s = opcodes(p)[in.op].mnemonic;
  const FormInfo& fi = form_info(*form);
  for (int i = 0; i < fi.arity; ++i) {
    s += i == 0 ? " " : ", ";
    const unsigned v = in.arg(i);
    switch (fi.slot[i]) {
      case Slot::Reg:
        s += reg_name(p, v);
        break;
      case Slot::Ind:
        s += "[" + reg_name(p, v) + "]";
        break;
      case Slot::Addr:
        s += "[" + std::to_string(v) + "]";
        break;
      case Slot::Imm:
      case Slot::Tgt:
        s += std::to_string(v);
        break;
      case Slot::No:
        break;
    }
  }
  return s;
}

std::string disassemble_program(Profile p, std::span<const uint8_t> bytes,
                                bool keep_trailing_zeros) {
  const size_t total = bytes.size() / kInsnBytes;
  size_t n = total;
  if (!keep_trailing_zeros) {
    // Keep one HLT (an all-zero word) after the last non-zero instruction.
    while (n > 0) {
      const uint8_t* w = bytes.data() + (n - 1) * kInsnBytes;
      if (w[0] | w[1] | w[2] | w[3]) break;
      --n;
    }
    if (n < total) ++n;
  }
  std::string out;
  for (size_t i = 0; i < n; ++i)
    out += disassemble(p, insn_at(bytes.data() + i * kInsnBytes)) + "\n";
  return out;
}

}  // namespace cpusim::isa

namespace cpusim::isa {

std::string state_heading(const Config& c) {
  char buf[160];
  std::string s;
  std::snprintf(buf, sizeof buf, "%-5s %-4s %-5s %-22s", "PC",
                c.profile == Profile::bgpt ? "ACC" : "ZC", "", "IR");
  s = buf;
  for (int r = 0; r < kNumRegs; ++r) {
    std::snprintf(buf, sizeof buf, " %4s",
                  reg_name(c.profile, c.profile == Profile::bgpt ? r + 1 : r).c_str());
    s += buf;
  }
  if (c.profile == Profile::toy) s += "  data memory (hex)";
  return s;
}

std::string format_state(const Config& c, const uint8_t* st) {
  char buf[160];
  std::string flags;
  if (c.profile == Profile::bgpt) {
    flags = std::to_string(st[kAcc]);
  } else {
    flags = std::string(st[kFlags] & kFlagZ ? "Z" : "-") + (st[kFlags] & kFlagC ? "C" : "-");
    if (st[kFlags] & ~(kFlagZ | kFlagC)) flags += "!";
  }
  std::snprintf(buf, sizeof buf, "%-5u %-4s %-5s %-22s", st[kPC], flags.c_str(), "",
                disassemble(c.profile, insn_at(st + kIR)).c_str());
  std::string s = buf;
  for (int r = 0; r < kNumRegs; ++r) {
    std::snprintf(buf, sizeof buf, " %4u", st[kRegs + r]);
    s += buf;
  }
  if (c.profile == Profile::toy) {
    s += " ";
    for (unsigned a = 0; a < c.memory_size; ++a) {
      std::snprintf(buf, sizeof buf, "%s%02x", a % 16 == 0 ? " " : "", st[kHeaderBytes + a]);
      s += buf;
    }
  }
  return s;
}

std::string format_states(const Config& c, std::span<const uint8_t> states) {
  const size_t sb = state_bytes(c);
  std::string out = "step  " + state_heading(c) + "\n";
  for (size_t k = 0; k * sb < states.size(); ++k) {
    char step[32];
    std::snprintf(step, sizeof step, "%-5zu ", k);
    if ((k + 1) * sb > states.size()) {
      out += step + ("(truncated: " + std::to_string(states.size() - k * sb) + " of " +
                     std::to_string(sb) + " bytes)\n");
      break;
    }
    out += step + format_state(c, states.data() + k * sb) + "\n";
  }
  return out;
}

std::string numbered_listing(Profile p, std::span<const uint8_t> image, const std::string& prefix,
                             size_t max_lines) {
  const std::string listing = disassemble_program(p, image);
  std::string out;
  size_t line = 0, pos = 0;
  while (pos < listing.size() && line < max_lines) {
    const size_t nl = listing.find('\n', pos);
    out += prefix + std::to_string(line++) + ": " + listing.substr(pos, nl - pos) + "\n";
    pos = nl + 1;
  }
  if (pos < listing.size()) out += prefix + "...\n";
  return out;
}

}  // namespace cpusim::isa
