// tests/fuzz/fuzz_trace.cpp: trace files, as `cpusim verify` and `cpusim trace` read them. The
// first byte picks the machine (bgpt with 64 or 1024 bytes of memory, toy); the rest is the file.
#include <cstdint>
#include <span>

#include "common/io.h"
#include "harness/verify.h"
#include "isa/asm.h"
#include "tests/fuzz/fuzz_util.h"

using namespace cpusim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  isa::Config c = isa::default_config(data[0] % 3 == 2 ? isa::Profile::toy : isa::Profile::bgpt);
  if (data[0] % 3 == 0) c.memory_size = 64;
  const std::span<const uint8_t> file(data + 1, size - 1);
  try {
    const auto r = harness::verify_trace(c, file, "fuzz.bin");
    const isa::Tally& t = r.trace.tally;
    // (bytes counts the re-executed truth, which a truncated file may not hold: the rest is
    // missing)
    FUZZ_CHECK(t.matched_bytes <= t.bytes && t.exact_states <= t.states &&
               t.matched_bytes + t.missing_bytes <= t.bytes);
    FUZZ_CHECK(t.matched_bytes <= file.size());
  } catch (const Error&) {
  }
  const size_t ib = isa::image_bytes(c);
  if (file.size() >= ib) {
    const std::string listing = isa::numbered_listing(c.profile, file.subspan(0, ib), "", 64);
    const std::string states = isa::format_states(c, file.subspan(ib));
    FUZZ_CHECK(!states.empty());
  }
  return 0;
}
