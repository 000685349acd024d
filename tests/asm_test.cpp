// tests/asm_test.cpp: assembler and disassembler: syntax, round trips on random programs and
// on every 4-byte word pattern class, and error messages.
#include "isa/asm.h"

#include <gtest/gtest.h>

#include "common/io.h"
#include "datagen/generator.h"

namespace cpusim {
namespace {

TEST(Asm, EncodesEveryBgptForm) {
  // CLR; CLR C; LOADI 0x2a; SWAP A, J; ADD A, B, C
  const auto b = isa::assemble(isa::Profile::bgpt,
                               "clr\nCLR C ; comment\nLOADI 0x2a\nSWAP A, J\nADD A B C # c");
  const std::vector<uint8_t> want = {1, 0, 0,  0, 1,  3, 0,  0, 11, 42,
                                     0, 0, 12, 1, 10, 0, 13, 1, 2,  3};
  EXPECT_EQ(b, want);
}

TEST(Asm, EncodesToyFormsAndLabels) {
  const auto b =
      isa::assemble(isa::Profile::toy,
                    "start: LDI R1, 7\nLD R2, [16]\nST [3], R2\nLDR R3, [R1]\nSTR [R1], R3\n"
                    "loop:\nDEC R1\nJNZ loop\nJMP start\nHLT");
  const std::vector<uint8_t> want = {1, 1, 7,  0, 3, 2, 16, 0, 4, 3, 2,  0, 5, 3, 1, 0, 6, 1,
                                     3, 0, 14, 1, 0, 0, 21, 5, 0, 0, 19, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(b, want);
}

TEST(Asm, RoundTripsRandomPrograms) {
  for (isa::Profile p : {isa::Profile::bgpt, isa::Profile::toy}) {
    datagen::GenConfig g;
    g.isa = isa::default_config(p);
    datagen::Rng rng(1234);
    datagen::Instance inst;
    for (int i = 0; i < 300; ++i) {
      datagen::random_instance(g, rng, inst);
      const std::string text = isa::disassemble_program(p, inst.image);
      auto bytes = isa::assemble(p, text);
      bytes.resize(inst.image.size(), 0);
      ASSERT_EQ(bytes, inst.image) << text;
    }
  }
}

TEST(Asm, EveryWordRoundTripsThroughText) {
  // Valid, non-canonical and invalid words alike: disassemble then assemble gives the bytes back.
  datagen::Rng rng(99);
  for (isa::Profile p : {isa::Profile::bgpt, isa::Profile::toy})
    for (int i = 0; i < 20000; ++i) {
      const isa::Insn in{uint8_t(rng.below(30)), uint8_t(rng.below(12)), rng.byte(),
                         uint8_t(rng.below(12))};
      const auto b = isa::assemble(p, isa::disassemble(p, in));
      ASSERT_EQ(b.size(), 4u);
      ASSERT_EQ(isa::insn_at(b.data()), in) << isa::disassemble(p, in);
    }
}

TEST(Asm, KeepsOneHltAfterTheProgram) {
  std::vector<uint8_t> image(64, 0);
  image[0] = 2;  // INC
  EXPECT_EQ(isa::disassemble_program(isa::Profile::bgpt, image), "INC\nHLT\n");
  EXPECT_EQ(isa::disassemble_program(isa::Profile::bgpt, std::vector<uint8_t>(8, 0)), "HLT\n");
}

void expect_error(isa::Profile p, const std::string& text, const std::string& message) {
  try {
    isa::assemble(p, text, "prog.asm");
    ADD_FAILURE() << "no error for: " << text;
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), message);
  }
}

TEST(Asm, ErrorsNameFileLineAndProblem) {
  const auto B = isa::Profile::bgpt, T = isa::Profile::toy;
  expect_error(B, "INC\nFOO A", "prog.asm:2: unknown mnemonic 'FOO' for ISA bgpt");
  expect_error(B, "ADD K", "prog.asm:1: ADD: 'K' is not a register");
  expect_error(B, "ADD A, B, C, D", "prog.asm:1: ADD: wrong number of operands");
  expect_error(B, "LOADI 256", "prog.asm:1: LOADI: '256' is not a number 0..255");
  expect_error(B, "MOV A", "prog.asm:1: MOV: wrong number of operands");
  expect_error(T, "JMP nowhere", "prog.asm:1: JMP: unknown label 'nowhere'");
  expect_error(T, "LD R1, 5", "prog.asm:1: LD: '5' is not [address]");
  expect_error(T, "LDR R1, [5]", "prog.asm:1: LDR: '[5]' is not [register]");
  expect_error(T, "a:\na: HLT", "prog.asm:2: label 'a' defined twice");
  expect_error(T, "R1: HLT", "prog.asm:1: label 'R1' is a register name");
  expect_error(T, ".insn 1 2 3", "prog.asm:1: .insn takes 4 bytes");
}

}  // namespace
}  // namespace cpusim
