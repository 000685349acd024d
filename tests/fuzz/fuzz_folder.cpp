// tests/fuzz/fuzz_folder.cpp: a folder of the paper's trace files as `cpusim dataset import`
// reads it: the input's first byte picks the machine and the layout, then cpusim.json's text
// (up to a NUL byte, when there is one) and one trace file's bytes. Import must finish with
// the file imported or refused, and write an HDF5 set only when it says so.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

#include "common/io.h"
#include "datagen/folder_meta.h"
#include "datagen/import.h"
#include "tests/fuzz/fuzz_util.h"

using namespace cpusim;
namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const fs::path dir = fuzz::scratch() / "folder";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir / "train");
  const uint8_t* rest = data + 1;
  size_t n = size - 1;
  if (data[0] & 4) {  // a cpusim.json first
    const auto* nul = static_cast<const uint8_t*>(std::memchr(rest, 0, n));
    const size_t len = nul ? size_t(nul - rest) : n;
    fuzz::write_input("folder/cpusim.json", rest, len);
    rest += nul ? len + 1 : len;
    n -= nul ? len + 1 : len;
    try {
      (void)datagen::find_folder_meta(dir);
    } catch (const Error&) {
    }
  }
  fuzz::write_input("folder/train/a.bin", rest, n);
  datagen::ImportConfig ic;
  ic.input = dir.string();
  ic.output = (fuzz::scratch() / "out.h5").string();
  ic.isa = isa::default_config(data[0] & 1 ? isa::Profile::toy : isa::Profile::bgpt);
  if (!(data[0] & 1) && (data[0] & 8)) ic.isa.memory_size = 64;
  ic.paper_layout = !(data[0] & 1) && (data[0] & 2);
  ic.progress = false;
  fs::remove(ic.output, ec);
  try {
    const auto r = datagen::import_folder(ic);
    FUZZ_CHECK(r.imported + r.refused.size() == 1);
    FUZZ_CHECK(r.written == fs::exists(ic.output));
  } catch (const Error&) {
  }
  return 0;
}
