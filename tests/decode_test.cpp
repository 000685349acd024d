// tests/decode_test.cpp: draft-and-verify decoding (BGPTImpl::byte_draft) gives the bytes of
// greedy byte-by-byte decoding whatever the draft, for every byte-decoder option, with the
// number of passes a draft right, wrong at its first byte and wrong at its last byte costs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model/bgpt.h"
#include "tests/model_util.h"

namespace cpusim {
namespace {

using model::BGPT;

struct Variant {
  std::string name;
  bool copy = false;
  int prefix = 0;  // state_prefix bytes
  bool prefix_memory = false;
  int program = 0;  // program_memory bytes
  bool bits = false;
  std::string gelu = "tanh";
  std::string program_attention = "rows";
  bool address_bits = false;
  bool waves = false;  // byte_waves
  bool position_waves = false;
  bool feature_every_byte = false;
};

// Every option the byte decoder has, each on in at least one variant and most together in one.
std::vector<Variant> variants() {
  return {{"plain"},
          {"copy", true},
          {"prefix-tokens", false, 16},
          {"prefix-memory", true, 16, true},
          {"program", false, 0, false, 32},
          {"everything", true, 16, true, 32, true, "erf"},
          {"tokens-program-bits", true, 16, false, 32, true},
          {"program-per-trace", false, 0, false, 32, false, "tanh", "trace"},
          {"everything-per-trace", true, 16, true, 32, true, "erf", "trace", true},
          {"waves", true, 16, true, 32, false, "erf", "trace", false, true},
          {"everything-with-waves", true, 16, true, 32, true, "erf", "rows", true, true},
          {"position-waves", true, 16, true, 32, false, "erf", "trace", false, true, true},
          {"position-waves-tokens", false, 16, false, 32, true, "tanh", "rows", true, false, true}};
}

TEST(Decode, DraftGivesTheBytewiseBytesWhateverTheDraft) {
  for (const Variant& v : variants()) {
    SCOPED_TRACE(v.name);
    torch::NoGradGuard ng;
    torch::manual_seed(11);
    auto c = test::tiny(v.copy);
    c.state_prefix = v.prefix;
    c.prefix_memory = v.prefix_memory;
    c.program_memory = v.program;
    c.byte_bits = v.bits;
    c.gelu = v.gelu;
    c.program_attention = v.program_attention;
    c.address_bits = v.address_bits;
    c.byte_waves = v.waves;
    c.position_waves = v.position_waves;
    c.feature_every_byte = v.feature_every_byte;
    BGPT m(c);
    // The maps start at zero: random ones, so that the waves change the decoded bytes.
    for (auto* p :
         {&m->byte_waves, &m->copy_waves, &m->patch_waves, &m->prefix_waves, &m->program_waves})
      if (p->defined()) p->normal_(0, 0.2);
    const int64_t N = 9, S = 16;
    auto feat = torch::randn({N, 64});
    auto prev = torch::randint(0, 256, {N, S}, torch::kLong);
    model::ByteMemory mem;
    if (v.prefix) mem.context = torch::randint(0, 256, {N, v.prefix}, torch::kLong);
    if (v.program) {  // two traces' images, the rows shared between them
      auto inputs = torch::randint(0, 256, {2, 4, S}, torch::kLong);
      mem.program = m->program_kv(inputs);
      // runs of one trace's rows and single rows (per-trace attention groups the runs)
      mem.row_trace = torch::tensor({0, 0, 0, 1, 0, 1, 1, 1, 0}, torch::kLong);
    }
    const auto g = m->byte_generate(feat, prev, mem);  // (N, S) the reference
    auto wrong_at = [&](int64_t k) {
      auto d = g.clone();
      d.select(1, k).add_(1).remainder_(256);
      return d;
    };
    struct Case {
      const char* name;
      torch::Tensor draft;
      int64_t least, most;  // passes over all rows
    };
    const std::vector<Case> cases = {
        {"right", g, N, N},  // one pass confirms every byte
        // Corrected at the first pass; the later bytes scored after the wrong one are the next
        // draft, right or not.
        {"wrong at the first byte", wrong_at(0), 2 * N, N * S},
        {"wrong at the last byte", wrong_at(S - 1), N, N},  // confirmed and corrected in one pass
        {"random", torch::randint(0, 256, {N, S}, torch::kLong), N, N * S},
        {"padding", torch::full({N, S}, model::kPad, torch::kLong), N, N * S}};
    for (const Case& k : cases) {
      int64_t passes = 0;
      const auto out = m->byte_draft(feat, prev, k.draft, mem, &passes);
      EXPECT_TRUE(torch::equal(out, g)) << k.name;
      EXPECT_GE(passes, k.least) << k.name;
      EXPECT_LE(passes, k.most) << k.name;
    }
    // Rows alone give the bytes they give together.
    for (int64_t r : {int64_t(0), N - 1}) {
      model::ByteMemory one;
      if (mem.context.defined()) one.context = mem.context.narrow(0, r, 1);
      one.program = mem.program;
      if (mem.row_trace.defined()) one.row_trace = mem.row_trace.narrow(0, r, 1);
      const auto row = m->byte_draft(feat.narrow(0, r, 1), prev.narrow(0, r, 1),
                                     wrong_at(0).narrow(0, r, 1), one);
      EXPECT_TRUE(torch::equal(row, g.narrow(0, r, 1))) << "row " << r;
    }
  }
}

}  // namespace
}  // namespace cpusim
