// tests/model_util.h: what the model tests share: a tiny configuration, a small bgpt set on
// disk, its first test traces, and a training configuration for quick runs.
#pragma once

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "datagen/dataset.h"
#include "datagen/generate.h"
#include "model/api.h"

namespace cpusim::test {

inline model::ModelConfig tiny(bool copy = false) {
  auto c = model::preset("tiny");
  c.copy_path = copy;
  c.max_patches = 64;
  return c;
}

// The set `c` generates, written to `path`.
inline std::string write_set(const datagen::DatagenConfig& c, const std::string& path) {
  datagen::SetInfo info;
  info.isa = c.gen.isa;
  auto w = datagen::open_h5_writer(path, info);
  datagen::generate(c, *w);
  w->commit();
  return path;
}

// A small bgpt set on disk, shared by the training tests.
inline std::string small_set(const std::string& dir, uint64_t train, uint64_t test,
                             unsigned max_len = 4) {
  datagen::DatagenConfig c;
  c.gen.isa = isa::default_config(isa::Profile::bgpt);
  c.gen.isa.memory_size = 32;
  c.gen.max_len = max_len;
  c.train = train;
  c.test = test;
  c.seed = 7;
  c.progress = false;
  return write_set(c, dir + "/d.h5");
}

// The first 8 test traces of a small_set and their prefixes (32-byte image + initial state).
struct TestTraces {
  explicit TestTraces(const std::string& data) {
    datagen::H5Reader r(data);
    r.read(1, 0, 8, bytes, off);
    for (int i = 0; i < 8; ++i) {
      traces.push_back(std::span<const uint8_t>(bytes).subspan(off[i], off[i + 1] - off[i]));
      prefixes.push_back(traces.back().subspan(0, 48));
    }
  }
  TestTraces(const TestTraces&) = delete;  // the spans point into `bytes`
  std::vector<uint8_t> bytes;
  std::vector<uint64_t> off;
  std::vector<std::span<const uint8_t>> traces, prefixes;
};

// The two decoders of `sim` predict the same bytes, teacher-forced and in `steps`-state rollouts,
// for all the traces at once and in batches of 3. Leaves `sim` decoding with drafts.
inline void expect_decoders_agree(model::Simulator& sim,
                                  const std::vector<std::span<const uint8_t>>& traces,
                                  const std::vector<std::span<const uint8_t>>& prefixes,
                                  int steps) {
  sim.set_decode(model::Decode::bytewise);
  const auto teacher = sim.predict_teacher(traces);
  const auto roll = sim.rollout(prefixes, steps, true);
  sim.set_decode(model::Decode::draft);
  EXPECT_EQ(sim.predict_teacher(traces), teacher);
  EXPECT_EQ(sim.rollout(prefixes, steps, true), roll);
  for (size_t i = 0; i < traces.size(); i += 3) {
    const size_t n = std::min<size_t>(3, traces.size() - i);
    const std::vector<std::span<const uint8_t>> t(traces.begin() + i, traces.begin() + i + n),
        p(prefixes.begin() + i, prefixes.begin() + i + n);
    const auto a = sim.predict_teacher(t);
    const auto b = sim.rollout(p, steps, true);
    for (size_t k = 0; k < n; ++k) {
      EXPECT_EQ(a[k], teacher[i + k]) << "teacher, trace " << i + k << " in a batch of " << n;
      EXPECT_EQ(b[k], roll[i + k]) << "rollout, trace " << i + k << " in a batch of " << n;
    }
  }
}

inline model::TrainConfig train_config(const std::string& data, const std::string& out) {
  model::TrainConfig t;
  t.data = data;
  t.out_dir = out;
  t.preset = "tiny";
  t.model = tiny(true);
  t.batch = 4;
  t.warmup = 5;
  t.eval_every = 0;
  t.eval_traces = 8;
  t.checkpoint_every = 0;
  t.threads = 1;
  t.precision = "fp32";  // the same arithmetic on every CPU; bf16 has its own test
  t.quiet = true;
  return t;
}

}  // namespace cpusim::test
