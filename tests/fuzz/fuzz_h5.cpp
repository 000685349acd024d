// tests/fuzz/fuzz_h5.cpp: HDF5 trace sets through the reader, as every command that takes
// --data opens them: the header, both splits' figures, the traces (read in chunks, as training
// and evaluation read them), the steps and the program hashes.
#include <cstdint>
#include <span>
#include <vector>

#include "common/io.h"
#include "datagen/dataset.h"
#include "tests/fuzz/fuzz_util.h"

using namespace cpusim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = fuzz::write_input("set.h5", data, size);
  try {
    const datagen::H5Reader r(path);
    (void)r.info();
    for (int s = 0; s < 2; ++s) {
      (void)r.split_info(s);
      const uint64_t n = std::min<uint64_t>(r.size(s), 64);
      uint64_t bytes = 0;
      r.for_each_chunk(s, n, 16,
                       [&](uint64_t, const std::vector<std::span<const uint8_t>>& traces) {
                         for (const auto& t : traces) bytes += t.size();
                       });
      FUZZ_CHECK(r.steps(s).size() == r.size(s));
      FUZZ_CHECK(r.program_hashes(s).size() == r.size(s));
    }
  } catch (const Error&) {
  }
  return 0;
}
