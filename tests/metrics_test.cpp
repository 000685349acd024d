// tests/metrics_test.cpp: the harness's metrics on hand-built predictions with answers worked
// out by hand, the do-nothing baseline included.
#include "harness/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "harness/report.h"
#include "tests/test_util.h"

namespace cpusim {
namespace {

// INC / INC A / HLT from the zero state: 4 states, 3 scored.
//   s1: PC 1, IR INC            (changed vs s0: PC, IR0)
//   s2: PC 2, IR INC A, ACC 1   (changed: PC, IR1, ACC)
//   s3: PC 3, IR HLT, A 1       (changed: PC, IR0, IR1, A)
std::vector<uint8_t> trace() {
  const isa::Config c = test::bgpt_config(64);
  auto image = isa::assemble(c.profile, "INC\nINC A\nHLT");
  image.resize(64, 0);
  std::vector<uint8_t> t;
  emu::run_trace(c, image, emu::zero_state(c), t);
  return t;
}

TEST(Metrics, PerfectPrediction) {
  const isa::Config c = test::bgpt_config(64);
  const auto t = trace();
  harness::Scorer s(c, harness::Mode::teacher);
  s.add(0, t, std::span(t).subspan(64 + 16));
  const auto& m = s.total().model;
  EXPECT_EQ(m.states, 3u);
  EXPECT_EQ(m.matched_bytes, 48u);
  EXPECT_EQ(m.exact_states, 3u);
  EXPECT_EQ(m.changed_bytes, 9u);
  EXPECT_EQ(m.matched_changed, 9u);
  EXPECT_EQ(s.exact_traces(), 1u);
  // Attribution: state 1 follows no instruction; states 2 and 3 follow INC and INC A.
  EXPECT_EQ(s.per_opcode().at("(first fetch)").model.states, 1u);
  EXPECT_EQ(s.per_opcode().at("INC").model.states, 2u);
  EXPECT_EQ(s.per_form().at("INC -").model.states, 1u);
  EXPECT_EQ(s.per_form().at("INC r").model.states, 1u);
  EXPECT_EQ(s.per_length().at("1-8").model.states, 3u);
}

TEST(Metrics, DoNothingBaseline) {
  const isa::Config c = test::bgpt_config(64);
  const auto t = trace();
  harness::Scorer s(c, harness::Mode::teacher);
  s.add(0, t, std::span(t).subspan(64 + 16));
  const auto& b = s.total().baseline;
  // Wrong: ACC in s2, A in s3.
  EXPECT_EQ(b.matched_bytes, 46u);
  EXPECT_EQ(b.exact_states, 1u);
  EXPECT_EQ(b.changed_bytes, 9u);
  EXPECT_EQ(b.matched_changed, 7u);
  // Per field: ACC right in 2 of 3 states for the baseline.
  const auto acc = std::find_if(s.per_field().begin(), s.per_field().end(),
                                [](const auto& f) { return f.first == "ACC"; });
  ASSERT_NE(acc, s.per_field().end());
  EXPECT_EQ(acc->second.baseline.states, 3u);
  EXPECT_EQ(acc->second.baseline.matched_bytes, 2u);
  EXPECT_EQ(acc->second.baseline.changed_bytes, 1u);
  EXPECT_EQ(acc->second.baseline.matched_changed, 0u);
}

TEST(Metrics, CopyThePreviousStatePrediction) {
  // Predicting "nothing changes" gets every changed byte wrong.
  const isa::Config c = test::bgpt_config(64);
  const auto t = trace();
  std::vector<uint8_t> pred(t.begin() + 64, t.begin() + 64 + 48);  // s0, s1, s2 as s1', s2', s3'
  harness::Scorer s(c, harness::Mode::teacher);
  s.add(0, t, pred);
  const auto& m = s.total().model;
  EXPECT_EQ(m.matched_bytes, 48u - 9u);
  EXPECT_EQ(m.matched_changed, 0u);
  EXPECT_EQ(m.exact_states, 0u);
}

TEST(Metrics, MissingStatesCountAsWrongAndRolloutDivergence) {
  const isa::Config c = test::bgpt_config(64);
  const auto t = trace();
  std::vector<uint8_t> pred(t.begin() + 64 + 16,
                            t.begin() + 64 + 16 + 16 + 5);  // s1 and 5 bytes of s2
  harness::Scorer s(c, harness::Mode::rollout);
  s.add(0, t, pred);
  const auto& m = s.total().model;
  EXPECT_EQ(m.matched_bytes, 16u + 5u);
  EXPECT_EQ(m.exact_states, 1u);
  EXPECT_EQ(s.divergence().at("1-8"), 1u);
  EXPECT_EQ(s.worst().size(), 1u);
  EXPECT_EQ(s.worst()[0].first_divergence, 2);
  // Report keys.
  const auto j = harness::report_json(s, {{"model", "x"}});
  for (const char* k : {"traces", "states", "byte_accuracy", "state_accuracy",
                        "changed_byte_accuracy", "baseline", "per_opcode"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_TRUE(j["per_opcode"]["INC"].contains("states"));
  EXPECT_TRUE(j["per_opcode"]["INC"]["baseline"].contains("changed_byte_accuracy"));
  const std::string md = harness::report_markdown(s, {{"model", "x"}});
  EXPECT_NE(md.find("## Worst cases"), std::string::npos);
  EXPECT_NE(md.find("A: expected"), std::string::npos) << md;
  // The chart is linked only when there is one.
  EXPECT_EQ(md.find(".png"), std::string::npos) << md;
  EXPECT_NE(harness::report_markdown(s, {{"model", "x"}}, "per-opcode.png")
                .find("![per-opcode accuracy](per-opcode.png)"),
            std::string::npos);
  EXPECT_NE(harness::report_markdown(s, {{"model", "x"}}, "", "by-step.png")
                .find("![accuracy by step index](by-step.png)"),
            std::string::npos);
}

// The trace of toy `program` from the zero state: image, then every state.
std::vector<uint8_t> toy_trace(const isa::Config& c, const std::string& program) {
  auto image = isa::assemble(c.profile, program);
  image.resize(isa::image_bytes(c), 0);
  std::vector<uint8_t> t;
  emu::run_trace(c, image, emu::zero_state(c), t);
  return t;
}

TEST(Metrics, ToyFieldsIncludeEveryDataByteAndFlags) {
  const isa::Config c = test::toy_config();
  const auto t = toy_trace(c, "LDI R0, 7\nST [3], R0\nCMPI R0, 7\nHLT");
  harness::Scorer s(c, harness::Mode::teacher);
  s.add(0, t, std::span(t).subspan(isa::image_bytes(c) + isa::state_bytes(c)));
  bool has_m3 = false, has_flags = false;
  for (const auto& [name, p] : s.per_field()) {
    has_m3 |= name == "M[3]" && p.model.changed_bytes == 1;
    has_flags |= name == "FLAGS" && p.model.changed_bytes == 1;
  }
  EXPECT_TRUE(has_m3);
  EXPECT_TRUE(has_flags);
}

TEST(Metrics, ToyDataMemoryAloneOverallAndPerOpcode) {
  // LDI R0, 7 / ST [3], R0 / LD R1, [3] / HLT: the store writes M[3], the load reads it.
  const isa::Config c = test::toy_config();
  const auto t = toy_trace(c, "LDI R0, 7\nST [3], R0\nLD R1, [3]\nHLT");
  const size_t ib = isa::image_bytes(c), sb = isa::state_bytes(c);
  std::vector<uint8_t> pred(t.begin() + ib + sb, t.end());  // the true states after the first
  // The state after the store predicted with M[3] = 6 (its register and PC right).
  const size_t after_store = 3;  // state 1 is the first fetch, 2 follows LDI, 3 follows ST
  ASSERT_EQ(t[ib + after_store * sb + isa::kHeaderBytes + 3], 7);
  pred[(after_store - 1) * sb + isa::kHeaderBytes + 3] = 6;
  harness::Scorer s(c, harness::Mode::teacher);
  ASSERT_TRUE(s.has_data_memory());
  s.add(0, t, pred);
  const harness::Pair& mem = s.data_memory();
  EXPECT_EQ(mem.model.states, 4u);
  EXPECT_EQ(mem.model.bytes, 4u * c.memory_size);
  EXPECT_EQ(mem.model.matched_bytes, 4u * c.memory_size - 1);
  EXPECT_EQ(mem.model.exact_states, 3u);
  EXPECT_EQ(mem.model.changed_bytes, 1u);  // only the store writes memory
  EXPECT_EQ(mem.model.matched_changed, 0u);
  EXPECT_EQ(mem.baseline.matched_changed, 0u);  // the do-nothing baseline copies the old 0
  const auto& ops = s.per_opcode_memory();
  EXPECT_EQ(ops.at("ST").model.changed_bytes, 1u);
  EXPECT_EQ(ops.at("ST").model.exact_states, 0u);
  EXPECT_EQ(ops.at("LD").model.exact_states, 1u);
  EXPECT_EQ(ops.at("LD").model.changed_bytes, 0u);
  EXPECT_EQ(ops.at("LDI").model.states, 1u);
  // Every report shows it.
  const auto j = harness::report_json(s, {});
  EXPECT_EQ(j["data_memory"]["changed_bytes"], 1u);
  EXPECT_EQ(j["per_opcode_memory"]["ST"]["states"], 1u);
  const std::string md = harness::report_markdown(s, {});
  EXPECT_NE(md.find("| data memory (its bytes alone) | 4 |"), std::string::npos) << md;
  EXPECT_NE(md.find("## Data memory per opcode"), std::string::npos);
  EXPECT_NE(md.find("| ST | 1 |"), std::string::npos);
  // bgpt's states have no data memory: no such slice.
  harness::Scorer b(test::bgpt_config(64), harness::Mode::teacher);
  EXPECT_FALSE(b.has_data_memory());
  EXPECT_FALSE(harness::report_json(b, {}).contains("per_opcode_memory"));
}

}  // namespace
}  // namespace cpusim
