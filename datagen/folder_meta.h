// datagen/folder_meta.h: the metadata file at the root of a folder of trace files (cpusim.json,
// beside train/ and test/, where the paper's code does not look): which machine the files are
// for, so `verify`, `trace` and `dataset import` need no --isa or --memory-size for them.
#pragma once

#include <filesystem>
#include <optional>

#include "isa/isa.h"

namespace cpusim::datagen {

inline constexpr const char* kFolderMetaName = "cpusim.json";

struct FolderMeta {
  isa::Config files;          // the machine the files' bytes are laid out for (what verify runs)
  bool paper_layout = false;  // bgpt images padded to 1024 bytes from a smaller set's machine...
  unsigned set_memory_size =
      0;  // ...of this memory size (what `dataset import --paper-layout` cuts to)
};

// Writes DIR/cpusim.json. `set` is the set's machine; with paper_layout the files hold the
// paper's 1024-byte images of it.
void write_folder_meta(const std::filesystem::path& dir, const isa::Config& set, bool paper_layout);

// The metadata for `path`: a folder holding cpusim.json, or a file in such a folder or in its
// train/ or test/; nullopt where there is none. Throws cpusim::Error "<file>: ..." for a damaged
// one.
std::optional<FolderMeta> find_folder_meta(const std::filesystem::path& path);

}  // namespace cpusim::datagen
