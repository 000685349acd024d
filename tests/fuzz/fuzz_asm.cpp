// tests/fuzz/fuzz_asm.cpp: assembly text. The first byte picks the profile; the rest is the
// source. Whatever assembles must disassemble and assemble back to the same bytes, and any four
// bytes must survive disassemble -> assemble (isa/asm.h promises both).
#include <cstdint>
#include <string_view>

#include "common/io.h"
#include "isa/asm.h"
#include "tests/fuzz/fuzz_util.h"

using namespace cpusim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const isa::Profile p = data[0] & 1 ? isa::Profile::toy : isa::Profile::bgpt;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const auto bytes = isa::assemble(p, text);
    FUZZ_CHECK(bytes.size() % 4 == 0);
    FUZZ_CHECK(isa::assemble(p, isa::disassemble_program(p, bytes, true)) == bytes);
  } catch (const Error&) {
  }
  for (size_t i = 1; i + 4 <= size; i += 4) {
    const isa::Insn in = isa::insn_at(data + i);
    const auto back = isa::assemble(p, isa::disassemble(p, in));
    FUZZ_CHECK(back.size() == 4 && back[0] == in.op && back[1] == in.a1 && back[2] == in.a2 &&
               back[3] == in.a3);
  }
  return 0;
}
