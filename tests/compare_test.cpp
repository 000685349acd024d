// tests/compare_test.cpp: the one state comparator (isa/compare.h): per byte, per field, per
// trace, first differences and the difference renderer.
#include "isa/compare.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/test_util.h"

namespace cpusim {
namespace {

using test::breg;

TEST(Compare, ScoresAStateByteAndByChangedBytes) {
  const size_t sb = 16;
  std::vector<uint8_t> prev(sb, 0), truth(sb, 0), pred(sb, 0);
  truth[isa::kPC] = 1, truth[isa::kAcc] = 7, truth[breg(1)] = 3;  // three bytes changed
  pred = truth;
  pred[isa::kAcc] = 6;  // a changed byte wrong
  pred[breg(2)] = 9;    // an unchanged byte wrong
  const isa::Tally t = isa::score_state(truth.data(), prev.data(), pred.data(), sb, sb);
  EXPECT_EQ(t.states, 1u);
  EXPECT_EQ(t.exact_states, 0u);
  EXPECT_EQ(t.bytes, 16u);
  EXPECT_EQ(t.matched_bytes, 14u);
  EXPECT_EQ(t.changed_bytes, 3u);
  EXPECT_EQ(t.matched_changed, 2u);
  EXPECT_EQ(t.missing_bytes, 0u);
  // Only 10 bytes predicted: the other 6 are missing and wrong.
  const isa::Tally m = isa::score_state(truth.data(), prev.data(), truth.data(), 10, sb);
  EXPECT_EQ(m.matched_bytes, 10u);
  EXPECT_EQ(m.missing_bytes, 6u);
  EXPECT_EQ(m.exact_states, 0u);
}

TEST(Compare, AFieldCountsOnce) {
  const isa::Config c = test::bgpt_config(64);
  std::vector<uint8_t> prev(16, 0), truth(16, 0), pred(16, 0);
  truth[isa::kIR] = 5, truth[isa::kIR + 1] = 2;  // IR changed in two bytes
  pred = truth;
  pred[isa::kIR + 1] = 0;
  const auto fields = isa::state_fields(c);
  const isa::Field& ir = fields[2];
  ASSERT_EQ(ir.name, "IR");
  const isa::Tally t = isa::score_field(ir, truth.data(), prev.data(), pred.data(), 16);
  EXPECT_EQ(t.bytes, 1u);
  EXPECT_EQ(t.matched_bytes, 0u);
  EXPECT_EQ(t.changed_bytes, 1u);
  EXPECT_EQ(t.matched_changed, 0u);
  const isa::Tally a =
      isa::score_field(fields[1], truth.data(), prev.data(), pred.data(), 16);  // ACC, unchanged
  EXPECT_EQ(a.matched_bytes, 1u);
  EXPECT_EQ(a.changed_bytes, 0u);
}

TEST(Compare, AnEmptyCountHasNoAccuracy) {
  const isa::Tally empty;
  EXPECT_TRUE(std::isnan(empty.byte_accuracy()));
  EXPECT_TRUE(std::isnan(empty.state_accuracy()));
  EXPECT_TRUE(std::isnan(empty.changed_byte_accuracy()));
  isa::Tally t;
  t.bytes = 4, t.matched_bytes = 3;
  EXPECT_DOUBLE_EQ(t.byte_accuracy(), 0.75);
}

TEST(Compare, TraceScoreFindsTheFirstWrongState) {
  const size_t sb = 16;
  std::vector<uint8_t> truth(4 * sb, 0);
  for (size_t k = 0; k < 4; ++k) truth[k * sb + isa::kPC] = uint8_t(k);
  std::vector<uint8_t> pred(truth.begin() + sb, truth.end());  // states 1..3, exact
  EXPECT_TRUE(isa::score_trace(truth, pred, sb).exact());
  pred[sb + isa::kAcc] = 1;  // state 2 wrong
  const auto s = isa::score_trace(truth, pred, sb);
  EXPECT_EQ(s.first_mismatch, 2);
  EXPECT_EQ(s.tally.states, 3u);
  EXPECT_EQ(s.tally.exact_states, 2u);
  pred.resize(sb);  // only state 1 predicted
  const auto short_ = isa::score_trace(truth, pred, sb);
  EXPECT_EQ(short_.first_mismatch, 2);
  EXPECT_EQ(short_.tally.missing_bytes, 2 * sb);
}

TEST(Compare, FirstDifferenceSaysWhereAndWhetherTheLengthDiffers) {
  const size_t sb = 16;
  std::vector<uint8_t> a(3 * sb, 1), b = a;
  EXPECT_FALSE(isa::first_difference(a, b, sb));
  b[2 * sb + 5] = 0;
  auto d = isa::first_difference(a, b, sb);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->state, 2u);
  EXPECT_FALSE(d->length_differs);
  b = a;
  b.resize(2 * sb);
  d = isa::first_difference(a, b, sb);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->state, 2u);
  EXPECT_TRUE(d->length_differs);
}

TEST(Compare, RendersEachWrongFieldByName) {
  const isa::Config c = test::bgpt_config(64);
  std::vector<uint8_t> want(16, 0), got(16, 0);
  want[isa::kAcc] = 7, got[isa::kAcc] = 5;
  want[breg(2)] = 4;
  EXPECT_EQ(isa::render_differences(c, want.data(), got.data(), 16),
            "    ACC: expected 7, predicted 5\n    B: expected 4, predicted 0\n");
  EXPECT_EQ(isa::render_differences(c, want.data(), got.data(), 16, "unicorn", "  ", "interpreter"),
            "  ACC: interpreter 7, unicorn 5\n  B: interpreter 4, unicorn 0\n");
  EXPECT_EQ(isa::render_differences(c, want.data(), want.data(), 15, "predicted", ""),
            "J: expected 0, predicted (missing)\n");
  EXPECT_EQ(isa::render_differences(c, want.data(), want.data(), 16), "");
}

}  // namespace
}  // namespace cpusim
