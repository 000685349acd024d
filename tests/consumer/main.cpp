// tests/consumer/main.cpp: assembles, runs and verifies one program through an installed cpusim.
#include <iostream>

#include "emulator/emulator.h"
#include "harness/verify.h"
#include "isa/asm.h"

int main() {
  using namespace cpusim;
  isa::Config c = isa::default_config(isa::Profile::bgpt);
  c.memory_size = 64;
  std::vector<uint8_t> image =
      isa::assemble(isa::Profile::bgpt, "LOADI 5\nPOP B\nADD B, B, C\nHLT\n");
  image.resize(isa::image_bytes(c), 0);
  std::vector<uint8_t> trace;
  emu::run_trace(c, image, emu::zero_state(c), trace);
  const auto v = harness::verify_trace(c, trace, "consumer");
  std::cout << "consumer: " << v.trace.tally.states + 1 << " states, byte accuracy "
            << v.trace.tally.byte_accuracy() << "\n";
  return v.trace.exact() ? 0 : 1;
}
