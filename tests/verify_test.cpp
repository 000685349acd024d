// tests/verify_test.cpp: `verify` scoring on hand-made corrupted and truncated traces, with the
// expected counts worked out by hand.
#include "harness/verify.h"

#include <gtest/gtest.h>

#include "common/io.h"
#include "tests/test_util.h"

namespace cpusim {
namespace {

// A 3-instruction bgpt program: INC / INC A / HLT -> 4 states, 3 of them scored (48 bytes).
std::vector<uint8_t> make_trace(const isa::Config& c) {
  const auto prog = isa::assemble(c.profile, "INC\nINC A\nHLT");
  std::vector<uint8_t> image(isa::image_bytes(c), 0);
  std::copy(prog.begin(), prog.end(), image.begin());
  std::vector<uint8_t> trace;
  emu::run_trace(c, image, emu::zero_state(c), trace);
  return trace;
}

TEST(Verify, PerfectTraceScoresAll) {
  const isa::Config c = test::bgpt_config();
  const auto r = harness::verify_trace(c, make_trace(c), "t.bin");
  EXPECT_EQ(r.trace.tally.bytes, 48u);
  EXPECT_EQ(r.trace.tally.matched_bytes, 48u);
  EXPECT_EQ(r.trace.tally.states, 3u);
  EXPECT_EQ(r.trace.tally.exact_states, 3u);
  EXPECT_EQ(r.trace.first_mismatch, -1);
}

TEST(Verify, CorruptedBytesCountExactly) {
  const isa::Config c = test::bgpt_config();
  auto t = make_trace(c);
  // Two bytes in state 1, one in state 3; the first state (index 0) is input, never scored.
  t[1024 + 16 * 1 + 1] ^= 1;
  t[1024 + 16 * 1 + 7] ^= 0xff;
  t[1024 + 16 * 3 + 0] = 99;
  const auto r = harness::verify_trace(c, t, "t.bin");
  EXPECT_EQ(r.trace.tally.matched_bytes, 45u);
  EXPECT_EQ(r.trace.tally.exact_states, 1u);
  EXPECT_EQ(r.trace.first_mismatch, 1);
}

TEST(Verify, ReExecutesFromTheFilesFirstState) {
  // D = 5 in the first state: the true run keeps D = 5, the file's later states say D = 0, so
  // each of the 3 scored states has one wrong byte.
  const isa::Config c = test::bgpt_config();
  auto t = make_trace(c);
  t[1024 + 9] = 5;
  const auto r = harness::verify_trace(c, t, "t.bin");
  EXPECT_EQ(r.trace.tally.matched_bytes, 45u);
  EXPECT_EQ(r.trace.tally.exact_states, 0u);
  EXPECT_EQ(r.trace.first_mismatch, 1);
}

TEST(Verify, TruncatedTraceCountsMissingBytes) {
  const isa::Config c = test::bgpt_config();
  auto t = make_trace(c);
  t.resize(t.size() - 20);  // state 3 gone, 4 bytes of state 2 gone
  const auto r = harness::verify_trace(c, t, "t.bin");
  EXPECT_EQ(r.trace.tally.bytes, 48u);
  EXPECT_EQ(r.trace.tally.matched_bytes, 28u);
  EXPECT_EQ(r.trace.tally.missing_bytes, 20u);
  EXPECT_EQ(r.trace.tally.exact_states, 1u);
  EXPECT_EQ(r.trace.first_mismatch, 2);
}

TEST(Verify, ExtraBytesAreIgnored) {
  const isa::Config c = test::bgpt_config();
  auto t = make_trace(c);
  t.insert(t.end(), 40, 0xab);
  const auto r = harness::verify_trace(c, t, "t.bin");
  EXPECT_EQ(r.trace.tally.matched_bytes, 48u);
  EXPECT_EQ(r.trace.tally.bytes, 48u);
}

TEST(Verify, OnlyImageAndFirstStateScoresMissingEverything) {
  const isa::Config c = test::bgpt_config();
  auto t = make_trace(c);
  t.resize(1024 + 16);
  const auto r = harness::verify_trace(c, t, "t.bin");
  EXPECT_EQ(r.trace.tally.matched_bytes, 0u);
  EXPECT_EQ(r.trace.tally.bytes, 48u);
  EXPECT_EQ(r.trace.tally.exact_states, 0u);
}

TEST(Verify, TooShortFileIsAnErrorNamingIt) {
  const isa::Config c = test::bgpt_config();
  auto t = make_trace(c);
  t.resize(1024 + 15);
  try {
    harness::verify_trace(c, t, "short.bin");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("short.bin: too short (1039 bytes)"), std::string::npos)
        << e.what();
  }
}

TEST(Verify, InvalidProgramIsAnErrorNamingIt) {
  const isa::Config c = test::bgpt_config(64);
  std::vector<uint8_t> t(64 + 32, 0);
  t[0] = 30;  // invalid opcode at PC 0
  EXPECT_THROW(harness::verify_trace(c, t, "bad.bin"), Error);
}

TEST(Verify, ToyTraceWithMemoryCorruption) {
  const isa::Config c = test::toy_config();
  const auto prog = isa::assemble(c.profile, "LDI R0, 9\nST [4], R0\nHLT");
  std::vector<uint8_t> image(isa::image_bytes(c), 0);
  std::copy(prog.begin(), prog.end(), image.begin());
  std::vector<uint8_t> t;
  emu::run_trace(c, image, emu::zero_state(c), t);
  const size_t sb = isa::state_bytes(c);  // 48
  ASSERT_EQ(t.size(), 256 + sb * 4);
  t[256 + sb * 3 + 16 + 4] = 0;  // the stored byte, in the last state
  const auto r = harness::verify_trace(c, t, "t.bin");
  EXPECT_EQ(r.trace.tally.bytes, 3 * sb);
  EXPECT_EQ(r.trace.tally.matched_bytes, 3 * sb - 1);
  EXPECT_EQ(r.trace.first_mismatch, 3);
}

}  // namespace
}  // namespace cpusim
