// model/checkpoint.cpp: checkpoints on disk (model/checkpoint.h).
#include "model/checkpoint.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/io.h"
#include "common/isolate.h"

namespace cpusim::model {

namespace fs = std::filesystem;
using json = nlohmann::json;

json to_json(const ModelConfig& c) {
  json j = json::object();
  for_each_field(c, [&](const char* name, const auto& v, const FieldInfo&) { j[name] = v; });
  return j;
}

ModelConfig model_from_json(const json& j) {
  ModelConfig c;
  for_each_field(c, [&](const char* name, auto& v, const FieldInfo& f) {
    if (!j.contains(name) && f.since_v1) return;  // an older checkpoint: the struct default
    try {
      j.at(name).get_to(v);
    } catch (const json::exception&) {
      throw Error(std::string("model field '") + name + "' is missing or of the wrong type");
    }
  });
  if (c.patch_size != kPatchSize)
    throw Error("patch_size " + std::to_string(c.patch_size) + ": cpusim models use " +
                std::to_string(kPatchSize));
  // Sizes a model can have (a damaged record is refused here, not by the allocator).
  auto in = [](int v, int lo, int hi) { return v >= lo && v <= hi; };
  if (!in(c.width, 1, 1 << 14) || !in(c.heads, 1, c.width) || c.width % c.heads ||
      !in(c.patch_layers, 0, 1024) || !in(c.byte_layers, 0, 1024) ||
      !in(c.max_patches, 2, 1 << 20) || !in(c.state_prefix, 0, 1 << 16) ||
      !in(c.program_memory, 0, 1 << 16) || !in(c.copy_stride, 1, 1 << 12))
    throw Error("model sizes out of range (width " + std::to_string(c.width) + ", heads " +
                std::to_string(c.heads) + ", layers " + std::to_string(c.patch_layers) + "+" +
                std::to_string(c.byte_layers) + ", patches " + std::to_string(c.max_patches) + ")");
  return c;
}

void check_claimed_size(const ModelConfig& c, uint64_t file_bytes, const std::string& path) {
  // The transformer blocks alone hold 12 * width^2 fp32 weights each; a file smaller than that
  // cannot hold the model its record claims.
  const long double blocks = 12.0L * c.width * c.width * (c.patch_layers + c.byte_layers) * 4.0L;
  if (blocks > 1.01L * file_bytes + (64 << 10))
    throw Error(path + ": its record claims a model of at least " +
                std::to_string((unsigned long long)(blocks / (1 << 20))) +
                " MB of weights, but the file has " + std::to_string(file_bytes >> 20) +
                " MB: a damaged checkpoint");
}

json isa_json(const isa::Config& c) {
  return {{"profile", std::string(isa::profile_name(c.profile))},
          {"memory_size", c.memory_size},
          {"program_size", c.program_size},
          {"step_limit", isa::step_limit(c)},
          {"table_hash", std::to_string(isa::table_hash(c.profile))}};
}

static torch::Tensor string_tensor(const std::string& s) {
  auto t = torch::empty({int64_t(s.size())}, torch::kUInt8);
  std::memcpy(t.data_ptr<uint8_t>(), s.data(), s.size());
  return t;
}
static std::string tensor_string(const torch::Tensor& t) {
  auto c = t.contiguous().to(torch::kCPU);
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), size_t(c.numel()));
}

void save_checkpoint(const std::string& path, BGPT& m, torch::optim::Optimizer* opt,
                     const json& meta) {
  torch::serialize::OutputArchive a, ma, oa;
  m->save(ma);
  a.write("model", ma);
  if (opt) {
    opt->save(oa);
    a.write("optimizer", oa);
  }
  a.write("meta", string_tensor(meta.dump()));
  const std::string tmp = temp_sibling(path).string();
  // Written through our own file: libtorch's file writer throws from its destructor when the
  // disk is full (std::terminate). Here a failed write is remembered, the rest discarded, and
  // the error raised after the archive is done.
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw Error(path + ": cannot write checkpoint: " + std::strerror(errno));
  int write_error = 0;
  try {
    a.save_to([&](const void* data, size_t n) -> size_t {
      if (!write_error && std::fwrite(data, 1, n, f) != n) write_error = errno ? errno : EIO;
      return n;
    });
  } catch (const std::exception& e) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw Error(path + ": cannot write checkpoint: " + std::string(e.what()).substr(0, 200));
  }
  if (std::fflush(f) != 0 && !write_error) write_error = errno;
  if (std::fclose(f) != 0 && !write_error) write_error = errno;
  if (write_error) {
    std::remove(tmp.c_str());
    throw Error(path + ": cannot write checkpoint (disk full?): " + std::strerror(write_error));
  }
  durable_rename(tmp, path);  // the previous checkpoint stays until this one is on the disk
}

Checkpoint load_checkpoint(const std::string& path, const torch::Device& device) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such checkpoint");
  // libtorch's TorchScript loader can crash on a damaged archive (results/fuzzing.md): the cpusim
  // command loads it in a child first (common/isolate.h), on the CPU with one thread.
  check_in_child(path, "libtorch", [&] {
    torch::set_num_threads(1);
    load_checkpoint(path, torch::kCPU);
  });
  Checkpoint c;
  torch::serialize::InputArchive a;
  try {
    a.load_from(path, device);
  } catch (const std::exception&) {
    throw Error(path +
                ": not a cpusim checkpoint (unreadable archive); make one with cpusim train");
  }
  torch::Tensor meta;
  std::string table_hash;
  try {
    a.read("meta", meta);
    c.meta = json::parse(tensor_string(meta));
    if (c.meta.value("format", "") != "cpusim-checkpoint") throw std::runtime_error("format");
    c.model_config = model_from_json(c.meta.at("model"));
    c.isa =
        isa::default_config(isa::parse_profile(c.meta.at("isa").at("profile").get<std::string>()));
    c.isa.memory_size = c.meta.at("isa").at("memory_size");
    c.isa.program_size = c.meta.at("isa").at("program_size");
    c.isa.step_limit = c.meta.at("isa").at("step_limit");
    table_hash = c.meta.at("isa").at("table_hash").get<std::string>();
  } catch (const std::exception& e) {
    throw Error(path + ": damaged or foreign checkpoint (" + e.what() +
                "); make one with cpusim train");
  }
  if (table_hash != std::to_string(isa::table_hash(c.isa.profile)))
    throw Error(path + ": made for another version of the " +
                std::string(isa::profile_name(c.isa.profile)) + " opcode table");
  check_claimed_size(c.model_config, fs::file_size(path, ec), path);
  if (size_t(c.model_config.copy_stride) > isa::state_bytes(c.isa) / isa::kPatchBytes)
    throw Error(path + ": damaged checkpoint: copy_stride " +
                std::to_string(c.model_config.copy_stride) + " reaches past the previous state (" +
                std::to_string(isa::state_bytes(c.isa) / isa::kPatchBytes) + " patches)");
  try {
    c.model = BGPT(c.model_config);
  } catch (const c10::Error& e) {
    throw Error(path + ": damaged checkpoint: its model cannot be built (" +
                std::string(e.what_without_backtrace()).substr(0, 200) + ")");
  }
  try {
    torch::serialize::InputArchive ma;
    a.read("model", ma);
    c.model->load(ma);
  } catch (const std::exception& e) {
    throw Error(path + ": checkpoint weights do not match its configuration");
  }
  c.model->to(device);
  c.archive = std::move(a);
  return c;
}

}  // namespace cpusim::model
