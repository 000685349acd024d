// tests/interop_test.cpp: models outside cpusim: `cpusim model info|export|import`, the
// safetensors, torch and paper formats read from Python (Debian's python3-torch), the PyTorch
// reference of the model (python/cpusim_torch.py) against libtorch's logits, and the paper's
// checkpoint layout imported back to identical predictions.
#include "model/interop.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <type_traits>

#include "common/io.h"
#include "model/checkpoint.h"
#include "model/internal.h"
#include "tests/model_util.h"
#include "tests/test_util.h"

namespace cpusim {
namespace {

namespace fs = std::filesystem;

std::string python() {
  return std::string("PYTHONPATH=") + CPUSIM_SOURCE_DIR + "/python " + CPUSIM_PYTHON;
}

// A small toy set: programs of up to 6 instructions in a 64-byte image, 48-byte states.
std::string toy_set(const std::string& d) {
  datagen::DatagenConfig c;
  c.gen.isa = isa::default_config(isa::Profile::toy);
  c.gen.isa.program_size = 64;
  c.gen.isa.step_limit = 16;
  c.gen.max_len = 6;
  c.train = 40, c.test = 8, c.seed = 7, c.progress = false;
  return test::write_set(c, d + "/toy.h5");
}

// A tiny model trained 5 steps with `configure`'s options, in DIR/run (on a toy set with `toy`).
std::string trained(const std::string& d, const std::function<void(model::TrainConfig&)>& configure,
                    bool toy = false) {
  const auto data = toy ? toy_set(d) : test::small_set(d, 40, 8, 8);
  auto t = test::train_config(data, d + "/run");
  t.steps = 5;
  configure(t);
  model::train(t);
  return data;
}

// libtorch's teacher-forced logits of the first 4 test traces, with the traces and the batch, as
// the safetensors file python/check_reference.py reads.
void write_case(const std::string& model_path, const std::string& data, const std::string& out) {
  torch::NoGradGuard g;
  auto ck = model::load_checkpoint(model_path, torch::kCPU);
  datagen::H5Reader r(data);
  const model::Split split = model::load_split(r, 1, 4);
  const model::Layout layout = model::layout_of(r.info().isa);
  const model::Batch b =
      model::make_batch(split, {0, 1, 2, 3}, layout, false, ck.model_config.max_patches,
                        ck.model_config.state_prefix, ck.model_config.copy_stride);
  const model::OnDevice od = model::to_device(b, torch::kCPU);
  model::Tensors t = {
      {"inputs", b.inputs.to(torch::kFloat)},
      {"targets", b.targets.to(torch::kFloat)},
      {"rows", b.rows.to(torch::kFloat)},
      {"logits", model::scored_logits(ck.model, od, torch::kCPU, false).contiguous()}};
  if (b.context.defined()) t["context"] = b.context.to(torch::kFloat);
  for (int i = 0; i < 4; ++i) {
    auto x = torch::empty({int64_t(split.size(i))});
    for (uint64_t k = 0; k < split.size(i); ++k) x[int64_t(k)] = float(split.trace(i)[k]);
    t["trace." + std::to_string(i)] = x;
  }
  const nlohmann::json meta = {{"traces", "4"},
                               {"image_bytes", std::to_string(isa::image_bytes(r.info().isa))},
                               {"state_bytes", std::to_string(isa::state_bytes(r.info().isa))}};
  write_file_atomic(out, model::safetensors_bytes(t, meta));
}

void check_reference(const std::string& name,
                     const std::function<void(model::TrainConfig&)>& configure, bool toy = false) {
  const std::string d = test::temp_dir(name);
  const auto data = trained(d, configure, toy);
  const std::string bin = test::cpusim_bin();
  auto r = test::shell(bin + " model export " + d + "/run/model.pt --format safetensors -o " + d +
                       "/m.safetensors");
  ASSERT_EQ(r.status, 0) << r.output;
  write_case(d + "/run/model.pt", data, d + "/case.safetensors");
  r = test::shell(python() + " " + CPUSIM_SOURCE_DIR + "/python/check_reference.py " + d +
                  "/m.safetensors " + d + "/case.safetensors");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("argmax agrees"), std::string::npos) << r.output;
}

TEST(Interop, PythonReferenceGivesLibtorchsLogitsForThePapersArchitecture) {
  check_reference("ref-paper", [](model::TrainConfig& t) { t.model = test::tiny(false); });
}

TEST(Interop, PythonReferenceGivesLibtorchsLogitsForTheRecipe) {
  check_reference("ref-recipe", [](model::TrainConfig& t) {
    t.state_prefix_from_data = t.program_memory_from_data = true;
    t.model.prefix_memory = true;
    t.model.byte_bits = true;
    t.model.gelu = "erf";
  });
}

TEST(Interop, PythonReferenceGivesLibtorchsLogitsWithByteWaves) {
  check_reference("ref-waves", [](model::TrainConfig& t) {
    t.state_prefix_from_data = t.program_memory_from_data = true;
    t.model.prefix_memory = true;
    t.model.byte_bits = t.model.byte_waves = true;
  });
}

TEST(Interop, PythonReferenceGivesLibtorchsLogitsWithPositionWaves) {
  check_reference("ref-position-waves", [](model::TrainConfig& t) {
    t.state_prefix_from_data = t.program_memory_from_data = true;
    t.model.prefix_memory = true;
    t.model.byte_waves = t.model.position_waves = true;
  });
}

TEST(Interop, PythonReferenceGivesLibtorchsLogitsWithTheFeatureAtEveryByte) {
  check_reference("ref-feature-every-byte", [](model::TrainConfig& t) {
    t.state_prefix_from_data = t.program_memory_from_data = true;
    t.model.prefix_memory = true;
    t.model.feature_every_byte = true;
  });
}

TEST(Interop, PythonReferenceGivesLibtorchsLogitsWithPrefixTokens) {
  check_reference("ref-prefix", [](model::TrainConfig& t) { t.state_prefix_from_data = true; });
}

TEST(Interop, PythonReferenceGivesLibtorchsLogitsWithTheCopyPathAStateBack) {
  check_reference(
      "ref-copy-state",
      [](model::TrainConfig& t) {
        t.model.copy_path = true;
        t.copy_stride_from_data = true;  // a toy state is 3 patches
      },
      /*toy=*/true);
}

// Adding a model option: the paper export's list must say whether the paper's layout can hold
// it (a test of the list itself; the Python reference's list is checked by python_module_test).
TEST(Interop, EveryModelFieldIsKnownToThePaperExport) {
  model::ModelConfig c;
  std::set<std::string> fields;
  model::for_each_field(
      c, [&](const char* name, auto&, const model::FieldInfo&) { fields.insert(name); });
  std::set<std::string> listed;
  for (const auto& f : model::paper_export_fields()) listed.insert(f.name);
  EXPECT_EQ(fields, listed);
  // And the ones it refuses are refused.
  for (const auto& f : model::paper_export_fields()) {
    if (!f.refused) continue;
    model::ModelConfig m = test::tiny(false);
    model::for_each_field(m, [&](const char* name, auto& v, const model::FieldInfo&) {
      using T = std::decay_t<decltype(v)>;
      if (std::string(name) != f.name) return;
      if constexpr (std::is_same_v<T, bool>)
        v = true;
      else if constexpr (std::is_same_v<T, int>)
        v = 16;
    });
    EXPECT_THROW(model::check_paper_architecture(m, "m.pt"), Error) << f.name;
  }
  EXPECT_NO_THROW(model::check_paper_architecture(test::tiny(false), "m.pt"));
}

TEST(Interop, ExportsAreReadFromPythonAndInfoDescribesTheModel) {
  const std::string d = test::temp_dir("export");
  trained(d, [](model::TrainConfig&) {});
  const std::string bin = test::cpusim_bin(), m = d + "/run/model.pt";
  auto r = test::shell(bin + " model info --json " + m);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto info = nlohmann::json::parse(r.output);
  const int64_t params = info["parameters"];
  EXPECT_EQ(params, model::parameter_count(test::train_config("", "").model));
  EXPECT_EQ(info["step"], 5);
  EXPECT_EQ(info["has_optimizer"], false);
  EXPECT_EQ(info["model"]["copy_path"], true);
  EXPECT_EQ(info["isa"]["memory_size"], 32);
  ASSERT_EQ(test::shell(bin + " model export " + m + " --format torch -o " + d + "/m.pt").status,
            0);
  ASSERT_EQ(
      test::shell(bin + " model export " + m + " --format safetensors -o " + d + "/m.safetensors")
          .status,
      0);
  // torch.load reads the state_dict; the safetensors header (read with the standard library
  // alone) has every tensor and the configuration.
  r = test::shell(python() + " -c \"import torch; sd = torch.load('" + d +
                  "/m.pt'); "
                  "print(sum(v.numel() for v in sd.values()), len(sd))\"");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.substr(0, r.output.find(' ')), std::to_string(params)) << r.output;
  r = test::shell(python() + " -c \"import json, struct; f = open('" + d +
                  "/m.safetensors', 'rb'); "
                  "n = struct.unpack('<Q', f.read(8))[0]; h = json.loads(f.read(n)); m = "
                  "h.pop('__metadata__'); "
                  "import math; print(sum(math.prod(e['shape']) for e in h.values()), "
                  "json.loads(m['cpusim_model'])['copy_path'])\"");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, std::to_string(params) + " True\n");
  // A safetensors export imports back to the same predictions.
  r = test::shell(bin + " model import " + d + "/m.safetensors -o " + d + "/back.pt");
  ASSERT_EQ(r.status, 0) << r.output;
  model::Simulator a(m), b(d + "/back.pt");
  const test::TestTraces tt(d + "/d.h5");
  EXPECT_EQ(a.predict_teacher(tt.traces), b.predict_teacher(tt.traces));
  // The paper's layout is only for the paper's architecture.
  r = test::shell(bin + " model export " + m + " --format paper -o " + d + "/p.pth");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("needs the paper's architecture"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(d + "/p.pth"));
}

TEST(Interop, PaperLayoutHasThePapersNamesAndImportsBackToIdenticalPredictions) {
  const std::string d = test::temp_dir("paper-format");
  trained(d, [](model::TrainConfig& t) { t.model = test::tiny(false); });
  const std::string bin = test::cpusim_bin(), m = d + "/run/model.pt";
  ASSERT_EQ(test::shell(bin + " model export " + m + " --format paper -o " + d + "/p.pth").status,
            0);
  // Python sees the paper's names, with GPT-2's Conv1D layout (in, out) for c_attn.
  auto r = test::shell(python() + " -c \"import torch; ck = torch.load('" + d +
                       "/p.pth'); sd = ck['model']; "
                       "print(tuple(sd['patch_level_decoder.base.h.0.attn.c_attn.weight'].shape), "
                       "tuple(sd['patch_level_decoder.patch_embedding.weight'].shape), "
                       "'byte_level_decoder.base.lm_head.weight' in sd, "
                       "'byte_level_decoder.base.transformer.h.0.mlp.c_fc.weight' in sd)\"");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, "(64, 192) (64, 4112) True True\n");
  // Imported with tiny's 4 heads (width 64 / 64 would give 1), for the set's machine.
  r = test::shell(bin + " model import --isa bgpt --memory-size 32 --heads 4 " + d + "/p.pth -o " +
                  d + "/back.pt");
  ASSERT_EQ(r.status, 0) << r.output;
  model::Simulator a(m), b(d + "/back.pt");
  EXPECT_EQ(b.config().begin_patch, "bin");  // the paper's begin patch, by default
  // Imported with cpusim's begin patch, which this model was trained with: identical predictions.
  r = test::shell(bin + " model import --isa bgpt --memory-size 32 --heads 4 --begin-patch pad " +
                  d + "/p.pth -o " + d + "/back-pad.pt");
  ASSERT_EQ(r.status, 0) << r.output;
  model::Simulator c(d + "/back-pad.pt");
  const test::TestTraces tt(d + "/d.h5");
  EXPECT_EQ(a.predict_teacher(tt.traces), c.predict_teacher(tt.traces));
  EXPECT_EQ(a.rollout(tt.prefixes, 8), c.rollout(tt.prefixes, 8));
  // Damaged or foreign files are refused in one line.
  write_file_atomic(d + "/junk.pth", std::vector<uint8_t>{'P', 'K', 3, 4, 0, 0});
  r = test::shell(bin + " model import " + d + "/junk.pth -o " + d + "/x.pt");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("junk.pth: cannot read as a torch.save checkpoint"), std::string::npos)
      << r.output;
  std::vector<uint8_t> bad(64, 0xff);
  write_file_atomic(d + "/bad.safetensors", bad);
  r = test::shell(bin + " model import " + d + "/bad.safetensors -o " + d + "/x.pt");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("safetensors header length"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(d + "/x.pt"));
}

}  // namespace
}  // namespace cpusim
