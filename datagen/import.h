// datagen/import.h: `cpusim dataset import|export`: the paper's folders (train/ and test/ of
// .bin traces) to an HDF5 set, every trace re-executed and refused per file when it is not what
// the emulator makes; and an HDF5 set back to such folders. Printing is the caller's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "isa/isa.h"

namespace cpusim::datagen {

struct ImportConfig {
  isa::Config isa;            // the machine the traces are for
  std::string input;          // folder holding train/ and test/
  std::string output;         // HDF5 file to write
  bool paper_layout = false;  // bgpt files with the paper's 1024-byte image, cut to isa.memory_size
  bool skip_invalid = false;  // write the valid traces when some are refused
  bool progress = true;       // progress display on stderr
};

struct Refusal {
  std::string path, why;
};

struct ImportResult {
  uint64_t imported = 0;
  uint64_t duplicates = 0;  // programs already imported (either split), skipped
  std::vector<Refusal> refused;
  bool written = false;  // false when traces were refused without skip_invalid: nothing written
};

// Throws cpusim::Error for a missing folder or one without traces.
ImportResult import_folder(const ImportConfig& c);

struct ExportResult {
  uint64_t traces = 0;
  uint64_t run_differently = 0;  // paper layout: traces the 1024-byte machine runs to other states
  unsigned memory_size = 0;      // the set's memory size
};
// Writes `input`'s traces as `output`/train/<md5>.bin and test/<md5>.bin (paper_layout: images
// zero-padded to 1024 bytes, bgpt only).
ExportResult export_set(const std::string& input, const std::string& output, bool paper_layout);

}  // namespace cpusim::datagen
