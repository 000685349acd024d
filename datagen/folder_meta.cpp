// datagen/folder_meta.cpp: cpusim.json beside a folder's train/ and test/ (datagen/folder_meta.h).
#include "datagen/folder_meta.h"

#include <nlohmann/json.hpp>

#include "common/io.h"
#include "datagen/paper_layout.h"

namespace cpusim::datagen {

namespace fs = std::filesystem;

void write_folder_meta(const fs::path& dir, const isa::Config& set, bool paper_layout) {
  isa::Config files = set;
  if (paper_layout) files.memory_size = unsigned(kPaperMemory);
  nlohmann::json j = {{"format", "cpusim-trace-folder"},
                      {"version", 1},
                      {"isa", std::string(isa::profile_name(files.profile))},
                      {"memory_size", files.memory_size},
                      {"program_size", files.program_size},
                      {"step_limit", isa::step_limit(set)},
                      {"image_size", isa::image_bytes(files)},
                      {"state_size", isa::state_bytes(files)},
                      {"paper_layout", paper_layout}};
  if (paper_layout) j["set_memory_size"] = set.memory_size;
  write_file_atomic((dir / kFolderMetaName).string(), j.dump(2) + "\n");
}

std::optional<FolderMeta> find_folder_meta(const fs::path& path) {
  std::error_code ec;
  std::vector<fs::path> candidates;
  if (fs::is_directory(path, ec)) {
    candidates = {path / kFolderMetaName, path.parent_path() / kFolderMetaName};
  } else {
    const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    candidates = {dir / kFolderMetaName};
    const std::string leaf = dir.filename().string();
    if (leaf == "train" || leaf == "test")
      candidates.push_back(dir.parent_path() / kFolderMetaName);
  }
  for (const fs::path& f : candidates) {
    if (!fs::is_regular_file(f, ec)) continue;
    const auto j = nlohmann::json::parse(read_text(f.string()), nullptr, false);
    FolderMeta m;
    try {
      if (j.is_discarded() || j.value("format", "") != "cpusim-trace-folder")
        throw std::runtime_error("not cpusim's");
      m.files = isa::default_config(isa::parse_profile(j.at("isa").get<std::string>()));
      m.files.memory_size = j.at("memory_size");
      m.files.program_size = j.at("program_size");
      m.files.step_limit = j.at("step_limit");
      isa::validate(m.files);
      m.paper_layout = j.at("paper_layout");
      if (m.paper_layout) m.set_memory_size = j.at("set_memory_size");
    } catch (const std::exception& e) {
      throw Error(f.string() + ": damaged folder metadata (" + e.what() +
                  "); remove it and pass --isa and --memory-size");
    }
    return m;
  }
  return std::nullopt;
}

}  // namespace cpusim::datagen
