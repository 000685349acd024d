// tests/crosscheck_test.cpp: the Unicorn cross-check: thousands of random programs of both
// profiles agree; single instructions on random states agree (RapidCheck); broken semantics are
// caught, reported field by field with host code, and shrunk to a small reproducer.
#include "emulator/crosscheck.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <bit>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "datagen/generator.h"
#include "emulator/crosscheck_run.h"
#include "emulator/lower.h"
#include "isa/asm.h"
#include "tests/test_util.h"

namespace cpusim {
namespace {

void check_random(isa::Profile p, uint64_t seed, int programs) {
  datagen::GenConfig g;
  g.isa = isa::default_config(p);
  xcheck::Checker checker(g.isa);
  datagen::Instance inst;
  for (int i = 0; i < programs; ++i) {
    datagen::Rng rng = datagen::Rng::for_item(seed, uint64_t(i));
    datagen::random_instance(g, rng, inst);
    const auto m = checker.check(inst.image, inst.init);
    ASSERT_FALSE(m) << "program " << i << "\n" << xcheck::describe(g.isa, checker, *m);
  }
  EXPECT_GT(checker.instructions(), uint64_t(programs));
}

TEST(Crosscheck, TwoThousandBgptProgramsAgree) { check_random(isa::Profile::bgpt, 101, 2000); }
TEST(Crosscheck, TwoThousandToyProgramsAgree) { check_random(isa::Profile::toy, 202, 2000); }

// The cross-check runs Unicorn without a timeout, so a run must end by itself: it does when every
// loop of the lowered code passes a stub, where the boundary hook counts toy instructions and stops
// Unicorn past the interpreter's last state. Every branch is direct, and a backward one lands on a
// stub's first instruction or on the exit.
TEST(Crosscheck, EveryLoopCrossesTheBoundaryHook) {
  auto sext = [](uint32_t v, int bits) {
    return int64_t(int32_t(v << (32 - bits)) >> (32 - bits));
  };
  for (isa::Profile p : {isa::Profile::bgpt, isa::Profile::toy}) {
    datagen::GenConfig g;
    g.isa = isa::default_config(p);
    datagen::Instance inst;
    size_t backward = 0;
    for (int i = 0; i < 300; ++i) {
      datagen::Rng rng = datagen::Rng::for_item(303, uint64_t(i));
      datagen::random_instance(g, rng, inst);
      const uint64_t base = 0x10000;
      const lower::Program prog = lower::lower(g.isa, inst.image, base);
      for (size_t w = 0; w < prog.code.size(); ++w) {
        const uint32_t insn = prog.code[w];
        const uint64_t at = base + 4 * w;
        ASSERT_NE(insn & 0xFE000000u, 0xD6000000u) << "indirect branch at word " << w;
        int64_t off;
        if ((insn & 0x7C000000u) == 0x14000000u)
          off = 4 * sext(insn & 0x3FFFFFFu, 26);  // B, BL
        else if ((insn & 0xFF000010u) == 0x54000000u)
          off = 4 * sext((insn >> 5) & 0x7FFFFu, 19);  // B.cond
        else if ((insn & 0x7E000000u) == 0x34000000u)
          off = 4 * sext((insn >> 5) & 0x7FFFFu, 19);  // CBZ/CBNZ
        else if ((insn & 0x7E000000u) == 0x36000000u)
          off = 4 * sext((insn >> 5) & 0x3FFFu, 14);  // TBZ/TBNZ
        else
          continue;
        ASSERT_NE(off, 0) << "branch to itself at word " << w;
        if (off > 0) continue;
        const uint64_t to = at + uint64_t(off);
        if (to == prog.exit) continue;  // emulation ends there
        ++backward;
        ASSERT_LT(to, prog.exit) << "backward branch at word " << w << " lands past the stubs";
        ASSERT_EQ((to - base) % lower::kStubBytes, 0u)
            << "backward branch at word " << w << " lands inside a stub";
      }
    }
    EXPECT_GT(backward, 0u);  // the decoder sees the branches back to the stubs
  }
}

TEST(Crosscheck, SmallMemoriesAgree) {
  datagen::GenConfig g;
  g.isa = isa::default_config(isa::Profile::bgpt);
  g.isa.memory_size = 64;  // PC capped at 15
  xcheck::Checker checker(g.isa);
  datagen::GenConfig t;
  t.isa = isa::default_config(isa::Profile::toy);
  t.isa.memory_size = 16;
  t.isa.program_size = 64;
  t.isa.step_limit = 40;
  xcheck::Checker toy(t.isa);
  datagen::Instance inst;
  for (int i = 0; i < 300; ++i) {
    datagen::Rng r1 = datagen::Rng::for_item(5, uint64_t(i)),
                 r2 = datagen::Rng::for_item(6, uint64_t(i));
    datagen::random_instance(g, r1, inst);
    ASSERT_FALSE(checker.check(inst.image, inst.init)) << i;
    datagen::random_instance(t, r2, inst);
    ASSERT_FALSE(toy.check(inst.image, inst.init)) << i;
  }
}

TEST(Crosscheck, FullImageWithoutHltAgreesAtTheStepLimit) {
  // bgpt: 256 INCs, PC capped at 255, slot 255 repeats until the step limit.
  isa::Config c = isa::default_config(isa::Profile::bgpt);
  c.step_limit = 400;
  std::string text;
  for (int i = 0; i < 256; ++i) text += i % 2 ? "INC A\n" : "INC\n";
  const auto image = isa::assemble(c.profile, text);
  xcheck::Checker checker(c);
  EXPECT_FALSE(checker.check(image, emu::zero_state(c)));
  EXPECT_EQ(checker.instructions(), 400u);
}

TEST(Crosscheck, InvalidInstructionsFaultOnBothSides) {
  const isa::Config c = isa::default_config(isa::Profile::bgpt);
  auto image = isa::assemble(c.profile, "INC\n.insn 40 0 0 0\n");
  image.resize(1024, 0);
  xcheck::Checker checker(c);
  EXPECT_FALSE(checker.check(image, emu::zero_state(c)));
  auto bad_reg = isa::assemble(c.profile, "INC\n.insn 13 1 12 0\n");
  bad_reg.resize(1024, 0);
  EXPECT_FALSE(checker.check(bad_reg, emu::zero_state(c)));
}

// Property: one random instruction (any valid opcode and form), then HLT, from a random state.
void single_instruction_property(isa::Profile p) {
  isa::Config c = isa::default_config(p);
  xcheck::Checker checker(c);
  datagen::GenConfig g;
  g.isa = c;
  rc::check([&] {
    const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
    const auto state = *rc::gen::container<std::vector<uint8_t>>(isa::state_bytes(c),
                                                                 rc::gen::arbitrary<uint8_t>());
    datagen::Rng rng(seed);
    const isa::Insn in = datagen::random_insn(g, rng, 0, 2);
    std::vector<uint8_t> image(isa::image_bytes(c), 0);
    image[0] = in.op, image[1] = in.a1, image[2] = in.a2, image[3] = in.a3;
    std::vector<uint8_t> init = state;
    init[isa::kPC] = 0;
    if (p == isa::Profile::toy) init[isa::kFlags] &= isa::kFlagZ | isa::kFlagC;
    const auto m = checker.check(image, init);
    RC_ASSERT(!m);
  });
}

TEST(CrosscheckProperty, SingleBgptInstructionsAgreeOnRandomStates) {
  single_instruction_property(isa::Profile::bgpt);
}
TEST(CrosscheckProperty, SingleToyInstructionsAgreeOnRandomStates) {
  single_instruction_property(isa::Profile::toy);
}

TEST(Crosscheck, MutantIsCaughtReportedAndShrunk) {
  const isa::Config c = isa::default_config(isa::Profile::toy);
  const emu::Mutation mut{/*op=*/7, isa::Form::rr, false};  // ADD r,r
  datagen::GenConfig g;
  g.isa = c;
  xcheck::Checker checker(c);
  datagen::Instance inst;
  std::optional<xcheck::Mismatch> m;
  for (uint64_t i = 0; i < 200 && !m; ++i) {
    datagen::Rng rng = datagen::Rng::for_item(9, i);
    datagen::random_instance(g, rng, inst);
    m = checker.check(inst.image, inst.init, &mut);
  }
  ASSERT_TRUE(m);
  EXPECT_EQ(m->insn.op, 7);
  const std::string report = xcheck::describe(c, checker, *m);
  EXPECT_NE(report.find("after executing: ADD"), std::string::npos) << report;
  EXPECT_NE(report.find(": interpreter "), std::string::npos) << report;  // a field's two values
  EXPECT_NE(report.find(", unicorn "), std::string::npos) << report;
  EXPECT_NE(report.find("add w0"), std::string::npos) << report;  // Capstone's listing of the block
  const xcheck::Repro r = xcheck::minimise(c, checker, inst.image, inst.init, &mut);
  // Shrunk to the ADD and the HLT.
  EXPECT_EQ(isa::disassemble_program(c.profile, r.image).find('\n') + 1,
            isa::disassemble_program(c.profile, r.image).rfind("HLT"));
  EXPECT_TRUE(checker.check(r.image, r.init, &mut));
  EXPECT_FALSE(checker.check(r.image, r.init));
}

TEST(Crosscheck, EveryOpcodeHasALoweringAndAllMutantsAreCaught) {
  // The self-test in miniature: every (opcode, form) of both profiles, broken, is caught within
  // 300 random programs; its lowering exists (a missing one would never be executed correctly).
  for (isa::Profile p : {isa::Profile::bgpt, isa::Profile::toy}) {
    datagen::GenConfig g;
    g.isa = isa::default_config(p);
    const auto st =
        xcheck::self_test(g.isa, datagen::random_programs(g, 77), 300, /*jobs=*/2, /*edges=*/false);
    size_t forms = 0;
    for (const isa::OpInfo& op : isa::opcodes(p)) forms += std::popcount(unsigned(op.forms));
    EXPECT_EQ(st.mutants.size(), forms);  // one mutant per (opcode, form) of the table
    EXPECT_EQ(st.caught(), int(forms));
    EXPECT_EQ(st.survivors(p), std::vector<std::string>{});
  }
}

TEST(Crosscheck, RunnerFindsTheLowestFailingProgramWhateverTheJobs) {
  datagen::GenConfig g;
  g.isa = isa::default_config(isa::Profile::toy);
  const auto mut = xcheck::parse_mutation(g.isa.profile, "ADD r,r");
  ASSERT_TRUE(mut);
  EXPECT_EQ(xcheck::mutation_name(g.isa.profile, *mut), "ADD r,r");
  EXPECT_FALSE(xcheck::parse_mutation(g.isa.profile, "ADD r,r,r,r"));
  const auto one = xcheck::run_programs(g.isa, datagen::random_programs(g, 9), 400, 1, &*mut);
  const auto two = xcheck::run_programs(g.isa, datagen::random_programs(g, 9), 400, 2, &*mut);
  ASSERT_TRUE(one.first && two.first);
  EXPECT_EQ(one.first->index, two.first->index);
  EXPECT_EQ(one.first->mismatch.step, two.first->mismatch.step);
  const auto clean = xcheck::run_programs(g.isa, datagen::random_programs(g, 9), 400, 2);
  EXPECT_FALSE(clean.first);
  EXPECT_EQ(clean.programs, 400u);
}

TEST(CrosscheckCli, ReportsAndErrors) {
  const std::string d = test::temp_dir("xcheck-cli");
  const std::string bin = test::cpusim_bin();
  auto r = test::shell(bin + " crosscheck --isa toy --programs 300 --json");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"mismatches\": 0"), std::string::npos) << r.output;
  r = test::shell(bin + " crosscheck --isa toy --programs 300 -q --mutate 'CMP r,r' --repro " + d +
                  "/rep");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("MISMATCH in program"), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::exists(d + "/rep.asm"));
  r = test::shell(bin + " crosscheck --isa toy --program " + d + "/rep.asm --init-state " + d +
                  "/rep.state");
  EXPECT_EQ(r.status, 0) << r.output;  // without the mutation the reproducer agrees
  r = test::shell(bin + " crosscheck --isa bgpt --self-test --json --programs 500");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"survivors\": []"), std::string::npos) << r.output;
  // A run split in two pieces (--first) checks the same programs as the whole run, and finds its
  // first mismatch at the same program.
  auto json_of = [&](const std::string& args) {
    const auto s = test::shell(bin + " crosscheck --isa toy --seed 9 --json -q --repro " + d +
                               "/piece " + args);
    return nlohmann::json::parse(
        s.output.substr(s.output.find('{'), s.output.rfind('}') - s.output.find('{') + 1));
  };
  const auto whole = json_of("--programs 400"), head = json_of("--programs 150"),
             tail = json_of("--programs 250 --first 150");
  EXPECT_EQ(head["complete_below"], 150);
  EXPECT_EQ(tail["complete_below"], 400);
  EXPECT_EQ(tail["first"], 150);
  EXPECT_EQ(whole["instructions"].get<uint64_t>(),
            head["instructions"].get<uint64_t>() + tail["instructions"].get<uint64_t>());
  const auto caught = json_of("--programs 400 --mutate 'CMP r,r'");
  ASSERT_EQ(caught["mismatches"], 1) << caught;
  const uint64_t at = caught["first_mismatch"]["program"];
  ASSERT_GE(at, 2u);  // (seed 9: the first programs do not reach a CMP r,r whose result matters)
  const auto later = json_of("--programs 400 --mutate 'CMP r,r' --first " + std::to_string(at / 2));
  EXPECT_EQ(later["first_mismatch"]["program"], at);
  EXPECT_EQ(later["complete_below"], at);
  for (const auto& [args, want] : std::vector<std::pair<std::string, std::string>>{
           {"crosscheck --mutate 'FOO r'", "--mutate 'FOO r': no such opcode and form"},
           {"crosscheck --program " + d + "/missing.asm", "missing.asm: cannot open"},
           {"crosscheck --isa toy --program " + d + "/rep.asm --init-state " + d + "/rep.asm",
            "initial state is"}}) {
    r = test::shell(bin + " " + args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(want), std::string::npos) << args << "\n" << r.output;
  }
}

}  // namespace
}  // namespace cpusim
