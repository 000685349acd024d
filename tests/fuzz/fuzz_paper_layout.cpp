// tests/fuzz/fuzz_paper_layout.cpp: the paper's 1024-byte-image layout, converted to a smaller
// bgpt memory (the first byte picks 16..1024 bytes) and back: what converts must convert back
// to the same file, and the paper-machine check must not fail on it.
#include <cstdint>
#include <span>
#include <string>

#include "common/io.h"
#include "datagen/paper_layout.h"
#include "tests/fuzz/fuzz_util.h"

using namespace cpusim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  isa::Config c = isa::default_config(isa::Profile::bgpt);
  c.memory_size = 16u * (1u + data[0] % 64u);
  const std::span<const uint8_t> file(data + 1, size - 1);
  std::string why;
  const auto mine = datagen::from_paper_layout(c, file, why);
  if (mine.empty()) {
    FUZZ_CHECK(!why.empty());
    return 0;
  }
  const auto back = datagen::to_paper_layout(c, mine);
  FUZZ_CHECK(back.size() == file.size() && std::equal(back.begin(), back.end(), file.begin()));
  try {
    (void)datagen::same_in_paper_machine(c, mine);
  } catch (const Error&) {
  }
  return 0;
}
