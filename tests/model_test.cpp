// tests/model_test.cpp: the libtorch bGPT: shapes, causality, the paper preset's size, a tiny
// model overfitting a few traces, checkpoints, exact resume, KV-cached generation equal to
// uncached, and refusal of bad checkpoints.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <numbers>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/io.h"
#include "datagen/dataset.h"
#include "datagen/generate.h"
#include "model/api.h"
#include "model/bgpt.h"
#include "model/device.h"
#include "model/graphs.h"
#include "model/internal.h"
#include "model/pipeline.h"
#include "tests/model_util.h"
#include "tests/test_util.h"

namespace cpusim {
namespace {

namespace fs = std::filesystem;
using model::BGPT;
using test::small_set;
using test::TestTraces;
using test::tiny;
using test::train_config;

TEST(Device, AutoIsCudaWhereLibtorchSeesADeviceElseTheCpu) {
  const bool cuda = torch::cuda::is_available();
  EXPECT_EQ(model::resolve_device_name("auto"), cuda ? "cuda" : "cpu");
  EXPECT_EQ(model::resolve_device_name("cpu"), "cpu");
  EXPECT_EQ(model::resolve_device_name("cuda"), "cuda");
  EXPECT_THROW(model::resolve_device_name("gpu"), Error);
  // The pipeline's default: the paper's task trains where the device is, two processes of one
  // core each on a CPU of two cores or more, one process on a GPU.
  const auto plan = model::pipeline_plan("paper-task", "/nonexistent", 1, 0, "auto");
  EXPECT_EQ(plan.device, cuda ? "cuda" : "cpu");
  EXPECT_EQ(plan.train.device, plan.device);
  if (!cuda) EXPECT_EQ(plan.train.procs, std::thread::hardware_concurrency() >= 2 ? 2 : 1);
  EXPECT_EQ(model::pipeline_plan("smoke", "/nonexistent", 1, 0, "cpu").device, "cpu");
}

TEST(Model, PaperPresetHasThePapersParameterCount) {
  // Counted by hand from the architecture (D = 768, V = 257 byte values, S = 16 bytes a patch,
  // 512 patch positions, 12 + 3 GPT-2 blocks of 12 D^2 weights and 13 D biases and norms):
  // patch embedding S V D + its bias D, patch positions 512 D, blocks, two final norms 2 D
  // each, byte embedding (tied to the head) V D, byte positions (S + 1) D.
  const int64_t D = 768, V = 257, S = 16;
  const int64_t want =
      S * V * D + D + 512 * D + 15 * (12 * D * D + 13 * D) + 4 * D + V * D + (S + 1) * D;
  EXPECT_EQ(want, 110083584);  // ~110 M, the paper's figure
  EXPECT_EQ(model::parameter_count(model::preset("paper")), want);
}

TEST(Model, Shapes) {
  torch::manual_seed(0);
  BGPT m(tiny(true));
  auto patches = torch::randint(0, 257, {3, 7, 16}, torch::kLong);
  auto f = m->patch_features(patches);
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{3, 7, 64}));
  auto logits = m->byte_logits(f.view({21, 64}), patches.view({21, 16}), patches.view({21, 16}));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{21, 16, 257}));
}

TEST(Model, LaterPatchesNeverChangeEarlierFeatures) {
  torch::NoGradGuard ng;
  torch::manual_seed(1);
  BGPT m(tiny());
  auto a = torch::randint(0, 257, {2, 9, 16}, torch::kLong);
  auto b = a.clone();
  b.index_put_({torch::indexing::Slice(), torch::indexing::Slice(5, 9)},
               torch::randint(0, 257, {2, 4, 16}, torch::kLong));
  auto fa = m->patch_features(a), fb = m->patch_features(b);
  EXPECT_TRUE(torch::allclose(fa.narrow(1, 0, 5), fb.narrow(1, 0, 5), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(fa.narrow(1, 5, 4), fb.narrow(1, 5, 4)));
}

TEST(Model, LaterBytesNeverChangeEarlierByteLogits) {
  torch::NoGradGuard ng;
  torch::manual_seed(2);
  BGPT m(tiny(true));
  auto feat = torch::randn({4, 64});
  auto t = torch::randint(0, 256, {4, 16}, torch::kLong),
       prev = torch::randint(0, 256, {4, 16}, torch::kLong);
  auto t2 = t.clone();
  t2.select(1, 9).fill_(7);  // byte 9 is input at position 10
  auto la = m->byte_logits(feat, t, prev), lb = m->byte_logits(feat, t2, prev);
  EXPECT_TRUE(torch::allclose(la.narrow(1, 0, 10), lb.narrow(1, 0, 10), 1e-5, 1e-6));
}

TEST(Model, ByteGenerateMatchesTeacherForcedArgmax) {
  // Greedy decoding with the in-patch KV cache equals re-running the decoder on its own outputs.
  torch::NoGradGuard ng;
  torch::manual_seed(3);
  BGPT m(tiny(true));
  auto feat = torch::randn({5, 64});
  auto prev = torch::randint(0, 256, {5, 16}, torch::kLong);
  auto g = m->byte_generate(feat, prev);
  auto logits = m->byte_logits(feat, g, prev);
  EXPECT_TRUE(torch::equal(logits.argmax(-1), g));
}

TEST(Model, StatePrefixIsReadCausallyAndGenerateMatchesTeacherForcing) {
  // With the previous state as a prefix (tokens or memory): greedy decoding (the prefix in the
  // KV cache first) equals re-running the decoder on its own outputs; the prefix changes the
  // logits; later bytes still never change earlier logits.
  for (const bool memory : {false, true}) {
    torch::NoGradGuard ng;
    torch::manual_seed(4);
    auto c = tiny(true);
    c.state_prefix = 16;
    c.prefix_memory = memory;
    BGPT m(c);
    auto feat = torch::randn({5, 64});
    auto prev = torch::randint(0, 256, {5, 16}, torch::kLong),
         ctx = torch::randint(0, 257, {5, 16}, torch::kLong);
    auto g = m->byte_generate(feat, prev, model::ByteMemory{ctx, {}, {}});
    EXPECT_TRUE(
        torch::equal(m->byte_logits(feat, g, prev, model::ByteMemory{ctx, {}, {}}).argmax(-1), g))
        << memory;
    auto ctx2 = ctx.clone();
    ctx2.select(1, 7).fill_(3);
    EXPECT_FALSE(torch::allclose(m->byte_logits(feat, g, prev, model::ByteMemory{ctx, {}, {}}),
                                 m->byte_logits(feat, g, prev, model::ByteMemory{ctx2, {}, {}})))
        << memory;
    auto g2 = g.clone();
    g2.select(1, 9).fill_(7);
    EXPECT_TRUE(torch::allclose(
        m->byte_logits(feat, g, prev, model::ByteMemory{ctx, {}, {}}).narrow(1, 0, 10),
        m->byte_logits(feat, g2, prev, model::ByteMemory{ctx, {}, {}}).narrow(1, 0, 10), 1e-5,
        1e-6))
        << memory;
  }
}

TEST(Model, PrefixTokensThroughTheCacheEqualConcatenation) {
  // The prefix as tokens in the KV cache computes what one causal pass over [prefix, bytes] does.
  torch::NoGradGuard ng;
  torch::manual_seed(5);
  auto c = tiny(false);
  c.state_prefix = 16;
  BGPT m(c);
  auto ctx = torch::randint(0, 257, {3, 16}, torch::kLong);
  auto x = torch::randn({3, 16, 64});
  auto cache = m->prefix_cache(model::ByteMemory{ctx, {}, {}});
  auto h = x, whole = torch::cat({m->byte_emb(ctx) + m->prefix_pos->weight.unsqueeze(0), x}, 1);
  for (size_t l = 0; l < m->byte_blocks->size(); ++l) {
    h = m->byte_blocks[l]->as<model::BlockImpl>()->forward(h, &cache[l]);
    whole = m->byte_blocks[l]->as<model::BlockImpl>()->forward(whole);
  }
  EXPECT_TRUE(torch::allclose(h, whole.narrow(1, 16, 16), 1e-5, 1e-5));
}

TEST(Model, ProgramAttendedPerTraceEqualsPerRow) {
  // program_attention "trace" (each trace's rows in one product with its one copy of the image's
  // keys and values, joined with the rows' own attention in one softmax) computes the function
  // "rows" does (the image at the front of every row's cache), for any grouping of rows into
  // traces, teacher-forced and generated, values and gradients.
  torch::manual_seed(17);
  auto c = tiny(true);
  c.state_prefix = 16, c.prefix_memory = true, c.program_memory = 48, c.byte_bits = true;
  BGPT rows(c);
  c.program_attention = "trace";
  BGPT trace(c);
  {
    torch::NoGradGuard ng;
    auto a = rows->named_parameters(), b = trace->named_parameters();
    ASSERT_EQ(a.size(), b.size());
    for (const auto& p : a) b[p.key()].copy_(p.value());
  }
  const int64_t S = 16;
  auto inputs = torch::randint(0, 256, {3, 5, S}, torch::kLong);  // 3 traces' images
  for (const auto& order : std::vector<std::vector<int64_t>>{
           {0, 0, 0, 1, 1, 2, 2, 2, 2},  // runs of a trace's rows (training, teacher mode)
           {2, 0, 1},                    // one row per trace, gathered (a rollout)
           {0, 1, 2},                    // one row per trace, in order (a rollout's start)
           {1, 0, 1, 1, 2, 0}}) {        // mixed
    SCOPED_TRACE(::testing::PrintToString(order));
    const int64_t N = int64_t(order.size());
    auto feat = torch::randn({N, 64}), target = torch::randint(0, 256, {N, S}, torch::kLong);
    auto prev = torch::randint(0, 256, {N, S}, torch::kLong);
    model::ByteMemory mr{torch::randint(0, 256, {N, 16}, torch::kLong), rows->program_kv(inputs),
                         torch::tensor(order, torch::kLong)};
    model::ByteMemory mt{mr.context, trace->program_kv(inputs), mr.row_trace};
    auto lr = rows->byte_logits(feat, target, prev, mr);
    auto lt = trace->byte_logits(feat, target, prev, mt);
    EXPECT_TRUE(torch::allclose(lr, lt, 1e-4, 1e-5));
    (lr * lr).sum().backward();
    (lt * lt).sum().backward();
    for (const char* name : {"program_pos.weight", "byte_emb.weight", "byte_blocks.0.qkv.weight"})
      EXPECT_TRUE(torch::allclose(rows->named_parameters()[name].grad(),
                                  trace->named_parameters()[name].grad(), 1e-3, 1e-5))
          << name;
    rows->zero_grad(), trace->zero_grad();
    torch::NoGradGuard ng;
    EXPECT_TRUE(
        torch::equal(rows->byte_generate(feat, prev, mr), trace->byte_generate(feat, prev, mt)));
  }
  EXPECT_THROW(trace->byte_logits(
                   torch::randn({1, 64}), torch::zeros({1, S}, torch::kLong),
                   torch::zeros({1, S}, torch::kLong),
                   model::ByteMemory{torch::zeros({1, 16}, torch::kLong), trace->program_kv(inputs),
                                     torch::tensor({3}, torch::kLong)}),
               Error);  // a row of no trace
}

TEST(Model, AddressBitsStartAtZeroAndAreLearned) {
  // address_bits: the image positions' bit maps start at zero (the model starts as the one
  // without them) and get gradients.
  torch::manual_seed(3);
  auto c = tiny(false);
  c.program_memory = 48;
  BGPT plain(c);
  c.address_bits = true;
  torch::manual_seed(3);
  BGPT bits(c);
  ASSERT_TRUE(bits->address_maps.defined());
  EXPECT_EQ(bits->address_maps.size(0), 6);  // 48 positions: 6 bits
  EXPECT_EQ(bits->address_signs.size(0), 48);
  auto inputs = torch::randint(0, 256, {2, 4, 16}, torch::kLong);
  auto a = plain->program_kv(inputs), b = bits->program_kv(inputs);
  EXPECT_TRUE(torch::allclose(a[0].k, b[0].k));
  auto feat = torch::randn({2, 64}), t = torch::randint(0, 256, {2, 16}, torch::kLong);
  bits->byte_logits(feat, t, t, model::ByteMemory{{}, b, torch::tensor({0, 1}, torch::kLong)})
      .sum()
      .backward();
  EXPECT_GT(bits->address_maps.grad().abs().sum().item<double>(), 0);
}

TEST(Model, PositionWavesStartAtZeroAndAddressThePrefixAndTheImage) {
  // position_waves: the previous state's and the image's positions map the waves of their index
  // (the byte values' waves, of positions); the maps start at zero (the model starts as the one
  // without them), get gradients, and change the byte decoder's logits.
  torch::manual_seed(3);
  auto c = tiny(true);
  c.state_prefix = 16, c.prefix_memory = true, c.program_memory = 48;
  BGPT plain(c);
  c.position_waves = true;
  torch::manual_seed(3);
  BGPT waves(c);
  ASSERT_TRUE(waves->prefix_waves.defined() && waves->program_waves.defined());
  EXPECT_FALSE(waves->byte_waves.defined());  // the byte values' waves are their own option
  ASSERT_EQ(waves->prefix_wave_features.sizes(), (std::vector<int64_t>{16, 17}));
  ASSERT_EQ(waves->program_wave_features.sizes(), (std::vector<int64_t>{48, 17}));
  for (int i : {0, 5, 15, 47}) {
    const auto& f = i < 16 ? waves->prefix_wave_features : waves->program_wave_features;
    EXPECT_FLOAT_EQ(f[i][0].item<float>(), i % 2 ? -1.f : 1.f) << i;
    for (int k = 0, period = 4; period <= 512; ++k, period *= 2) {
      const double a = 2 * std::numbers::pi * i / period;
      EXPECT_NEAR(f[i][1 + 2 * k].item<float>(), std::cos(a), 1e-6) << i << " " << period;
      EXPECT_NEAR(f[i][2 + 2 * k].item<float>(), std::sin(a), 1e-6) << i << " " << period;
    }
  }
  const int64_t N = 3;
  auto inputs = torch::randint(0, 256, {2, 4, 16}, torch::kLong);
  auto feat = torch::randn({N, 64}), t = torch::randint(0, 256, {N, 16}, torch::kLong);
  auto context = torch::randint(0, 256, {N, 16}, torch::kLong);
  auto row_trace = torch::tensor({0, 1, 1}, torch::kLong);
  auto logits = [&](BGPT& m) {
    return m->byte_logits(feat, t, t, model::ByteMemory{context, m->program_kv(inputs), row_trace});
  };
  {
    torch::NoGradGuard ng;
    EXPECT_TRUE(torch::allclose(logits(plain), logits(waves)));
  }
  logits(waves).pow(2).sum().backward();
  for (auto* p : {&waves->prefix_waves, &waves->program_waves}) {
    EXPECT_GT(p->grad().abs().sum().item<double>(), 0);
    torch::NoGradGuard ng;
    const auto before = logits(waves);
    p->add_(0.5);
    EXPECT_FALSE(torch::allclose(logits(waves), before));
    p->sub_(0.5);
  }
  // Only where there are positions to map.
  c.state_prefix = 0, c.prefix_memory = false, c.program_memory = 0;
  EXPECT_THROW(BGPT{c}, Error);
  c.program_memory = 48;
  BGPT image_only(c);
  EXPECT_FALSE(image_only->prefix_waves.defined());
  EXPECT_TRUE(image_only->program_waves.defined());
}

TEST(Model, FeatureEveryByteStartsAtZeroAndReachesEveryByte) {
  // feature_every_byte: the map starts at zero (the model starts as the one without it), gets
  // gradients, and puts the feature into every byte position's own input.
  torch::manual_seed(3);
  auto c = tiny(true);
  BGPT plain(c);
  c.feature_every_byte = true;
  torch::manual_seed(3);
  BGPT every(c);
  ASSERT_EQ(every->feature_maps.sizes(), (std::vector<int64_t>{64, 64}));
  EXPECT_FALSE(plain->feature_maps.defined());
  auto feat = torch::randn({3, 64}), t = torch::randint(0, 256, {3, 16}, torch::kLong);
  {
    torch::NoGradGuard ng;
    EXPECT_TRUE(torch::allclose(plain->byte_logits(feat, t, t), every->byte_logits(feat, t, t)));
  }
  every->byte_logits(feat, t, t).pow(2).sum().backward();
  EXPECT_GT(every->feature_maps.grad().abs().sum().item<double>(), 0);
  torch::NoGradGuard ng;
  // With the byte blocks' attention outputs zeroed, a position sees only its own input: then
  // the bytes after the first depend on the feature with the map and not without it.
  every->feature_maps.normal_(0, 0.5);
  for (BGPT* m : {&plain, &every})
    for (const auto& p : (*m)->byte_blocks->named_parameters())
      if (p.key().find("proj.") != std::string::npos) p.value().zero_();
  const auto feat2 = torch::randn({3, 64});
  for (int k = 1; k < 16; ++k) {
    EXPECT_TRUE(torch::allclose(plain->byte_logits(feat, t, t).select(1, k),
                                plain->byte_logits(feat2, t, t).select(1, k)))
        << k;
    EXPECT_FALSE(torch::allclose(every->byte_logits(feat, t, t).select(1, k),
                                 every->byte_logits(feat2, t, t).select(1, k)))
        << k;
  }
  // Greedy decoding uses the same inputs as the teacher-forced logits.
  const auto g = every->byte_generate(feat, t);
  EXPECT_TRUE(torch::equal(every->byte_logits(feat, g, t).argmax(-1), g));
}

TEST(Model, ProgramAttentionFormsAreChecked) {
  EXPECT_EQ(model::layer_config("small", {}).model.program_attention, "rows");  // the default
  EXPECT_THROW(model::layer_config(
                   "small", [](model::TrainConfig& t) { t.model.program_attention = "row"; }),
               Error);
  EXPECT_THROW(model::layer_config("small",
                                   [](model::TrainConfig& t) {
                                     t.model.program_attention = "trace";
                                     t.cuda_graphs = true;
                                   }),
               Error);  // runs grouped on the host: not in a captured graph
  auto c = tiny(false);
  c.program_attention = "all";
  EXPECT_THROW(BGPT{c}, Error);
}

TEST(Model, PreviousStateOfAPatch) {
  // toy-like layout: 2 image patches, states of 3 patches; a trace of the image and 3 states.
  const model::Layout l{2, 3};
  std::vector<uint8_t> trace(11 * 16);
  for (size_t i = 0; i < trace.size(); ++i)
    trace[i] = uint8_t(i / 16);  // each byte holds its patch index
  std::vector<int64_t> out(48);
  model::previous_state(trace.data(), 11, 6, l, 48, out.data());    // patch 6: 2nd patch of state 1
  for (int j = 0; j < 48; ++j) EXPECT_EQ(out[j], 2 + j / 16) << j;  // state 0: patches 2..4
  model::previous_state(trace.data(), 11, 11, l, 48, out.data());   // the end patch: after state 2
  for (int j = 0; j < 48; ++j) EXPECT_EQ(out[j], 8 + j / 16) << j;
  model::previous_state(trace.data(), 11, 3, l, 48, out.data());  // the first state has none
  for (int j = 0; j < 48; ++j) EXPECT_EQ(out[j], model::kPad) << j;
}

TEST(Model, CopyStrideFeedsThePreviousStatesPatch) {
  // toy-like layout: 2 image patches, states of 3 patches; each byte holds its trace patch index.
  const model::Layout l{2, 3};
  model::Split data;
  data.bytes.resize(14 * 16);  // the image and 4 states
  for (size_t i = 0; i < data.bytes.size(); ++i) data.bytes[i] = uint8_t(i / 16);
  data.offsets = {0, data.bytes.size()};
  for (int64_t stride : {1, 3}) {
    const auto b =
        model::to_device(model::make_batch(data, {0}, l, false, 512, 48, stride), torch::kCPU);
    const int64_t T = b.inputs.size(1);
    auto rows = b.rows.accessor<int64_t, 1>();
    auto prev = b.prev.accessor<int64_t, 2>();
    ASSERT_EQ(b.rows.size(0), 10);  // trace patches 5..13 (the states after the first) and the end
    for (int64_t i = 0; i < b.rows.size(0); ++i) {
      const int64_t p = rows[i] % T;  // predicts trace patch p from patch p - stride
      for (int k = 0; k < 16; ++k)
        EXPECT_EQ(prev[i][k], p - stride) << "row " << i << " stride " << stride;
    }
  }
}

TEST(Model, GeluFormsDifferOnlySlightly) {
  // The same weights with the exact (erf) GELU instead of GPT-2's tanh form: outputs move, but
  // by far less than the outputs themselves; a third form is refused.
  torch::NoGradGuard ng;
  auto ct = tiny(true), ce = tiny(true);
  ce.gelu = "erf";
  torch::manual_seed(7);
  BGPT a(ct);
  torch::manual_seed(7);
  BGPT b(ce);
  auto x = torch::randint(0, 257, {2, 5, 16}, torch::kLong);
  auto fa = a->patch_features(x), fb = b->patch_features(x);
  EXPECT_FALSE(torch::equal(fa, fb));
  EXPECT_TRUE(torch::allclose(fa, fb, 0, 1e-2));
  auto bad = tiny();
  bad.gelu = "relu";
  EXPECT_THROW(BGPT{bad}, Error);
}

TEST(Training, MultiTensorAdamWAndClippingEqualLibtorchs) {
  // The trainer's optimizer step and clipping give the very same weights as libtorch's
  // AdamW::step() and clip_grad_norm_, step after step (so the optimizer state agrees too).
  torch::manual_seed(4);
  BGPT a(tiny(true)), b(tiny(true));
  {
    torch::NoGradGuard g;
    auto pa = a->parameters(), pb = b->parameters();
    for (size_t i = 0; i < pa.size(); ++i) pb[i].copy_(pa[i]);
  }
  auto opts = torch::optim::AdamWOptions(1e-2).betas({0.9, 0.95}).weight_decay(0.1);
  torch::optim::AdamW oa(a->parameters(), opts), ob(b->parameters(), opts);
  double clipped_norm = 0;
  for (int s = 0; s < 4; ++s) {
    auto x = torch::randint(0, 257, {3, 6, 16}, torch::kLong);
    auto t = torch::randint(0, 256, {18, 16}, torch::kLong);
    for (auto* m : {&a, &b}) {
      auto logits = (*m)->byte_logits((*m)->patch_features(x).view({18, -1}), t, x.view({18, 16}));
      torch::nn::functional::cross_entropy(logits.view({-1, model::kVocab}), t.view({-1}))
          .backward();
    }
    const double na = torch::nn::utils::clip_grad_norm_(a->parameters(), 0.05);
    clipped_norm = model::clip_grad_norm(b->parameters(), 0.05).item<double>();
    EXPECT_EQ(na, clipped_norm);
    oa.step();
    model::adamw_step(ob);
    oa.zero_grad();
    ob.zero_grad();
  }
  EXPECT_GT(clipped_norm, 0.05);  // the clip was active
  auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
}

std::vector<double> losses(const std::string& log) {
  std::vector<double> v;
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) v.push_back(nlohmann::json::parse(line)["loss"].get<double>());
  return v;
}

TEST(Training, TinyModelOverfitsAFewTraces) {
  const std::string d = test::temp_dir("overfit");
  const auto data = small_set(d, 4, 4, 3);
  auto t = train_config(data, d + "/run");
  t.steps = 300;
  t.lr = 3e-3;
  t.eval_traces = 4;
  const auto s = model::train(t);
  // Evaluated on the test split, which is not what it trained on: overfitting is checked on
  // the train traces through the simulator instead.
  model::Simulator sim(d + "/run/model.pt");
  datagen::H5Reader r(data);
  std::vector<uint8_t> bytes;
  std::vector<uint64_t> off;
  r.read(0, 0, 4, bytes, off);
  std::vector<std::span<const uint8_t>> traces;
  for (int i = 0; i < 4; ++i)
    traces.push_back(std::span<const uint8_t>(bytes).subspan(off[i], off[i + 1] - off[i]));
  const auto pred = sim.predict_teacher(traces);
  for (int i = 0; i < 4; ++i) {
    const auto truth = traces[i].subspan(32 + 16);
    ASSERT_EQ(pred[i].size(), truth.size());
    for (size_t k = 0; k < truth.size(); ++k)
      EXPECT_EQ(pred[i][k], truth[k]) << "trace " << i << " byte " << k;
  }
  EXPECT_LT(s.final_loss, 0.05);
}

// Trains 8 steps in one go (d/a) and 4 + 4 with a resume (d/b); returns both loss logs.
std::pair<std::vector<double>, std::vector<double>> run_and_resume(const std::string& d,
                                                                   const std::string& data,
                                                                   const std::string& precision) {
  auto a = train_config(data, d + "/a");
  a.precision = precision;
  a.steps = 8;
  model::train(a);
  auto b = train_config(data, d + "/b");
  b.precision = precision;
  b.steps = 8;
  b.stop_after = 4;
  model::train(b);
  EXPECT_EQ(losses(d + "/b/log.jsonl").size(), 4u);
  // As if killed after logging steps 5 and 6 (the second row torn) but before their checkpoint:
  // the resumed run replaces those rows with its own.
  std::ofstream(d + "/b/log.jsonl", std::ios::app) << R"({"step":5,"loss":99})"
                                                   << "\n"
                                                   << R"({"step":6,"lo)";
  b.resume = true;
  b.stop_after = 0;
  model::train(b);
  return {losses(d + "/a/log.jsonl"), losses(d + "/b/log.jsonl")};
}

void expect_same_losses(const std::vector<double>& la, const std::vector<double>& lb) {
  ASSERT_EQ(la.size(), 8u);
  ASSERT_EQ(lb.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_DOUBLE_EQ(la[i], lb[i]) << "step " << i + 1;
}

TEST(Training, Bf16AutocastTrainsAndResumesExactly) {
  const std::string d = test::temp_dir("resume-bf16");
  const auto data = small_set(d, 40, 8);
  const auto [la, lb] = run_and_resume(d, data, "bf16");
  expect_same_losses(la, lb);
  EXPECT_LT(la.back(), la.front());
  // The first loss is the same model on the same batch: bf16 products change it only a little.
  const auto [fa, fb] = run_and_resume(test::temp_dir("resume-fp32"), data, "fp32");
  EXPECT_NE(la[0], fa[0]);
  EXPECT_NEAR(la[0], fa[0], 0.02 * fa[0]);
  auto bad = train_config(data, d + "/c");
  bad.precision = "fp16";
  try {
    model::train(bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--precision fp16"), std::string::npos) << e.what();
  }
}

TEST(Training, ResumeContinuesExactly) {
  const std::string d = test::temp_dir("resume");
  const auto data = small_set(d, 40, 8);
  const auto [la, lb] = run_and_resume(d, data, "fp32");
  expect_same_losses(la, lb);
  // A folder that holds a run is refused without --resume or --overwrite, and replaced with it.
  auto again = train_config(data, d + "/a");
  again.steps = 2;
  try {
    model::train(again);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds a run"), std::string::npos) << e.what();
  }
  EXPECT_EQ(losses(d + "/a/log.jsonl").size(), 8u);  // untouched
  again.overwrite = true;
  model::train(again);
  EXPECT_EQ(losses(d + "/a/log.jsonl").size(), 2u);
  // model.pt holds the weights alone; checkpoint.pt the optimizer too; best.pt the weights of
  // the lowest held-out loss, which is no higher than the final one.
  torch::serialize::InputArchive opt;
  EXPECT_FALSE(
      model::load_checkpoint(d + "/a/model.pt", torch::kCPU).archive.try_read("optimizer", opt));
  EXPECT_TRUE(model::load_checkpoint(d + "/a/checkpoint.pt", torch::kCPU)
                  .archive.try_read("optimizer", opt));
  // (Run b was evaluated at step 4, where it stopped, and at step 8, logged.)
  const auto best = model::load_checkpoint(d + "/b/best.pt", torch::kCPU);
  double last_eval = 0;
  std::ifstream in(d + "/b/log.jsonl");
  for (std::string line; std::getline(in, line);)
    if (auto r = nlohmann::json::parse(line); r.contains("eval_loss")) last_eval = r["eval_loss"];
  ASSERT_GT(last_eval, 0);
  const int64_t best_step = best.meta.at("step");
  EXPECT_TRUE(best_step == 4 || best_step == 8) << best_step;
  EXPECT_LE(best.meta.at("eval_loss").get<double>(), last_eval);
  if (best_step == 8) {
    EXPECT_DOUBLE_EQ(best.meta.at("eval_loss").get<double>(), last_eval);
  }
  // A checkpoint from another preset is refused.
  auto c = train_config(data, d + "/b");
  c.preset = "small";
  c.model = model::preset("small");
  c.steps = 10;
  c.resume = true;
  try {
    model::train(c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("made with preset tiny"), std::string::npos) << e.what();
  }
}

TEST(Training, NonFiniteLossStopsTheRunAndKeepsTheLastGoodCheckpoint) {
  // A learning rate of 1e30 overflows the weights after the first steps; the run stops at the
  // first non-finite loss, writes no final model, and leaves the checkpoint of the last step
  // whose loss was finite.
  const std::string d = test::temp_dir("nan");
  const auto data = small_set(d, 40, 8);
  auto t = train_config(data, d + "/run");
  t.steps = 20;
  t.lr = 1e30;
  t.warmup = 1;
  t.checkpoint_every = 1;
  const auto s = model::train(t);
  ASSERT_TRUE(s.stopped_on_nan);
  EXPECT_GE(s.steps, 1);
  EXPECT_LT(s.steps, 20);
  EXPECT_FALSE(std::filesystem::exists(d + "/run/model.pt"));
  const auto c = model::load_checkpoint(d + "/run/checkpoint.pt", torch::kCPU);
  EXPECT_EQ(c.meta.at("step").get<int64_t>(), s.steps);
  const auto logged = losses(d + "/run/log.jsonl");
  ASSERT_EQ(int64_t(logged.size()), s.steps);
  for (double v : logged) EXPECT_TRUE(std::isfinite(v));
}

TEST(Training, CheckpointReloadGivesIdenticalOutputsAndCachedRolloutEqualsUncached) {
  const std::string d = test::temp_dir("ckpt");
  const auto data = small_set(d, 40, 8, 8);
  auto t = train_config(data, d + "/run");
  t.steps = 30;
  t.model.gelu = "erf";
  const auto sum = model::train(t);
  // The summary has the held-out figures before the first step too; 30 steps on 40 traces
  // lower the loss and raise the accuracy.
  EXPECT_EQ(sum.start_step, 0);
  EXPECT_GT(sum.start_eval_loss, 4.0);  // about ln(257) for an untrained model
  EXPECT_LT(sum.eval_loss, sum.start_eval_loss - 0.5);
  EXPECT_GT(sum.eval_byte_accuracy, sum.start_eval_byte_accuracy);
  // CPUSIM_TEST_DEVICE=cuda loads the models on a GPU (scripts/gpu-check.sh runs it so).
  const char* env = std::getenv("CPUSIM_TEST_DEVICE");
  const std::string device = env ? env : "cpu";
  model::Simulator s1(d + "/run/model.pt", device), s2(d + "/run/checkpoint.pt", device);
  EXPECT_EQ(s1.config().gelu, "erf");  // the checkpoint records the GELU form
  const TestTraces tt(data);
  const auto& traces = tt.traces;
  const auto& prefixes = tt.prefixes;
  EXPECT_EQ(s1.predict_teacher(traces), s2.predict_teacher(traces));
  const auto cached = s1.rollout(prefixes, 12, true), uncached = s1.rollout(prefixes, 12, false);
  EXPECT_EQ(cached, uncached);
  test::expect_decoders_agree(s1, traces, prefixes, 12);
  if (device != "cpu") {
    // The same fp32 model on the CPU predicts the same bytes, up to near-ties of the argmax.
    model::Simulator cpu(d + "/run/model.pt");
    const auto a = s1.predict_teacher(traces), b = cpu.predict_teacher(traces);
    size_t same = 0, all = 0;
    for (size_t i = 0; i < a.size(); ++i)
      for (size_t k = 0; k < std::min(a[i].size(), b[i].size()); ++k)
        same += a[i][k] == b[i][k], ++all;
    EXPECT_GT(all, 0u);
    EXPECT_GE(double(same), 0.99 * double(all)) << same << " of " << all << " bytes agree";
  }
}

// Trains 30 steps with the byte decoder's extra memory (`configure` sets the options) and checks
// what the checkpoint records, that rollouts with and without the patch cache agree, and that a
// rollout's first state is the teacher-forced prediction from the true initial state.
void check_byte_memory(const std::string& name,
                       const std::function<void(model::TrainConfig&)>& configure, int prefix,
                       int program) {
  const std::string d = test::temp_dir(name);
  const auto data = small_set(d, 40, 8, 8);
  auto t = train_config(data, d + "/run");
  t.steps = 30;
  configure(t);
  const auto sum = model::train(t);
  EXPECT_LT(sum.eval_loss, sum.start_eval_loss - 0.5);
  model::Simulator sim(d + "/run/model.pt");
  EXPECT_EQ(sim.config().state_prefix,
            prefix);  // the data's state size, recorded in the checkpoint
  EXPECT_EQ(sim.config().program_memory, program);  // its image size
  // The options as trained (each off unless `configure` set it), read back from the checkpoint.
  const model::ModelConfig& m = sim.config();
  EXPECT_EQ(m.prefix_memory, t.model.prefix_memory);
  EXPECT_EQ(m.address_bits, t.model.address_bits);
  EXPECT_EQ(m.byte_bits, t.model.byte_bits);
  EXPECT_EQ(m.byte_waves, t.model.byte_waves);
  EXPECT_EQ(m.position_waves, t.model.position_waves);
  EXPECT_EQ(m.feature_every_byte, t.model.feature_every_byte);
  const TestTraces tt(data);
  const auto& traces = tt.traces;
  const auto& prefixes = tt.prefixes;
  EXPECT_EQ(sim.rollout(prefixes, 12, true), sim.rollout(prefixes, 12, false));
  test::expect_decoders_agree(sim, traces, prefixes, 12);
  const auto teacher = sim.predict_teacher(traces);
  const auto roll = sim.rollout(prefixes, 1, true);
  for (int i = 0; i < 8; ++i) {
    const bool ended =
        std::any_of(teacher[i].begin(), teacher[i].begin() + 16, [](int16_t v) { return v > 255; });
    if (ended) continue;
    ASSERT_GE(roll[i].size(), 16u);
    for (int k = 0; k < 16; ++k)
      EXPECT_EQ(roll[i][k], teacher[i][k]) << "trace " << i << " byte " << k;
  }
  // Resuming without the options is refused like any other change of the model.
  t.resume = true;
  t.state_prefix_from_data = t.program_memory_from_data = false;
  t.model.prefix_memory = false;
  EXPECT_THROW(model::train(t), Error);
}

TEST(Training, StatePrefixRecordedTrainedAndRolledOutWithTheCache) {
  check_byte_memory(
      "prefix", [](model::TrainConfig& t) { t.state_prefix_from_data = true; }, 16, 0);
}

TEST(Training, ProgramAndPrefixMemoryRecordedTrainedAndRolledOutWithTheCache) {
  check_byte_memory(
      "program-memory",
      [](model::TrainConfig& t) {
        t.state_prefix_from_data = t.program_memory_from_data = true;
        t.model.prefix_memory = true;
      },
      16, 32);
}

TEST(Training, ProgramPerTraceAndAddressBitsRecordedTrainedAndRolledOutWithTheCache) {
  check_byte_memory(
      "program-trace",
      [](model::TrainConfig& t) {
        t.state_prefix_from_data = t.program_memory_from_data = true;
        t.model.prefix_memory = true;
        t.model.program_attention = "trace";
        t.model.address_bits = true;
      },
      16, 32);
}

TEST(Training, ByteBitsRecordedTrainedAndRolledOutWithTheCache) {
  check_byte_memory(
      "byte-bits",
      [](model::TrainConfig& t) {
        t.state_prefix_from_data = t.program_memory_from_data = true;
        t.model.prefix_memory = true;
        t.model.byte_bits = true;
      },
      16, 32);
}

TEST(Training, ByteWavesRecordedTrainedAndRolledOutWithTheCache) {
  check_byte_memory(
      "byte-waves",
      [](model::TrainConfig& t) {
        t.state_prefix_from_data = t.program_memory_from_data = true;
        t.model.prefix_memory = true;
        t.model.byte_bits = t.model.byte_waves = true;
      },
      16, 32);
}

TEST(Training, PositionWavesRecordedTrainedAndRolledOutWithTheCache) {
  check_byte_memory(
      "position-waves",
      [](model::TrainConfig& t) {
        t.state_prefix_from_data = t.program_memory_from_data = true;
        t.model.prefix_memory = true;
        t.model.byte_waves = t.model.position_waves = true;
      },
      16, 32);
}

TEST(Training, FeatureEveryByteRecordedTrainedAndRolledOutWithTheCache) {
  check_byte_memory(
      "feature-every-byte",
      [](model::TrainConfig& t) {
        t.state_prefix_from_data = t.program_memory_from_data = true;
        t.model.prefix_memory = true;
        t.model.byte_waves = t.model.position_waves = t.model.feature_every_byte = true;
      },
      16, 32);
}

// A toy machine (states of 3 patches) with the copy path reading the previous state: recorded,
// trained, and consistent between training's, teacher mode's and rollouts' inputs: the rollout's
// own states, fed back teacher-forced, are predicted again as the rollout made them.
TEST(Training, CopyStateOnToyRecordedTrainedAndConsistentAcrossModes) {
  const std::string d = test::temp_dir("copy-state");
  datagen::DatagenConfig c;
  c.gen.isa = isa::default_config(isa::Profile::toy);
  c.gen.isa.program_size = 32;
  c.gen.isa.step_limit = 8;
  c.gen.max_len = 8;
  c.train = 60, c.test = 8, c.seed = 3, c.progress = false;
  const std::string data = test::write_set(c, d + "/toy.h5");
  auto t = train_config(data, d + "/run");
  t.steps = 150;
  t.lr = 3e-3;
  t.model.copy_path = true;
  t.copy_stride_from_data = t.state_prefix_from_data = t.program_memory_from_data = true;
  t.model.prefix_memory = true;
  const auto sum = model::train(t);
  EXPECT_LT(sum.eval_loss, sum.start_eval_loss - 1.0);
  model::Simulator sim(d + "/run/model.pt");
  EXPECT_EQ(sim.config().copy_stride, 3);  // 48-byte states
  EXPECT_EQ(sim.config().state_prefix, 48);
  datagen::H5Reader r(data);
  std::vector<uint8_t> bytes;
  std::vector<uint64_t> off;
  r.read(1, 0, 8, bytes, off);
  const size_t head = 32 + 48;  // image and initial state
  std::vector<std::span<const uint8_t>> prefixes;
  for (int i = 0; i < 8; ++i)
    prefixes.push_back(std::span<const uint8_t>(bytes).subspan(off[i], head));
  const auto roll = sim.rollout(prefixes, 8, true);
  EXPECT_EQ(roll, sim.rollout(prefixes, 8, false));
  std::vector<std::span<const uint8_t>> whole;  // the set's own traces, teacher-forced
  for (int i = 0; i < 8; ++i)
    whole.push_back(std::span<const uint8_t>(bytes).subspan(off[i], off[i + 1] - off[i]));
  test::expect_decoders_agree(sim, whole, prefixes, 8);
  std::vector<std::vector<uint8_t>> fed(8);
  std::vector<std::span<const uint8_t>> traces;
  size_t states = 0;
  for (int i = 0; i < 8; ++i) {
    fed[i].assign(prefixes[i].begin(), prefixes[i].end());
    fed[i].insert(fed[i].end(), roll[i].begin(), roll[i].end());
    states += roll[i].size() / 48;
    traces.emplace_back(fed[i]);
  }
  ASSERT_GT(states, 8u);
  const auto teacher = sim.predict_teacher(traces);
  size_t same = 0, all = 0;
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(teacher[i].size(), roll[i].size()) << "trace " << i;
    for (size_t k = 0; k < roll[i].size(); ++k) same += teacher[i][k] == roll[i][k], ++all;
  }
  // (Equal but for near-ties of the argmax between the batched and the incremental arithmetic.)
  EXPECT_GE(double(same), 0.995 * double(all)) << same << " of " << all;
}

// Each of `maps` (the maps added to the byte tables) changes the patch features or the byte
// logits; put back, the logits are as before.
void expect_each_map_used(BGPT& m, const std::vector<torch::Tensor*>& maps) {
  torch::NoGradGuard g;
  const auto patches = torch::randint(0, 256, {1, 3, 16}, torch::kLong);
  const auto feat = torch::randn({2, 64}), target = torch::randint(0, 256, {2, 16}, torch::kLong);
  const auto prev = torch::randint(0, 256, {2, 16}, torch::kLong);
  const auto f0 = m->patch_features(patches), l0 = m->byte_logits(feat, target, prev);
  for (torch::Tensor* p : maps) {
    const auto saved = p->clone();
    p->add_(1.0);
    EXPECT_FALSE(torch::allclose(m->patch_features(patches), f0) &&
                 torch::allclose(m->byte_logits(feat, target, prev), l0));
    p->copy_(saved);
  }
  EXPECT_TRUE(torch::allclose(m->byte_logits(feat, target, prev), l0));
}

TEST(Model, ByteBitsAreUsedByEveryByteTable) {
  auto c = tiny(true);
  c.byte_bits = true;
  torch::manual_seed(3);
  BGPT m(c);
  torch::NoGradGuard g;
  // Each value's bits as +-1, least significant first; the padding value has none.
  EXPECT_TRUE(
      torch::equal(m->bit_signs[5], torch::tensor({1.f, -1.f, 1.f, -1.f, -1.f, -1.f, -1.f, -1.f})));
  EXPECT_TRUE(torch::equal(m->bit_signs[256], torch::zeros({8})));
  // The patch embedding, the byte decoder's inputs and copy path, and the tied output head all
  // change when the bit maps do.
  expect_each_map_used(m, {&m->patch_bits, &m->byte_bits, &m->copy_bits});
}

TEST(Model, ByteWavesAreUsedByEveryByteTable) {
  auto c = tiny(true);
  c.byte_waves = true;
  torch::manual_seed(3);
  BGPT m(c);
  torch::NoGradGuard g;
  // (-1)^v, then cos and sin of 2 pi v / P for P = 4 .. 512; nothing for the padding value.
  const auto& f = m->wave_features;
  ASSERT_EQ(f.size(0), 257);
  ASSERT_EQ(f.size(1), 17);
  for (int v : {0, 1, 6, 200, 255}) {
    EXPECT_FLOAT_EQ(f[v][0].item<float>(), v % 2 ? -1.f : 1.f) << v;
    for (int k = 0, period = 4; period <= 512; ++k, period *= 2) {
      const double a = 2 * std::numbers::pi * v / period;
      EXPECT_NEAR(f[v][1 + 2 * k].item<float>(), std::cos(a), 1e-6) << v << " " << period;
      EXPECT_NEAR(f[v][2 + 2 * k].item<float>(), std::sin(a), 1e-6) << v << " " << period;
    }
  }
  EXPECT_EQ(f[256].abs().sum().item<float>(), 0.f);
  EXPECT_FALSE(m->byte_bits.defined());
  // The maps start at zero (the model starts as the one without them) and are trained.
  std::set<std::string> trained;
  for (const auto& p : m->named_parameters()) trained.insert(p.key());
  for (const char* name : {"byte_waves", "copy_waves", "patch_waves"})
    EXPECT_TRUE(trained.count(name)) << name;
  for (auto* p : {&m->patch_waves, &m->byte_waves, &m->copy_waves})
    EXPECT_EQ(p->abs().sum().item<float>(), 0.f);
  // The patch embedding, the byte decoder's inputs and copy path, and the tied output head all
  // change when the maps do.
  expect_each_map_used(m, {&m->patch_waves, &m->byte_waves, &m->copy_waves});
}

// A tiny model with the copy path and the train split of a small bgpt set, with batches made as
// the trainer makes them: for the tests of padded batches and graph steps.
struct TinyBatches {
  TinyBatches(const std::string& name, uint64_t seed)
      : dir(test::temp_dir(name)), data(small_set(dir, 40, 8, 8)) {
    torch::manual_seed(seed);
    m = BGPT(tiny(true));
    datagen::H5Reader r(data);
    split = model::load_split(r, 0, 0);
    layout = model::layout_of(r.info().isa);
  }
  model::OnDevice batch(const std::vector<uint64_t>& idx,
                        const torch::Device& dev = torch::kCPU) const {
    return model::to_device(model::make_batch(split, idx, layout, false, 64), dev);
  }
  std::string dir, data;
  BGPT m{nullptr};
  model::Split split;
  model::Layout layout;
};

TEST(Training, PaddedBatchesGiveTheSameLossAndGradients) {
  // What a CUDA graph runs: the batch padded to a larger shape (more patches, more scored rows)
  // scores the same bytes: the loss and every gradient are the unpadded batch's.
  TinyBatches t("padded", 5);
  BGPT& m = t.m;
  const model::OnDevice b = t.batch({0, 1, 2, 3});
  const model::OnDevice p = model::padded(b, b.inputs.size(1) + 5, b.rows.size(0) + 37);
  ASSERT_EQ(p.inputs.size(1), b.inputs.size(1) + 5);
  auto params = m->parameters();
  std::vector<std::vector<torch::Tensor>> grads;
  std::vector<double> loss;
  for (const auto* batch : {&b, &p}) {
    model::clear_grads(params);
    auto l = model::forward_loss(m, *batch, torch::kCPU, false);
    l.backward();
    loss.push_back(l.item<double>());
    grads.emplace_back();
    for (const auto& t : params) grads.back().push_back(t.grad().clone());
  }
  EXPECT_NEAR(loss[1], loss[0], 1e-6 * loss[0]);
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(torch::allclose(grads[1][i], grads[0][i], 1e-4, 1e-7)) << "parameter " << i;
  // Refilled in place with a batch of another shape, it holds that batch.
  const model::OnDevice c = t.batch({4, 5, 6, 7});
  model::OnDevice q = model::padded(c, p.inputs.size(1), p.rows.size(0));
  model::OnDevice p2 = p;
  p2.inputs = p.inputs.clone(), p2.rows = p.rows.clone(), p2.targets = p.targets.clone();
  p2.prev = p.prev.clone(), p2.loss_targets = p.loss_targets.clone();
  model::fill_padded(p2, c);
  for (auto [x, y] : {std::pair{p2.inputs, q.inputs},
                      {p2.rows, q.rows},
                      {p2.targets, q.targets},
                      {p2.prev, q.prev},
                      {p2.loss_targets, q.loss_targets}})
    EXPECT_TRUE(torch::equal(x, y));
}

TEST(Training, HardStatesTrainTheHighestLossStatesAndLogTheWholeBatchsLoss) {
  // --hard-states 0.25: the backward pass takes the quarter of the states with the highest loss,
  // and the step's loss is still the whole batch's; in fp32 and in bf16 autocast (where the
  // weights' bf16 copies made by the selection's pass without gradients must not be the ones the
  // backward pass differentiates).
  TinyBatches t("hard", 7);
  BGPT& m = t.m;
  const model::OnDevice b = t.batch({0, 1, 2, 3, 4, 5});
  const int64_t N = b.rows.size(0), S = b.targets.size(1), k = (N + 3) / 4;
  ASSERT_GT(N, 8);
  auto params = m->parameters();
  for (const bool bf16 : {false, true}) {
    SCOPED_TRACE(bf16 ? "bf16" : "fp32");
    torch::Tensor per_row;
    {
      torch::NoGradGuard ng;
      per_row = torch::nn::functional::cross_entropy(
                    model::scored_logits(m, b, torch::kCPU, bf16).view({-1, model::kVocab}),
                    b.targets.reshape({-1}),
                    torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))
                    .view({N, S})
                    .sum(1);
    }
    torch::Tensor whole;
    model::OnDevice h;
    model::clear_grads(params);
    const auto loss = model::hardest_loss(m, b, torch::kCPU, bf16, 0.25, whole, &h);
    loss.backward();
    std::vector<torch::Tensor> got;
    for (const auto& p : params) got.push_back(p.grad().clone());
    ASSERT_EQ(h.rows.size(0), k);
    const double tol = bf16 ? 1e-2 : 1e-5;
    EXPECT_NEAR(whole.item<double>(), model::forward_loss(m, b, torch::kCPU, bf16).item<double>(),
                tol * whole.item<double>());
    // The kept rows are b's rows in b's order, and none left out has a higher loss than one kept.
    std::vector<int64_t> kept;
    const auto br = b.rows.accessor<int64_t, 1>();
    for (int64_t i = 0, j = 0; i < N && j < k; ++i)
      if (br[i] == h.rows[j].item<int64_t>()) kept.push_back(i), ++j;
    ASSERT_EQ(int64_t(kept.size()), k);
    double lowest_kept = 1e30, highest_left = -1;
    for (int64_t i = 0, j = 0; i < N; ++i) {
      const double l = per_row[i].item<double>();
      if (j < k && kept[j] == i) {
        EXPECT_TRUE(torch::equal(h.targets[j], b.targets[i]));
        EXPECT_TRUE(torch::equal(h.prev[j], b.prev[i]));
        lowest_kept = std::min(lowest_kept, l), ++j;
      } else {
        highest_left = std::max(highest_left, l);
      }
    }
    EXPECT_GE(lowest_kept, highest_left * (1 - tol));
    // The loss and gradients are forward_loss's of the kept rows: every parameter gets them
    // (the byte decoder's too).
    model::clear_grads(params);
    const auto want_loss = model::forward_loss(m, h, torch::kCPU, bf16);
    want_loss.backward();
    EXPECT_NEAR(loss.item<double>(), want_loss.item<double>(), 1e-5 * want_loss.item<double>());
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_TRUE(torch::allclose(got[i], params[i].grad(), 1e-3, 1e-6)) << "parameter " << i;
      EXPECT_GT(got[i].abs().sum().item<double>(), 0) << "parameter " << i;
    }
    // Through the trainer's forward and backward: the same gradients, the whole batch's loss.
    model::clear_grads(params);
    model::ForwardBackward fb(m, torch::kCPU, bf16, 1, false, 0.25);
    EXPECT_NEAR(fb.run(b, true).item<double>(), whole.item<double>(), 1e-6 * whole.item<double>());
    for (size_t i = 0; i < params.size(); ++i)
      EXPECT_TRUE(torch::allclose(params[i].grad(), got[i], 1e-4, 1e-7)) << "parameter " << i;
  }
  for (double bad : {0.0, -0.5, 1.5})
    EXPECT_THROW(model::ForwardBackward(m, torch::kCPU, false, 1, false, bad), Error) << bad;
  auto bad = train_config(t.data, t.dir + "/bad");
  bad.hard_states = 1.5;
  try {
    model::train(bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "--hard-states 1.5: expected a fraction in (0, 1]");
  }
}

TEST(Training, GraphStepArithmeticEqualsBackward) {
  // What a graph runs and how its outputs become the gradients, without the graph: two padded
  // micro-batches through loss_and_grads and take_grads give the gradients that two eager
  // backward passes accumulate (accum 2); with one micro-batch the gradients are the very
  // tensors the graph computed.
  TinyBatches t("graphstep", 6);
  BGPT& m = t.m;
  const std::vector<model::OnDevice> batches = {t.batch({0, 1, 2}), t.batch({3, 4, 5})};
  auto params = m->parameters();
  model::clear_grads(params);
  double eager_loss = 0;
  for (const auto& b : batches) {
    auto loss = model::forward_loss(m, b, torch::kCPU, false);
    (loss / 2).backward();
    eager_loss += loss.item<double>();
  }
  std::vector<torch::Tensor> eager;
  for (const auto& p : params) eager.push_back(p.grad().clone());
  model::clear_grads(params);
  double graph_loss = 0;
  for (size_t a = 0; a < batches.size(); ++a) {
    const auto& b = batches[a];
    auto [loss, grads] = model::loss_and_grads(
        m, model::padded(b, b.inputs.size(1) + 3, b.rows.size(0) + 9), torch::kCPU, false, 2);
    model::take_grads(params, grads, a == 0, false);
    graph_loss += loss.item<double>();
    if (a == 0) {
      EXPECT_NE(params[0].grad().data_ptr(), grads[0].data_ptr());  // a copy when summing
    }
  }
  EXPECT_NEAR(graph_loss, eager_loss, 1e-6 * eager_loss);
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(torch::allclose(params[i].grad(), eager[i], 1e-4, 1e-7)) << "parameter " << i;
  // One micro-batch: the parameters take the computed tensors themselves.
  auto [loss, grads] = model::loss_and_grads(m, batches[0], torch::kCPU, false, 1);
  model::take_grads(params, grads, true, true);
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_EQ(params[i].grad().data_ptr(), grads[i].data_ptr());
}

TEST(Training, CudaGraphStepsGiveTheEagerLossAndGradients) {
  TinyBatches t("graphs", 3);
  BGPT& m = t.m;
  const std::string& d = t.dir;
  // Graphs need CUDA: asked for on the CPU, they are refused in one line.
  try {
    model::ForwardBackward fb(m, torch::kCPU, false, 1, true);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--cuda-graphs needs --device cuda"), std::string::npos)
        << e.what();
  }
  const char* env = std::getenv("CPUSIM_TEST_DEVICE");
  if (!env || std::string(env) != "cuda" || !model::cuda_graphs_built())
    GTEST_SKIP() << "the graph half needs CPUSIM_TEST_DEVICE=cuda and a build with CUDA graphs";
  const torch::Device dev = torch::kCUDA;
  m->to(dev);
  auto params = m->parameters();
  model::ForwardBackward eager(m, dev, false, 1, false), graphed(m, dev, false, 1, true);
  // Batches of three shapes, the first twice (capture, then replay).
  for (const std::vector<uint64_t>& idx :
       std::vector<std::vector<uint64_t>>{{0, 1, 2}, {0, 1, 2}, {3, 4, 5, 6}, {7}}) {
    const model::OnDevice b = t.batch(idx, dev);
    model::clear_grads(params);
    const double le = eager.run(b, true).item<double>();
    std::vector<torch::Tensor> ge;
    for (const auto& p : params) ge.push_back(p.grad().clone());
    model::clear_grads(params);
    const double lg = graphed.run(b, true).item<double>();
    EXPECT_NEAR(lg, le, 1e-5 * le);
    for (size_t i = 0; i < params.size(); ++i)
      EXPECT_TRUE(torch::allclose(params[i].grad(), ge[i], 1e-4, 1e-6)) << "parameter " << i;
  }
  EXPECT_EQ(graphed.describe().rfind("CUDA graphs: ", 0), 0u) << graphed.describe();
  // A training run with graphs follows the eager run's losses.
  auto a = train_config(t.data, d + "/eager"), b = train_config(t.data, d + "/graphed");
  for (auto* c : {&a, &b}) c->steps = 12, c->device = "cuda";
  b.cuda_graphs = true;
  model::train(a);
  model::train(b);
  const auto la = losses(d + "/eager/log.jsonl"), lb = losses(d + "/graphed/log.jsonl");
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i)
    EXPECT_NEAR(la[i], lb[i], 1e-3 * la[i]) << "step " << i + 1;
}

TEST(Training, BadCheckpointsAndDataAreRefused) {
  const std::string d = test::temp_dir("badckpt");
  std::ofstream(d + "/junk.pt") << "not a checkpoint";
  EXPECT_THROW(model::Simulator(d + "/junk.pt"), Error);
  EXPECT_THROW(model::Simulator(d + "/missing.pt"), Error);
  auto t = train_config(d + "/missing.h5", d + "/run");
  t.steps = 1;
  EXPECT_THROW(model::train(t), Error);
}

}  // namespace
}  // namespace cpusim
