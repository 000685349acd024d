// tests/emulator_bgpt_test.cpp: golden cases for every bgpt opcode and operand form
// (spec/bgpt-cpu.md), the trace layout, the PC cap, small memories and faults. Expected values
// are worked out by hand from the spec, not by running the interpreter.
#include <gtest/gtest.h>

#include <set>

#include "common/io.h"
#include "tests/test_util.h"

namespace cpusim {
namespace {

using test::breg;

// Registers before each case: ACC=7, A=10, B=3, C=200, D=0, E=0x80, F=0x01, G=255, H=100,
// I=20, J=5.
const std::vector<std::pair<size_t, uint8_t>> kInit = {
    {isa::kAcc, 7},  {breg(1), 10},  {breg(2), 3},   {breg(3), 200}, {breg(4), 0}, {breg(5), 0x80},
    {breg(6), 0x01}, {breg(7), 255}, {breg(8), 100}, {breg(9), 20},  {breg(10), 5}};

struct Golden {
  const char* insn;
  std::vector<std::pair<std::string, uint8_t>> changes;  // field -> value after executing it
};

size_t offset_of(const std::string& name) {
  if (name == "ACC") return isa::kAcc;
  return breg(name[0] - 'A' + 1);
}

void PrintTo(const Golden& g, std::ostream* os) { *os << g.insn; }

class BgptGolden : public ::testing::TestWithParam<Golden> {};

TEST_P(BgptGolden, ExecutesPerSpec) {
  const Golden& g = GetParam();
  // Program: the instruction, then HLT. States: initial, after fetching it, after fetching HLT.
  const auto r = test::run_asm(test::bgpt_config(), std::string(g.insn) + "\nHLT\n", kInit);
  ASSERT_EQ(r.outcome.stop, emu::Stop::halted)
      << emu::describe_fault(isa::Profile::bgpt, r.outcome);
  ASSERT_EQ(r.count(), 3u);
  std::vector<uint8_t> want(r.state(0), r.state(0) + 16);
  want[isa::kPC] = 2;
  for (int i = 0; i < 4; ++i) want[isa::kIR + i] = 0;  // HLT
  for (const auto& [field, v] : g.changes) want[offset_of(field)] = v;
  EXPECT_EQ(std::vector<uint8_t>(r.state(2), r.state(2) + 16), want) << g.insn;
}

const std::vector<Golden> kGolden = {Golden{"CLR", {{"ACC", 0}}},
                                     Golden{"CLR B", {{"B", 0}}},
                                     Golden{"INC", {{"ACC", 8}}},
                                     Golden{"INC C", {{"C", 201}}},
                                     Golden{"INC G", {{"G", 255}}},
                                     Golden{"DEC", {{"ACC", 6}}},
                                     Golden{"DEC A", {{"A", 9}}},
                                     Golden{"DEC D", {{"D", 0}}},
                                     Golden{"SHL", {{"ACC", 14}}},
                                     Golden{"SHL E", {{"E", 0}}},
                                     Golden{"SHL C", {{"C", 144}}},
                                     Golden{"SHR", {{"ACC", 3}}},
                                     Golden{"SHR F", {{"F", 0}}},
                                     Golden{"SHR E", {{"E", 0x40}}},
                                     Golden{"ROL", {{"ACC", 14}}},
                                     Golden{"ROL E", {{"E", 0x01}}},
                                     Golden{"ROL F", {{"F", 0x02}}},
                                     Golden{"ROR", {{"ACC", 0x83}}},
                                     Golden{"ROR F", {{"F", 0x80}}},
                                     Golden{"ROR E", {{"E", 0x40}}},
                                     Golden{"NOT", {{"ACC", 248}}},
                                     Golden{"NOT G", {{"G", 0}}},
                                     Golden{"NOT D", {{"D", 255}}},
                                     Golden{"PUSH C", {{"ACC", 200}}},
                                     Golden{"PUSH J", {{"ACC", 5}}},
                                     Golden{"POP B", {{"B", 7}}},
                                     Golden{"POP J", {{"J", 7}}},
                                     Golden{"LOADI 42", {{"ACC", 42}}},
                                     Golden{"LOADI 0", {{"ACC", 0}}},
                                     Golden{"LOADI 255", {{"ACC", 255}}},
                                     Golden{"SWAP A", {{"ACC", 10}, {"A", 7}}},
                                     Golden{"SWAP A, B", {{"A", 3}, {"B", 10}}},
                                     Golden{"SWAP J, J", {}},
                                     Golden{"ADD A", {{"ACC", 17}}},
                                     Golden{"ADD G", {{"ACC", 255}}},
                                     Golden{"ADD C, H", {{"C", 255}}},
                                     Golden{"ADD A, B", {{"A", 13}}},
                                     Golden{"ADD A, B, J", {{"J", 13}}},
                                     Golden{"ADD C, H, I", {{"I", 255}}},
                                     Golden{"SUB A", {{"ACC", 0}}},
                                     Golden{"SUB B", {{"ACC", 4}}},
                                     Golden{"SUB A, B", {{"A", 7}}},
                                     Golden{"SUB B, A", {{"B", 0}}},
                                     Golden{"SUB B, A, C", {{"C", 0}}},
                                     Golden{"SUB C, H, I", {{"I", 100}}},
                                     Golden{"MUL B", {{"ACC", 21}}},
                                     Golden{"MUL C", {{"ACC", 255}}},
                                     Golden{"MUL C, B", {{"C", 255}}},
                                     Golden{"MUL A, B", {{"A", 30}}},
                                     Golden{"MUL A, B, D", {{"D", 30}}},
                                     Golden{"MUL D, G, A", {{"A", 0}}},
                                     Golden{"DIV B", {{"ACC", 2}}},
                                     Golden{"DIV D", {{"ACC", 255}}},
                                     Golden{"DIV C, B", {{"C", 66}}},
                                     Golden{"DIV B, A", {{"B", 0}}},
                                     Golden{"DIV A, D", {{"A", 255}}},
                                     Golden{"DIV A, B, E", {{"E", 3}}},
                                     Golden{"DIV A, D, E", {{"E", 255}}},
                                     Golden{"AND A", {{"ACC", 2}}},
                                     Golden{"AND C, H", {{"C", 64}}},
                                     Golden{"AND A, B, J", {{"J", 2}}},
                                     Golden{"OR A", {{"ACC", 15}}},
                                     Golden{"OR A, B", {{"A", 11}}},
                                     Golden{"OR E, F, G", {{"G", 0x81}}},
                                     Golden{"XOR A", {{"ACC", 13}}},
                                     Golden{"XOR C, C", {{"C", 0}}},
                                     Golden{"XOR A, B, C", {{"C", 9}}},
                                     Golden{"MOV A, C", {{"A", 200}}},
                                     Golden{"MOV J, A", {{"J", 10}}}};

INSTANTIATE_TEST_SUITE_P(EveryOpcodeAndForm, BgptGolden, ::testing::ValuesIn(kGolden));

TEST(BgptEmulator, EveryOpcodeAndFormHasAGoldenCase) {
  // The cases that run above (kGolden, and the HLT every case ends with) cover every (opcode,
  // form) pair of the table.
  std::vector<std::string> texts = {"HLT"};
  for (const Golden& g : kGolden) texts.push_back(g.insn);
  EXPECT_EQ(test::forms_without_case(isa::Profile::bgpt, texts), std::vector<std::string>{});
}

TEST(BgptEmulator, StateIsRecordedAfterFetchBeforeExecute) {
  // 0: LOADI 9   1: POP B   2: HLT
  const auto r = test::run_asm(test::bgpt_config(), "LOADI 9\nPOP B\nHLT");
  ASSERT_EQ(r.count(), 4u);
  // State 1: PC=1, IR=LOADI 9, ACC still 0.
  EXPECT_EQ(r.state(1)[isa::kPC], 1);
  EXPECT_EQ(r.state(1)[isa::kIR], 11);
  EXPECT_EQ(r.state(1)[isa::kIR + 1], 9);
  EXPECT_EQ(r.state(1)[isa::kAcc], 0);
  // State 2: LOADI executed, POP B fetched, B not yet written.
  EXPECT_EQ(r.state(2)[isa::kAcc], 9);
  EXPECT_EQ(r.state(2)[isa::kIR], 10);
  EXPECT_EQ(r.state(2)[breg(2)], 0);
  // State 3: POP executed, HLT fetched: the last state.
  EXPECT_EQ(r.state(3)[breg(2)], 9);
  EXPECT_EQ(r.state(3)[isa::kPC], 3);
  EXPECT_EQ(r.outcome.steps, 3u);
}

TEST(BgptEmulator, TraceFileIsImageThenStates) {
  const isa::Config c = test::bgpt_config();
  const auto prog = isa::assemble(c.profile, "INC\nINC A\nHLT");
  std::vector<uint8_t> image(1024, 0);
  std::copy(prog.begin(), prog.end(), image.begin());
  std::vector<uint8_t> init = emu::zero_state(c);
  std::vector<uint8_t> trace;
  emu::run_trace(c, image, init, trace);
  // n = 3 instructions: 1024 + 16 * (3 + 1) bytes.
  ASSERT_EQ(trace.size(), 1024u + 16 * 4);
  EXPECT_TRUE(std::equal(image.begin(), image.end(), trace.begin()));
  EXPECT_TRUE(std::equal(init.begin(), init.end(), trace.begin() + 1024));
}

TEST(BgptEmulator, PcCapOn255InstructionProgram) {
  std::string text;
  for (int i = 0; i < 254; ++i) text += "INC\n";
  text += "HLT\n";
  const auto r = test::run_asm(test::bgpt_config(), text);
  ASSERT_EQ(r.outcome.stop, emu::Stop::halted);
  ASSERT_EQ(r.count(), 256u);  // 1 + n
  EXPECT_EQ(r.last()[isa::kPC], 255);
  EXPECT_EQ(r.state(254)[isa::kPC], 254);
  EXPECT_EQ(r.last()[isa::kAcc], 254);  // all 254 INCs executed when HLT is fetched
}

TEST(BgptEmulator, FullMemoryPcStaysAtLastSlot) {
  // 256 instructions, no HLT: the PC is capped at 255 and slot 255 repeats to the step limit.
  std::string text;
  for (int i = 0; i < 256; ++i) text += "INC\n";
  isa::Config c = test::bgpt_config();
  c.step_limit = 300;
  const auto r = test::run_asm(c, text);
  EXPECT_EQ(r.outcome.stop, emu::Stop::step_limit);
  EXPECT_EQ(r.count(), 301u);
  EXPECT_EQ(r.state(256)[isa::kPC], 255);
  EXPECT_EQ(r.state(300)[isa::kPC], 255);
  EXPECT_EQ(r.state(300)[isa::kAcc], 255);
}

TEST(BgptEmulator, SixtyFourByteMemoryCapsPcAt15) {
  // 16 instruction slots: 15 x INC then HLT in slot 15; the PC after fetching slot 15 stays 15.
  std::string text;
  for (int i = 0; i < 15; ++i) text += "INC B\n";
  text += "HLT\n";
  const auto r = test::run_asm(test::bgpt_config(64), text);
  ASSERT_EQ(r.outcome.stop, emu::Stop::halted);
  ASSERT_EQ(r.count(), 17u);
  EXPECT_EQ(r.state(15)[isa::kPC], 15);
  EXPECT_EQ(r.state(16)[isa::kPC], 15);
  EXPECT_EQ(r.last()[breg(2)], 15);
  // The file is 64 + 16 * 17 bytes.
  std::vector<uint8_t> trace;
  const auto prog = isa::assemble(isa::Profile::bgpt, text);
  emu::run_trace(test::bgpt_config(64), prog, emu::zero_state(test::bgpt_config(64)), trace);
  EXPECT_EQ(trace.size(), 64u + 16 * 17);
}

TEST(BgptEmulator, InvalidOpcodeNamesPcAndBytes) {
  const auto r = test::run_asm(test::bgpt_config(), "INC\n.insn 21 1 2 3\nHLT");
  EXPECT_EQ(r.outcome.stop, emu::Stop::fault);
  EXPECT_EQ(r.outcome.fault, isa::Fault::bad_opcode);
  EXPECT_EQ(emu::describe_fault(isa::Profile::bgpt, r.outcome),
            "invalid opcode at PC 1: bytes 15 01 02 03");
}

TEST(BgptEmulator, RegisterOutsideOneToTenIsAFault) {
  for (const char* bad : {".insn 9 0 0 0", ".insn 10 11 0 0", ".insn 13 1 11 0", ".insn 13 1 2 200",
                          ".insn 12 0 0 0", ".insn 20 1 0 0", ".insn 2 11 0 0", ".insn 13 0 5 0"}) {
    const auto r = test::run_asm(test::bgpt_config(), std::string(bad) + "\nHLT");
    EXPECT_EQ(r.outcome.fault, isa::Fault::bad_register) << bad;
    EXPECT_EQ(r.outcome.pc, 0) << bad;
  }
}

TEST(BgptEmulator, PcOutsideMemoryIsAFault) {
  const isa::Config c = test::bgpt_config(64);
  std::vector<uint8_t> image(64, 0), init(16, 0), states;
  init[isa::kPC] = 16;
  const auto o = emu::run(c, image, init, states);
  EXPECT_EQ(o.fault, isa::Fault::bad_pc);
}

TEST(BgptEmulator, SizesAreChecked) {
  const isa::Config c = test::bgpt_config();
  std::vector<uint8_t> image(1000, 0), init(16, 0), states;
  EXPECT_THROW(emu::run(c, image, init, states), Error);
}

}  // namespace
}  // namespace cpusim

namespace cpusim {
namespace {

TEST(BgptEmulator, ArithmeticMatchesTheSpecOnAllOperandPairs) {
  // The branch-free forms (saturation masks, reciprocal division) against the spec's formulas.
  using S = emu::bgpt::Sem;
  for (unsigned x = 0; x < 256; ++x) {
    ASSERT_EQ(S::INC(x, 0), std::min(x + 1, 255u));
    ASSERT_EQ(S::DEC(x, 0), x == 0 ? 0u : x - 1);
    for (unsigned y = 0; y < 256; ++y) {
      ASSERT_EQ(S::ADD(x, y), std::min(x + y, 255u)) << x << " " << y;
      ASSERT_EQ(S::SUB(x, y), x > y ? x - y : 0u) << x << " " << y;
      ASSERT_EQ(S::MUL(x, y), std::min(x * y, 255u)) << x << " " << y;
      ASSERT_EQ(S::DIV(x, y), y == 0 ? 255u : x / y) << x << " " << y;
    }
  }
}

}  // namespace
}  // namespace cpusim
