// cli/cmd_disasm.cpp: `cpusim disasm`: program bytes (or a trace's image) -> assembly text.
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "isa/asm.h"

namespace cpusim::cli {

int cmd_disasm(const Args& args) {
  IsaOptions io;
  std::string input;
  bool trace = false, all = false;
  po::options_description d("disasm options");
  io.add(d);
  d.add_options()("input", po::value(&input)->required(), "program bytes, or a trace with --trace")(
      "trace", po::bool_switch(&trace), "input is a trace file: disassemble its program image")(
      "all", po::bool_switch(&all), "keep every trailing HLT word");
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  if (!parse("disasm", "[--isa P] [--trace] FILE", d, pos, args, vm)) return 0;
  const isa::Config c = io.config();
  auto bytes = read_file(input);
  if (trace) {
    if (bytes.size() < isa::image_bytes(c))
      throw Error(input + ": shorter than the " + std::to_string(isa::image_bytes(c)) +
                  "-byte program image");
    bytes.resize(isa::image_bytes(c));
  } else if (bytes.size() % isa::kInsnBytes) {
    throw Error(input + ": " + std::to_string(bytes.size()) +
                " bytes is not a whole number of instructions");
  }
  std::cout << isa::disassemble_program(c.profile, bytes, all);
  return 0;
}

}  // namespace cpusim::cli
