// tests/evaluate_test.cpp: the evaluation library (harness/evaluate.h) with predictors that need
// no model: the emulator itself (every state right) and a predictor that copies the previous
// state (every changed byte wrong).
#include "harness/evaluate.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/io.h"
#include "datagen/generate.h"
#include "emulator/emulator.h"
#include "harness/predict.h"
#include "harness/report.h"
#include "harness/verify.h"
#include "isa/asm.h"
#include "tests/test_util.h"

namespace cpusim {
namespace {

// Predicts with the interpreter (exact) or by copying the previous true state.
class FakePredictor : public harness::Predictor {
 public:
  FakePredictor(const isa::Config& c, bool exact) : c_(c), exact_(exact) {}
  const isa::Config& isa() const override { return c_; }
  std::vector<std::vector<int16_t>> predict_teacher(
      const std::vector<std::span<const uint8_t>>& traces) override {
    const size_t ib = isa::image_bytes(c_), sb = isa::state_bytes(c_);
    std::vector<std::vector<int16_t>> out;
    for (const auto& t : traces) {
      const auto states = t.subspan(ib);
      std::vector<int16_t> p;
      for (size_t k = 1; k < states.size() / sb; ++k)
        for (size_t i = 0; i < sb; ++i) p.push_back(states[(exact_ ? k : k - 1) * sb + i]);
      out.push_back(p);
    }
    return out;
  }
  std::vector<std::vector<uint8_t>> rollout(const std::vector<std::span<const uint8_t>>& prefixes,
                                            int max_steps) override {
    const size_t ib = isa::image_bytes(c_), sb = isa::state_bytes(c_);
    std::vector<std::vector<uint8_t>> out;
    for (const auto& p : prefixes) {
      std::vector<uint8_t> states;
      emu::run(c_, p.subspan(0, ib), p.subspan(ib, sb), states);
      if (!exact_) std::fill(states.begin() + sb, states.end(), states[0]);
      states.resize(std::min(states.size(), sb * (size_t(max_steps) + 1)));
      out.emplace_back(states.begin() + sb, states.end());
    }
    return out;
  }
  nlohmann::json describe() const override { return {{"model", exact_ ? "emulator" : "copy"}}; }

 private:
  isa::Config c_;
  bool exact_;
};

// A 20 + 40 trace set in `dir`/set.h5 (bgpt: 64-byte memory).
std::string make_set(const std::string& dir, isa::Profile p) {
  datagen::DatagenConfig c;
  c.gen.isa = isa::default_config(p);
  if (p == isa::Profile::bgpt) c.gen.isa.memory_size = 64;
  c.train = 20, c.test = 40, c.seed = 5, c.progress = false;
  const std::string path = dir + "/set.h5";
  datagen::make_set(c, "h5", path);
  return path;
}

TEST(Evaluate, TheEmulatorScoresEverythingRightInBothModes) {
  for (isa::Profile p : {isa::Profile::bgpt, isa::Profile::toy}) {
    const std::string dir =
        test::temp_dir(std::string("evaluate-exact-") + std::string(isa::profile_name(p)));
    harness::EvalConfig ec;
    ec.data = make_set(dir, p);
    ec.progress = false;
    ec.batch = 7;  // chunks that do not divide the split
    for (harness::Mode mode : {harness::Mode::teacher, harness::Mode::rollout}) {
      ec.mode = mode;
      ec.report_dir = dir + "/report-" + std::to_string(int(mode));
      ec.predictions = dir + "/preds-" + std::to_string(int(mode));
      FakePredictor exact(datagen::H5Reader(ec.data).info().isa, true);
      const harness::EvalResult r = harness::evaluate(exact, ec);
      EXPECT_EQ(r.scorer.traces(), 40u);
      EXPECT_EQ(r.scorer.exact_traces(), 40u);
      EXPECT_DOUBLE_EQ(r.scorer.total().model.byte_accuracy(), 1.0);
      EXPECT_DOUBLE_EQ(r.scorer.total().model.changed_byte_accuracy(), 1.0);
      EXPECT_EQ(r.meta.at("model"), "emulator");
      EXPECT_TRUE(std::filesystem::exists(ec.report_dir + "/report.json"));
      // The written predictions re-execute to themselves.
      size_t files = 0;
      for (const auto& e : std::filesystem::directory_iterator(ec.predictions)) {
        if (e.path().extension() != ".bin") continue;  // cpusim.json names the machine
        const auto v = harness::verify_trace(exact.isa(), read_file(e.path()), e.path().string());
        EXPECT_TRUE(v.trace.exact()) << e.path();
        ++files;
      }
      EXPECT_EQ(files, 40u);
      EXPECT_THROW(harness::evaluate(exact, ec), Error);  // the predictions folder exists now
    }
  }
}

// An evaluation of a fresh bgpt set in `dir`, its report in `dir`/report.
harness::EvalConfig bgpt_eval(const std::string& dir) {
  harness::EvalConfig ec;
  ec.data = make_set(dir, isa::Profile::bgpt);
  ec.progress = false;
  ec.report_dir = dir + "/report";
  return ec;
}

TEST(Evaluate, CopyingThePreviousStateGetsNoChangedByteRight) {
  const std::string dir = test::temp_dir("evaluate-copy");
  harness::EvalConfig ec = bgpt_eval(dir);
  ec.limit = 25;
  FakePredictor copy(datagen::H5Reader(ec.data).info().isa, false);
  const harness::EvalResult r = harness::evaluate(copy, ec);
  EXPECT_EQ(r.scorer.traces(), 25u);
  EXPECT_EQ(r.scorer.total().model.matched_changed, 0u);
  EXPECT_GT(r.scorer.total().model.changed_bytes, 0u);
  EXPECT_EQ(r.scorer.total().model.exact_states, 0u);
  const auto head = harness::headline_json(r);
  EXPECT_FALSE(head.contains("per_field"));
  EXPECT_EQ(head.at("traces"), 25);
  EXPECT_NE(harness::headline_text(r, ec.report_dir).find("changed-byte acc.    0.00%"),
            std::string::npos);
}

TEST(Evaluate, RefusesAnotherMachineAndBadOptions) {
  const std::string dir = test::temp_dir("evaluate-refusals");
  harness::EvalConfig ec = bgpt_eval(dir);
  isa::Config other = datagen::H5Reader(ec.data).info().isa;
  other.memory_size = 128;
  FakePredictor wrong(other, true);
  try {
    harness::evaluate(wrong, ec);
    FAIL() << "a 128-byte predictor scored a 64-byte set";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--memory-size 128"), std::string::npos) << e.what();
  }
  FakePredictor right(datagen::H5Reader(ec.data).info().isa, true);
  ec.paper_layout = true;  // without --write-predictions
  EXPECT_THROW(harness::evaluate(right, ec), Error);
  ec.paper_layout = false;
  ec.split = "validation";
  EXPECT_THROW(harness::evaluate(right, ec), Error);
}

TEST(Predict, RendersEachStateAndTheWrongFields) {
  const isa::Config c = test::bgpt_config(64);
  // 0: LOADI 9   1: POP B   2: HLT
  auto image = isa::assemble(c.profile, "LOADI 9\nPOP B\nHLT");
  image.resize(64, 0);
  const std::vector<uint8_t> init(16, 0);
  FakePredictor exact(c, true), copy(c, false);
  const auto good = harness::predict_program(exact, image, init, "p");
  EXPECT_EQ(good.truth.size(), 4u * 16);
  EXPECT_EQ(good.predicted.size(), 3u * 16);
  EXPECT_NE(harness::render_prediction(c, good, false).find("3/3 states predicted exactly"),
            std::string::npos);
  const std::string bad =
      harness::render_prediction(c, harness::predict_program(copy, image, init, "p"), false);
  EXPECT_NE(bad.find("0/3 states predicted exactly"), std::string::npos) << bad;
  EXPECT_NE(bad.find("      ACC: expected 9, predicted 0\n"), std::string::npos) << bad;
  image[4] = 99;  // POP B -> an unknown opcode: the emulator refuses, naming the program
  EXPECT_THROW(harness::predict_program(exact, image, init, "p"), Error);
}

}  // namespace
}  // namespace cpusim
