// tests/emulator_toy_test.cpp: golden cases for every toy opcode (docs/isa-toy.md), flags,
// data memory, branches, PC wrap-around, the step limit and faults. Expected values are worked
// out by hand from the spec.
#include <gtest/gtest.h>

#include <set>

#include "tests/test_util.h"

namespace cpusim {
namespace {

using test::tmem;
using test::treg;

// Before each case: R0=10, R1=3, R2=200, R3=0, R4=0x80, R5=1, R6=255, R7=100, R8=20, R9=5,
// FLAGS=0, M[a] = 3a.
std::vector<std::pair<size_t, uint8_t>> initial(uint8_t flags = 0) {
  std::vector<std::pair<size_t, uint8_t>> v = {{treg(0), 10},  {treg(1), 3},        {treg(2), 200},
                                               {treg(3), 0},   {treg(4), 0x80},     {treg(5), 1},
                                               {treg(6), 255}, {treg(7), 100},      {treg(8), 20},
                                               {treg(9), 5},   {isa::kFlags, flags}};
  for (int a = 0; a < 32; ++a) v.push_back({tmem(a), uint8_t(3 * a)});
  return v;
}

constexpr uint8_t Z = isa::kFlagZ, C = isa::kFlagC;

struct Golden {
  const char* insn;
  std::vector<std::pair<size_t, uint8_t>> changes;  // offset -> value after executing it
  int flags;                                        // FLAGS after it; -1: unchanged
};

void PrintTo(const Golden& g, std::ostream* os) { *os << g.insn; }

class ToyGolden : public ::testing::TestWithParam<Golden> {};

TEST_P(ToyGolden, ExecutesPerSpec) {
  const Golden& g = GetParam();
  const isa::Config c = test::toy_config();
  const auto r = test::run_asm(c, std::string(g.insn) + "\nHLT\n", initial());
  ASSERT_EQ(r.outcome.stop, emu::Stop::halted) << emu::describe_fault(isa::Profile::toy, r.outcome);
  ASSERT_EQ(r.count(), 3u);
  const size_t sb = isa::state_bytes(c);
  std::vector<uint8_t> want(r.state(0), r.state(0) + sb);
  want[isa::kPC] = 2;
  for (int i = 0; i < 4; ++i) want[isa::kIR + i] = 0;
  for (const auto& [off, v] : g.changes) want[off] = v;
  if (g.flags >= 0) want[isa::kFlags] = uint8_t(g.flags);
  EXPECT_EQ(std::vector<uint8_t>(r.state(2), r.state(2) + sb), want) << g.insn;
}

const std::vector<Golden> kGolden = {
    Golden{"LDI R3, 42", {{treg(3), 42}}, -1}, Golden{"LDI R9, 0", {{treg(9), 0}}, -1},
    Golden{"MOV R0, R2", {{treg(0), 200}}, -1}, Golden{"LD R0, [5]", {{treg(0), 15}}, -1},
    Golden{"LD R9, [31]", {{treg(9), 93}}, -1}, Golden{"ST [5], R2", {{tmem(5), 200}}, -1},
    Golden{"ST [0], R3", {{tmem(0), 0}}, -1}, Golden{"LDR R0, [R1]", {{treg(0), 9}}, -1},
    Golden{"LDR R0, [R2]", {{treg(0), 24}}, -1},  // 200 & 31 = 8
    Golden{"STR [R1], R2", {{tmem(3), 200}}, -1},
    Golden{"STR [R6], R0", {{tmem(31), 10}}, -1},  // 255 & 31 = 31
    Golden{"ADD R0, R1", {{treg(0), 13}}, 0}, Golden{"ADD R2, R7", {{treg(2), 44}}, C},
    Golden{"ADD R6, R5", {{treg(6), 0}}, Z | C}, Golden{"SUB R0, R1", {{treg(0), 7}}, 0},
    Golden{"SUB R1, R0", {{treg(1), 249}}, C}, Golden{"SUB R0, R0", {{treg(0), 0}}, Z},
    Golden{"AND R2, R7", {{treg(2), 64}}, 0}, Golden{"AND R4, R5", {{treg(4), 0}}, Z},
    Golden{"OR R0, R1", {{treg(0), 11}}, 0}, Golden{"OR R3, R3", {}, Z},
    Golden{"XOR R0, R0", {{treg(0), 0}}, Z}, Golden{"XOR R0, R1", {{treg(0), 9}}, 0},
    Golden{"ADDI R6, 1", {{treg(6), 0}}, Z | C}, Golden{"ADDI R0, 5", {{treg(0), 15}}, 0},
    Golden{"INC R6", {{treg(6), 0}}, Z | C}, Golden{"INC R0", {{treg(0), 11}}, 0},
    Golden{"DEC R3", {{treg(3), 255}}, C}, Golden{"DEC R5", {{treg(5), 0}}, Z},
    Golden{"SHL R4", {{treg(4), 0}}, Z | C}, Golden{"SHL R2", {{treg(2), 144}}, C},
    Golden{"SHL R0", {{treg(0), 20}}, 0}, Golden{"SHR R5", {{treg(5), 0}}, Z | C},
    Golden{"SHR R0", {{treg(0), 5}}, 0}, Golden{"CMP R0, R1", {}, 0}, Golden{"CMP R1, R0", {}, C},
    Golden{"CMP R0, R0", {}, Z}, Golden{"CMPI R0, 10", {}, Z}, Golden{"CMPI R0, 11", {}, C},
    Golden{"CMPI R2, 0", {}, 0},
    // A branch to the next instruction (1) changes nothing.
    Golden{"JMP 1", {}, -1}, Golden{"JZ 1", {}, -1}, Golden{"JNZ 1", {}, -1},
    Golden{"JC 1", {}, -1}, Golden{"JNC 1", {}, -1}};

INSTANTIATE_TEST_SUITE_P(EveryOpcode, ToyGolden, ::testing::ValuesIn(kGolden));

TEST(ToyEmulator, EveryOpcodeAndFormHasAGoldenCase) {
  // The cases that run above (kGolden, and the HLT every case ends with) cover every (opcode,
  // form) pair of the table.
  std::vector<std::string> texts = {"HLT"};
  for (const Golden& g : kGolden) texts.push_back(g.insn);
  EXPECT_EQ(test::forms_without_case(isa::Profile::toy, texts), std::vector<std::string>{});
}

// Runs `JCC 2 / LDI R0, 1 / HLT` with FLAGS = flags: R0 stays 10 when the branch is taken.
bool taken(const char* jcc, uint8_t flags) {
  const auto r =
      test::run_asm(test::toy_config(), std::string(jcc) + " 2\nLDI R0, 1\nHLT", initial(flags));
  EXPECT_EQ(r.outcome.stop, emu::Stop::halted);
  return r.last()[treg(0)] == 10;
}

TEST(ToyEmulator, ConditionalBranchesReadFlags) {
  EXPECT_TRUE(taken("JMP", 0));
  EXPECT_TRUE(taken("JZ", Z));
  EXPECT_FALSE(taken("JZ", C));
  EXPECT_TRUE(taken("JNZ", C));
  EXPECT_FALSE(taken("JNZ", Z | C));
  EXPECT_TRUE(taken("JC", C));
  EXPECT_FALSE(taken("JC", Z));
  EXPECT_TRUE(taken("JNC", 0));
  EXPECT_FALSE(taken("JNC", C));
}

TEST(ToyEmulator, BranchSetsPcBeforeTheNextFetch) {
  // 0: JMP 2   1: LDI R0, 1   2: HLT. State 2 fetched slot 2: PC = 3.
  const auto r = test::run_asm(test::toy_config(), "JMP 2\nLDI R0, 1\nHLT", initial());
  ASSERT_EQ(r.count(), 3u);
  EXPECT_EQ(r.state(1)[isa::kPC], 1);
  EXPECT_EQ(r.state(2)[isa::kPC], 3);
}

TEST(ToyEmulator, CountedLoopRunsAndHalts) {
  // R0 = 3; loop: ADDI R1, 2; DEC R0; JNZ loop; HLT  -> R1 = 3 + 6 = 9.
  const auto r = test::run_asm(test::toy_config(),
                               "LDI R0, 3\nloop: ADDI R1, 2\nDEC R0\nJNZ loop\nHLT", initial());
  ASSERT_EQ(r.outcome.stop, emu::Stop::halted);
  EXPECT_EQ(r.last()[treg(1)], 9);
  EXPECT_EQ(r.outcome.steps, 1u + 3 * 3 + 1);
}

TEST(ToyEmulator, TargetsWrapToTheImage) {
  // 64 slots: JMP 70 goes to 6 (70 & 63), which is HLT in a zero image.
  const auto r = test::run_asm(test::toy_config(), "JMP 70", initial());
  ASSERT_EQ(r.outcome.stop, emu::Stop::halted);
  EXPECT_EQ(r.last()[isa::kPC], 7);
}

TEST(ToyEmulator, PcWrapsAndStepLimitStops) {
  // 16-byte program image: four INC R0 and no HLT. PC wraps 3 -> 0; the limit of 10 fetches
  // stops the run with 11 states; the 10th instruction's effect is never recorded.
  isa::Config c = test::toy_config();
  c.program_size = 16;
  c.step_limit = 10;
  const auto r = test::run_asm(c, "INC R3\nINC R3\nINC R3\nINC R3", initial());
  EXPECT_EQ(r.outcome.stop, emu::Stop::step_limit);
  EXPECT_EQ(r.outcome.steps, 10u);
  ASSERT_EQ(r.count(), 11u);
  EXPECT_EQ(r.state(4)[isa::kPC], 0);
  EXPECT_EQ(r.last()[treg(3)], 9);
}

TEST(ToyEmulator, StateLayoutIsWholePatches) {
  for (unsigned m : {16u, 32u, 64u, 128u, 256u}) {
    isa::Config c = test::toy_config();
    c.memory_size = m;
    EXPECT_EQ(isa::state_bytes(c) % isa::kPatchBytes, 0u);
    EXPECT_EQ(isa::image_bytes(c) % isa::kPatchBytes, 0u);
  }
}

TEST(ToyEmulator, FaultsNamePcAndBytes) {
  const auto r = test::run_asm(test::toy_config(), "LDI R0, 1\n.insn 24 0 0 0", initial());
  EXPECT_EQ(r.outcome.fault, isa::Fault::bad_opcode);
  EXPECT_EQ(emu::describe_fault(isa::Profile::toy, r.outcome),
            "invalid opcode at PC 1: bytes 18 00 00 00");
  for (const char* bad : {".insn 7 10 0 0", ".insn 7 0 10 0", ".insn 5 0 12 0", ".insn 6 10 0 0",
                          ".insn 4 0 10 0", ".insn 1 200 0 0", ".insn 13 10 0 0"}) {
    const auto b = test::run_asm(test::toy_config(), std::string(bad) + "\nHLT", initial());
    EXPECT_EQ(b.outcome.fault, isa::Fault::bad_register) << bad;
  }
}

}  // namespace
}  // namespace cpusim
