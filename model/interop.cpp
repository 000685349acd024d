// model/interop.cpp: models in other formats (model/api.h): safetensors (weights and the model's
// configuration in the header), a state_dict that Python's torch.load reads, and the paper's
// checkpoint layout (its bGPTLMHeadModel's names, GPT-2's Conv1D weight layout), both ways; the
// Hugging Face-style folder is model/model_folder.cpp's.
#include "model/interop.h"

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "common/io.h"
#include "model/api.h"
#include "model/checkpoint.h"

namespace cpusim::model {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The model's parameters by their cpusim names, fp32 on the CPU.
Tensors own_tensors(BGPT& m) {
  Tensors t;
  for (const auto& p : m->named_parameters())
    t[p.key()] = p.value().detach().to(torch::kCPU, torch::kFloat).contiguous();
  return t;
}

// Copies `t` into the model's parameters; every one must be there, with its shape.
void load_own(BGPT& m, const Tensors& t, const std::string& path) {
  torch::NoGradGuard g;
  for (auto& p : m->named_parameters()) {
    const auto it = t.find(p.key());
    if (it == t.end())
      throw Error(path + ": no tensor '" + p.key() + "' for this model's configuration");
    if (it->second.sizes() != p.value().sizes())
      throw Error(path + ": tensor '" + p.key() + "' has shape " + c10::str(it->second.sizes()) +
                  ", the model needs " + c10::str(p.value().sizes()));
    p.value().copy_(it->second);
  }
}

}  // namespace

std::vector<uint8_t> safetensors_bytes(const Tensors& t, const json& metadata) {
  json h = json::object();
  uint64_t off = 0;
  for (const auto& [name, x] : t) {
    const uint64_t n = uint64_t(x.numel()) * 4;
    h[name] = {{"dtype", "F32"}, {"shape", x.sizes().vec()}, {"data_offsets", {off, off + n}}};
    off += n;
  }
  h["__metadata__"] = metadata;
  std::string head = h.dump();
  head.resize((head.size() + 7) / 8 * 8, ' ');
  std::vector<uint8_t> out(8 + head.size() + off);
  const uint64_t len = head.size();
  for (int i = 0; i < 8; ++i) out[i] = uint8_t(len >> (8 * i));  // little-endian
  std::memcpy(out.data() + 8, head.data(), head.size());
  uint8_t* data = out.data() + 8 + head.size();
  for (const auto& [name, x] : t) {  // the same order as the offsets (std::map's)
    std::memcpy(data, x.data_ptr<float>(), size_t(x.numel()) * 4);
    data += x.numel() * 4;
  }
  return out;
}

std::pair<Tensors, json> read_safetensors(const std::string& path,
                                          const std::vector<uint8_t>& bytes) {
  if (bytes.size() < 8) throw Error(path + ": too short for a safetensors file");
  uint64_t len = 0;
  for (int i = 0; i < 8; ++i) len |= uint64_t(bytes[i]) << (8 * i);
  if (len > bytes.size() - 8 || len > (100u << 20))
    throw Error(path + ": safetensors header length " + std::to_string(len) + " exceeds the file");
  const json h = json::parse(bytes.begin() + 8, bytes.begin() + 8 + int64_t(len), nullptr, false);
  if (!h.is_object()) throw Error(path + ": safetensors header is not a JSON object");
  const uint64_t data0 = 8 + len, data_bytes = bytes.size() - data0;
  Tensors t;
  for (const auto& [name, e] : h.items()) {
    if (name == "__metadata__") continue;
    try {
      const std::string dtype = e.at("dtype");
      const auto shape = e.at("shape").get<std::vector<int64_t>>();
      const auto offs = e.at("data_offsets").get<std::vector<uint64_t>>();
      const int64_t width = dtype == "F32" ? 4 : (dtype == "BF16" || dtype == "F16") ? 2 : 0;
      if (!width) throw Error("dtype " + dtype + " (expected F32, BF16 or F16)");
      uint64_t n = 1;
      for (int64_t d : shape) {
        if (d < 0 || (d > 0 && n > (uint64_t(1) << 40) / uint64_t(d))) throw Error("bad shape");
        n *= uint64_t(d);
      }
      if (offs.size() != 2 || offs[0] > offs[1] || offs[1] > data_bytes ||
          offs[1] - offs[0] != n * uint64_t(width))
        throw Error("data_offsets do not fit the shape and the file");
      const auto type = dtype == "F32"    ? torch::kFloat
                        : dtype == "BF16" ? torch::kBFloat16
                                          : torch::kHalf;
      auto x = torch::empty(shape, type);
      std::memcpy(x.data_ptr(), bytes.data() + data0 + offs[0], n * uint64_t(width));
      t[name] = x.to(torch::kFloat);
    } catch (const std::exception& ex) {
      throw Error(path + ": tensor '" + name + "': " + ex.what());
    }
  }
  return {t, h.value("__metadata__", json::object())};
}

const std::vector<PaperField>& paper_export_fields() {
  static const std::vector<PaperField> fields = {
      {"patch_size", false},
      {"max_patches", false},
      {"patch_layers", false},
      {"byte_layers", false},
      {"width", false},
      {"heads", false},
      {"copy_path", true},
      {"gelu", false},
      {"copy_stride", false},  // read by the copy path only
      {"state_prefix", true},
      {"prefix_memory", false},  // read with a state prefix only
      {"program_memory", true},
      {"program_attention", false},  // with program memory only
      {"address_bits", false},
      {"byte_bits", true},
      {"byte_waves", true},
      {"begin_patch", false},
      {"position_waves", false},  // read with a state prefix or program memory only
      {"feature_every_byte", true},
  };
  return fields;
}

void check_paper_architecture(const ModelConfig& c, const std::string& path) {
  const nlohmann::json mine = to_json(c), paper = to_json(ModelConfig{});
  bool other = false;
  for (const PaperField& f : paper_export_fields())
    other = other || (f.refused && mine.at(f.name) != paper.at(f.name));
  if (other)
    throw Error(path +
                ": --format paper needs the paper's architecture (no copy path, state prefix, "
                "program memory, "
                "byte bits or byte waves); this model has " +
                to_json(c).dump());
}

namespace {

// ---- The paper's names ----------------------------------------------------------------------

struct PaperName {
  std::string ours, theirs;
  bool transpose;  // GPT-2's Conv1D keeps (in, out); torch's Linear (out, in)
};

std::vector<PaperName> paper_names(const ModelConfig& c) {
  std::vector<PaperName> v = {
      {"patch_emb.weight", "patch_level_decoder.patch_embedding.weight", true},
      {"patch_bias", "patch_level_decoder.patch_embedding.bias", false},
      {"patch_pos.weight", "patch_level_decoder.base.wpe.weight", false},
      {"patch_ln.weight", "patch_level_decoder.base.ln_f.weight", false},
      {"patch_ln.bias", "patch_level_decoder.base.ln_f.bias", false},
      {"byte_emb.weight", "byte_level_decoder.base.transformer.wte.weight", false},
      {"byte_pos.weight", "byte_level_decoder.base.transformer.wpe.weight", false},
      {"byte_ln.weight", "byte_level_decoder.base.transformer.ln_f.weight", false},
      {"byte_ln.bias", "byte_level_decoder.base.transformer.ln_f.bias", false}};
  auto blocks = [&](const std::string& ours, const std::string& theirs, int n) {
    for (int i = 0; i < n; ++i) {
      const std::string o = ours + "." + std::to_string(i) + ".",
                        t = theirs + ".h." + std::to_string(i) + ".";
      for (const char* wb : {"weight", "bias"}) {
        const std::string s = wb;
        v.push_back({o + "ln1." + s, t + "ln_1." + s, false});
        v.push_back({o + "qkv." + s, t + "attn.c_attn." + s, s == "weight"});
        v.push_back({o + "proj." + s, t + "attn.c_proj." + s, s == "weight"});
        v.push_back({o + "ln2." + s, t + "ln_2." + s, false});
        v.push_back({o + "fc." + s, t + "mlp.c_fc." + s, s == "weight"});
        v.push_back({o + "out." + s, t + "mlp.c_proj." + s, s == "weight"});
      }
    }
  };
  blocks("patch_blocks", "patch_level_decoder.base", c.patch_layers);
  blocks("byte_blocks", "byte_level_decoder.base.transformer", c.byte_layers);
  return v;
}

c10::IValue paper_state_dict(const ModelConfig& c, const Tensors& t) {
  c10::Dict<std::string, at::Tensor> sd;
  for (const auto& n : paper_names(c)) {
    const auto& x = t.at(n.ours);
    sd.insert(n.theirs, n.transpose ? x.t().contiguous() : x);
  }
  // The patch decoder's GPT2Model has a token embedding it never uses (vocab_size 1), and the
  // byte decoder's head is tied to its token embedding: both are in the paper's state_dict.
  sd.insert("patch_level_decoder.base.wte.weight", torch::zeros({1, c.width}));
  sd.insert("byte_level_decoder.base.lm_head.weight", t.at("byte_emb.weight"));
  c10::impl::GenericDict top(c10::StringType::get(), c10::AnyType::get());
  top.insert("model", sd);
  return top;
}

// The paper's checkpoint ({'model': state_dict}, or a bare state_dict) -> cpusim's tensors and
// configuration (sizes from the shapes; heads: `heads`, or width / 64 as the paper's code sets).
std::pair<Tensors, ModelConfig> from_paper(const std::string& path, const c10::IValue& v, int heads,
                                           const std::string& begin_patch) {
  if (!v.isGenericDict())
    throw Error(path + ": not a state_dict or a {'model': state_dict} checkpoint");
  auto d = v.toGenericDict();
  if (d.contains(c10::IValue("model"))) {
    const auto inner = d.at(c10::IValue("model"));
    if (!inner.isGenericDict()) throw Error(path + ": its 'model' entry is not a state_dict");
    d = inner.toGenericDict();
  }
  std::map<std::string, torch::Tensor> theirs;
  for (const auto& e : d)
    if (e.key().isString() && e.value().isTensor())
      theirs[e.key().toStringRef()] = e.value().toTensor().to(torch::kFloat);
  auto need = [&](const std::string& name) -> const torch::Tensor& {
    const auto it = theirs.find(name);
    if (it == theirs.end())
      throw Error(path + ": no tensor '" + name + "' (not a bGPT checkpoint of the paper's code)");
    return it->second;
  };
  ModelConfig c;
  c.width = int(need("patch_level_decoder.base.wpe.weight").size(1));
  c.max_patches = int(need("patch_level_decoder.base.wpe.weight").size(0));
  auto count = [&](const std::string& prefix) {
    int n = 0;
    while (theirs.count(prefix + ".h." + std::to_string(n) + ".ln_1.weight")) ++n;
    return n;
  };
  c.patch_layers = count("patch_level_decoder.base");
  c.byte_layers = count("byte_level_decoder.base.transformer");
  c.heads = heads > 0 ? heads : std::max(1, c.width / 64);
  c.begin_patch = begin_patch;
  c.gelu = "tanh";
  if (c.width % c.heads)
    throw Error(path + ": width " + std::to_string(c.width) + " is not a multiple of " +
                std::to_string(c.heads) + " heads");
  if (need("patch_level_decoder.patch_embedding.weight").size(1) != kPatchSize * kVocab ||
      need("byte_level_decoder.base.transformer.wpe.weight").size(0) != kPatchSize + 1)
    throw Error(path + ": not 16-byte patches of 257 symbols (the paper's layout)");
  Tensors t;
  for (const auto& n : paper_names(c)) {
    const auto& x = need(n.theirs);
    t[n.ours] = n.transpose ? x.t().contiguous() : x;
  }
  return {t, c};
}

Checkpoint load_model_file(const std::string& path) { return load_checkpoint(path, torch::kCPU); }

json metadata_strings(const Checkpoint& ck) {
  // safetensors metadata is a map of strings to strings.
  return {{"format", "pt"},
          {"cpusim_model", to_json(ck.model_config).dump()},
          {"cpusim_meta", ck.meta.dump()}};
}

}  // namespace

nlohmann::json model_info(const std::string& path) {
  Checkpoint ck = load_model_file(path);
  int64_t params = 0;
  for (const auto& p : ck.model->parameters()) params += p.numel();
  torch::serialize::InputArchive opt;
  json j = {{"path", path},
            {"model", to_json(ck.model_config)},
            {"parameters", params},
            {"isa", ck.meta.at("isa")},
            {"has_optimizer", ck.archive.try_read("optimizer", opt)}};
  for (const char* k : {"preset", "step", "total_steps", "dataset", "data", "loss_on", "seed",
                        "batch", "accum", "eval_loss", "best_eval_loss", "imported_from", "build"})
    if (ck.meta.contains(k)) j[k] = ck.meta.at(k);
  return j;
}

void export_model(const std::string& path, const std::string& format, const std::string& out) {
  if (format != "safetensors" && format != "torch" && format != "paper" && format != "hf")
    throw Error("--format " + format + ": expected safetensors, torch, paper or hf");
  Checkpoint ck = load_model_file(path);
  const Tensors t = own_tensors(ck.model);
  if (format == "hf") {
    int64_t params = 0;
    for (const auto& [name, x] : t) params += x.numel();
    return export_folder(ck, safetensors_bytes(t, metadata_strings(ck)), params, path, out);
  }
  std::vector<uint8_t> bytes;
  if (format == "safetensors") {
    bytes = safetensors_bytes(t, metadata_strings(ck));
  } else {
    c10::IValue v;
    if (format == "torch") {
      c10::Dict<std::string, at::Tensor> sd;
      for (const auto& [name, x] : t) sd.insert(name, x);
      v = sd;
    } else {
      check_paper_architecture(ck.model_config, path);
      v = paper_state_dict(ck.model_config, t);
    }
    const std::vector<char> p = torch::pickle_save(v);
    bytes.assign(p.begin(), p.end());
  }
  write_file_atomic(out, bytes);
}

namespace {

// torch.save's zip read from memory. libtorch's own in-memory reader (torch::pickle_load) copies
// whatever range the zip's directory asks for, past the end of a damaged file's bytes (found by
// fuzz_checkpoint: a heap overflow); this one reads only what is there.
class BoundedReader : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BoundedReader(const std::vector<uint8_t>& b) : b_(b) {}
  size_t size() const override { return b_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* = "") const override {
    if (pos >= b_.size()) return 0;
    n = std::min<uint64_t>(n, b_.size() - pos);
    std::memcpy(buf, b_.data() + pos, n);
    return n;
  }

 private:
  const std::vector<uint8_t>& b_;
};

// Type names a pickle may carry (TorchScript's typed containers). torch.save of a state_dict
// carries none of them; libtorch's parser of these names crashes on malformed ones (found by
// fuzz_checkpoint: a SEGV in ScriptTypeParser), so only plain ones reach it.
c10::TypePtr plain_type(const std::string& name) {
  static const char* const kPlain[] = {"Tensor",
                                       "int",
                                       "float",
                                       "str",
                                       "bool",
                                       "Any",
                                       "List[int]",
                                       "List[float]",
                                       "List[str]",
                                       "List[Tensor]",
                                       "List[Any]",
                                       "Dict[str, Tensor]",
                                       "Dict[str, int]",
                                       "Dict[str, Any]",
                                       "Dict[str, Dict[str, Tensor]]"};
  for (const char* p : kPlain)
    if (name == p) return torch::jit::Unpickler::defaultTypeParser(name);
  throw std::runtime_error("unexpected type '" + name.substr(0, 60) + "' in the pickle");
}

c10::IValue load_pickle_archive(const std::vector<uint8_t>& bytes) {
  caffe2::serialize::PyTorchStreamReader reader(std::make_shared<BoundedReader>(bytes));
  return torch::jit::readArchiveAndTensors("data", "", "", c10::nullopt, c10::nullopt, c10::nullopt,
                                           reader, plain_type);
}

}  // namespace

void import_model(const std::string& path, const isa::Config& isa, int heads,
                  const std::string& out, const std::string& begin_patch) {
  if (begin_patch != "bin" && begin_patch != "pad")
    throw Error("--begin-patch " + begin_patch + ": expected bin or pad");
  std::error_code ec;
  if (fs::is_directory(path, ec)) {  // a Hugging Face-style folder (export --format hf)
    const fs::path w = fs::path(path) / "model.safetensors";
    if (!fs::exists(w, ec))
      throw Error(path +
                  ": a folder without model.safetensors (export one with cpusim model "
                  "export --format hf)");
    return import_model(w.string(), isa, heads, out, begin_patch);
  }
  const std::vector<uint8_t> bytes = read_file(path);
  const bool zip = bytes.size() >= 4 && bytes[0] == 'P' && bytes[1] == 'K';
  Tensors t;
  ModelConfig c;
  json meta;
  if (zip) {  // torch.save's zip container: the paper's checkpoint
    c10::IValue v;
    try {
      v = load_pickle_archive(bytes);
    } catch (const std::exception& e) {
      throw Error(path + ": cannot read as a torch.save checkpoint: " +
                  std::string(e.what()).substr(0, 200));
    }
    std::tie(t, c) = from_paper(path, v, heads, begin_patch);
    meta = {{"imported_from", {{"path", path}, {"format", "paper"}}}};
  } else {  // a cpusim safetensors export
    json md;
    std::tie(t, md) = read_safetensors(path, bytes);
    if (!md.contains("cpusim_model"))
      throw Error(path +
                  ": a safetensors file without cpusim's model configuration (export one with "
                  "cpusim model export)");
    try {
      c = model_from_json(json::parse(md.at("cpusim_model").get<std::string>()));
      meta = json::parse(md.value("cpusim_meta", "{}"));
    } catch (const json::exception& e) {
      throw Error(path + ": damaged cpusim metadata (" + std::string(e.what()) + ")");
    } catch (const Error& e) {
      throw Error(path + ": damaged cpusim metadata (" + std::string(e.what()) + ")");
    }
    meta["imported_from"] = {{"path", path}, {"format", "safetensors"}};
    check_claimed_size(c, bytes.size(), path);
  }
  BGPT m(c);
  load_own(m, t, path);
  if (!meta.contains("format")) {  // a model of the paper's: the machine it is for, as given
    meta["format"] = "cpusim-checkpoint";
    meta["version"] = 1;
    meta["preset"] = "imported";
    meta["isa"] = isa_json(isa);
    meta["dataset"] = "";
    meta["step"] = 0;
  }
  meta["model"] = to_json(c);
  save_checkpoint(out, m, nullptr, meta);
}

}  // namespace cpusim::model
