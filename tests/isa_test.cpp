// tests/isa_test.cpp: the opcode tables themselves, forms, layouts and machine parameters.
#include "isa/isa.h"

#include <gtest/gtest.h>

#include <set>

#include "common/io.h"
#include "isa/asm.h"

namespace cpusim {
namespace {

const isa::Profile kProfiles[] = {isa::Profile::bgpt, isa::Profile::toy};

TEST(IsaTable, CodesAndMnemonicsAreUnique) {
  for (isa::Profile p : kProfiles) {
    std::set<int> codes;
    std::set<std::string> names;
    for (const isa::OpInfo& op : isa::opcodes(p)) {
      EXPECT_TRUE(codes.insert(op.code).second) << op.mnemonic;
      EXPECT_TRUE(names.insert(op.mnemonic).second) << op.mnemonic;
      EXPECT_EQ(isa::find_opcode(p, op.mnemonic), &op);
      EXPECT_NE(op.forms, 0) << op.mnemonic;
    }
    EXPECT_EQ(isa::opcodes(p)[0].mnemonic, std::string("HLT"));
  }
}

TEST(IsaTable, FormsOfAnOpcodeHaveDistinctArities) {
  // form_of() picks a form by counting operands, so no opcode may have two of the same arity.
  for (isa::Profile p : kProfiles)
    for (const isa::OpInfo& op : isa::opcodes(p)) {
      std::set<int> arities;
      for (int f = 0; f < isa::kNumForms; ++f) {
        if (!(op.forms & isa::form_bit(isa::Form(f)))) continue;
        EXPECT_TRUE(arities.insert(isa::form_info(isa::Form(f)).arity).second) << op.mnemonic;
      }
    }
}

TEST(IsaTable, PaperOpcodesMatchTheSpec) {
  const char* names[] = {"HLT", "CLR", "INC",  "DEC", "SHL",   "SHR",  "ROL",
                         "ROR", "NOT", "PUSH", "POP", "LOADI", "SWAP", "ADD",
                         "SUB", "MUL", "DIV",  "AND", "OR",    "XOR",  "MOV"};
  auto ops = isa::opcodes(isa::Profile::bgpt);
  ASSERT_EQ(ops.size(), std::size(names));
  for (size_t i = 0; i < ops.size(); ++i) EXPECT_STREQ(ops[i].mnemonic, names[i]);
}

TEST(IsaForms, DecodedByTheSpecRules) {
  using isa::Form;
  const auto P = isa::Profile::bgpt;
  EXPECT_EQ(isa::form_of(P, {1, 0, 0, 0}), Form::none);  // CLR
  EXPECT_EQ(isa::form_of(P, {1, 3, 0, 0}), Form::r);     // CLR C
  EXPECT_EQ(isa::form_of(P, {13, 1, 0, 7}), Form::r);    // ADD A (a2 == 0: a3 ignored)
  EXPECT_EQ(isa::form_of(P, {13, 1, 2, 0}), Form::rr);
  EXPECT_EQ(isa::form_of(P, {13, 1, 2, 3}), Form::rrr);
  EXPECT_EQ(isa::form_of(P, {12, 1, 0, 0}), Form::r);    // SWAP A
  EXPECT_EQ(isa::form_of(P, {12, 1, 2, 9}), Form::rr);   // SWAP A B
  EXPECT_EQ(isa::form_of(P, {11, 0, 0, 0}), Form::imm);  // LOADI 0
  EXPECT_EQ(isa::form_of(P, {20, 0, 0, 0}), Form::rr);   // MOV (invalid registers, but rr)
  EXPECT_EQ(isa::form_of(P, {21, 0, 0, 0}), std::nullopt);
  EXPECT_EQ(isa::check(P, {20, 0, 0, 0}), isa::Fault::bad_register);
  EXPECT_EQ(isa::check(P, {21, 0, 0, 0}), isa::Fault::bad_opcode);
  EXPECT_EQ(isa::check(P, {13, 10, 10, 10}), isa::Fault::none);
  EXPECT_EQ(isa::canonical(P, {1, 3, 5, 6}), (isa::Insn{1, 3, 0, 0}));
}

TEST(IsaLayout, FieldsCoverEveryStateByteOnce) {
  for (isa::Profile p : kProfiles) {
    const isa::Config c = isa::default_config(p);
    std::vector<int> seen(isa::state_bytes(c), 0);
    for (const isa::Field& f : isa::state_fields(c))
      for (int i = 0; i < f.size; ++i) ++seen.at(f.offset + i);
    for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1) << i;
    EXPECT_EQ(isa::state_bytes(c) % isa::kPatchBytes, 0u);
  }
  const isa::Config b = isa::default_config(isa::Profile::bgpt);
  EXPECT_EQ(isa::byte_name(b, 0), "PC");
  EXPECT_EQ(isa::byte_name(b, 1), "ACC");
  EXPECT_EQ(isa::byte_name(b, 3), "IR1");
  EXPECT_EQ(isa::byte_name(b, 6), "A");
  EXPECT_EQ(isa::byte_name(b, 15), "J");
  const isa::Config t = isa::default_config(isa::Profile::toy);
  EXPECT_EQ(isa::byte_name(t, 1), "FLAGS");
  EXPECT_EQ(isa::byte_name(t, 6), "R0");
  EXPECT_EQ(isa::byte_name(t, 16 + 5), "M[5]");
}

TEST(IsaConfig, ValidatesSizes) {
  isa::Config b = isa::default_config(isa::Profile::bgpt);
  for (unsigned bad : {0u, 8u, 100u, 2048u}) {
    b.memory_size = bad;
    EXPECT_THROW(isa::validate(b), Error) << bad;
  }
  for (unsigned good : {16u, 64u, 1024u, 48u}) {
    b.memory_size = good;
    EXPECT_NO_THROW(isa::validate(b)) << good;
  }
  isa::Config t = isa::default_config(isa::Profile::toy);
  t.memory_size = 48;
  EXPECT_THROW(isa::validate(t), Error);
  t.memory_size = 32;
  t.program_size = 2048;
  EXPECT_THROW(isa::validate(t), Error);
  EXPECT_THROW(isa::parse_profile("x86"), Error);
}

TEST(IsaHash, IsPinned) {
  // Every trace set and checkpoint carries these values; a reader refuses files made under
  // another. A change to an opcode table, a form or the state layout changes them: then bump
  // kIsaVersion, say so in the docs, and pin the new values here.
  EXPECT_EQ(isa::table_hash(isa::Profile::bgpt), 0x9847cec0170c236dull);
  EXPECT_EQ(isa::table_hash(isa::Profile::toy), 0x6c1abebaca11ff5full);
}

TEST(IsaProfiles, OneRowEachInEnumOrder) {
  for (isa::Profile p : {isa::Profile::bgpt, isa::Profile::toy}) {
    EXPECT_EQ(isa::profile_info(p).profile, p);
    EXPECT_EQ(isa::parse_profile(isa::profile_info(p).name), p);
  }
  EXPECT_EQ(isa::state_bytes(isa::default_config(isa::Profile::bgpt)), 16u);
  EXPECT_EQ(isa::state_bytes(isa::default_config(isa::Profile::toy)), 48u);
  EXPECT_EQ(isa::reg_name(isa::Profile::bgpt, 1), "A");
  EXPECT_EQ(isa::reg_name(isa::Profile::toy, 0), "R0");
}

TEST(IsaNextPc, CapsBgptAndWrapsToy) {
  isa::Config b = isa::default_config(isa::Profile::bgpt);
  b.memory_size = 64;  // 16 slots: the PC stops at 15
  EXPECT_EQ(isa::next_pc(b, 3), 4u);
  EXPECT_EQ(isa::next_pc(b, 14), 15u);
  EXPECT_EQ(isa::next_pc(b, 15), 15u);
  EXPECT_EQ(isa::next_pc(isa::default_config(isa::Profile::bgpt), 255),
            255u);                                               // 256 slots of 1024 bytes
  const isa::Config t = isa::default_config(isa::Profile::toy);  // 64 slots
  EXPECT_EQ(isa::next_pc(t, 62), 63u);
  EXPECT_EQ(isa::next_pc(t, 63), 0u);
}

}  // namespace
}  // namespace cpusim
