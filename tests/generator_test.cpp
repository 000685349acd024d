// tests/generator_test.cpp: the random program distributions: every program valid and ending in
// HLT, lengths uniform over their range, opcodes and forms near uniform, determinism.
#include "datagen/generator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "common/io.h"
#include "emulator/emulator.h"

namespace cpusim {
namespace {

TEST(Generator, BgptProgramsAreValidAndEndInHlt) {
  datagen::GenConfig g;
  g.isa = isa::default_config(isa::Profile::bgpt);
  datagen::Rng rng(7);
  datagen::Instance inst;
  for (int i = 0; i < 2000; ++i) {
    datagen::random_instance(g, rng, inst);
    ASSERT_GE(inst.length, 1u);
    ASSERT_LE(inst.length, 255u);
    for (unsigned k = 0; k + 1 < inst.length; ++k) {
      const isa::Insn in = isa::insn_at(inst.image.data() + 4 * k);
      ASSERT_NE(in.op, 0);
      ASSERT_EQ(isa::check(g.isa.profile, in), isa::Fault::none);
      ASSERT_EQ(isa::canonical(g.isa.profile, in), in);
    }
    for (size_t b = 4 * (inst.length - 1); b < inst.image.size(); ++b) ASSERT_EQ(inst.image[b], 0);
    std::vector<uint8_t> states;
    const auto o = emu::run(g.isa, inst.image, inst.init, states);
    ASSERT_EQ(o.stop, emu::Stop::halted);
    ASSERT_EQ(states.size(), 16u * (inst.length + 1));  // straight-line: 1 + n states
    ASSERT_EQ(inst.init[isa::kPC], 0);
  }
}

TEST(Generator, BgptDistributionIsUniform) {
  datagen::GenConfig g;
  g.isa = isa::default_config(isa::Profile::bgpt);
  datagen::Rng rng(11);
  datagen::Instance inst;
  std::map<int, int> ops;
  std::map<std::pair<int, int>, int> forms;
  std::vector<int> lengths(256, 0);
  long total = 0;
  const int kPrograms = 20000;
  for (int i = 0; i < kPrograms; ++i) {
    datagen::random_instance(g, rng, inst);
    ++lengths[inst.length];
    for (unsigned k = 0; k + 1 < inst.length; ++k) {
      const isa::Insn in = isa::insn_at(inst.image.data() + 4 * k);
      ++ops[in.op];
      ++forms[{in.op, int(*isa::form_of(g.isa.profile, in))}];
      ++total;
    }
  }
  // Lengths: 255 values, ~78 each; a 5-sigma band.
  const double per_len = kPrograms / 255.0;
  for (int n = 1; n <= 255; ++n) EXPECT_NEAR(lengths[n], per_len, 5 * std::sqrt(per_len)) << n;
  EXPECT_EQ(lengths[0], 0);
  // Opcodes: 20 values uniform.
  ASSERT_EQ(ops.size(), 20u);
  for (auto [op, count] : ops) EXPECT_NEAR(count, total / 20.0, 5 * std::sqrt(total / 20.0)) << op;
  // Forms: uniform within each opcode.
  for (auto [key, count] : forms) {
    const isa::OpInfo& info = isa::opcodes(g.isa.profile)[key.first];
    const int nforms = __builtin_popcount(info.forms);
    const double want = ops[key.first] / double(nforms);
    EXPECT_NEAR(count, want, 5 * std::sqrt(want)) << info.mnemonic;
  }
}

TEST(Generator, SameSeedSameInstance) {
  for (isa::Profile p : {isa::Profile::bgpt, isa::Profile::toy}) {
    datagen::GenConfig g;
    g.isa = isa::default_config(p);
    datagen::Instance a, b;
    auto r1 = datagen::Rng::for_item(5, 1000), r2 = datagen::Rng::for_item(5, 1000),
         r3 = datagen::Rng::for_item(5, 1001);
    datagen::random_instance(g, r1, a);
    datagen::random_instance(g, r2, b);
    EXPECT_EQ(a.image, b.image);
    EXPECT_EQ(a.init, b.init);
    datagen::random_instance(g, r3, b);
    EXPECT_NE(a.image, b.image);
  }
}

TEST(Generator, SmallMemoryLimitsLength) {
  datagen::GenConfig g;
  g.isa = isa::default_config(isa::Profile::bgpt);
  g.isa.memory_size = 64;
  EXPECT_EQ(datagen::max_len(g), 16u);
  g.max_len = 17;
  EXPECT_THROW(datagen::validate(g), Error);
}

TEST(Generator, ToyProgramsMostlyHalt) {
  datagen::GenConfig g;
  g.isa = isa::default_config(isa::Profile::toy);
  datagen::Rng rng(3);
  datagen::Instance inst;
  int halted = 0;
  const int kPrograms = 2000;
  for (int i = 0; i < kPrograms; ++i) {
    datagen::random_instance(g, rng, inst);
    std::vector<uint8_t> states;
    const auto o = emu::run(g.isa, inst.image, inst.init, states);
    ASSERT_NE(o.stop, emu::Stop::fault) << emu::describe_fault(g.isa.profile, o);
    halted += o.stop == emu::Stop::halted;
  }
  EXPECT_GT(halted, kPrograms * 7 / 10);
}

}  // namespace
}  // namespace cpusim
