// cli/cmd_asm.cpp: `cpusim asm`: assembly text -> program bytes (isa/asm.h).
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "isa/asm.h"

namespace cpusim::cli {

int cmd_asm(const Args& args) {
  IsaOptions io;
  std::string input, output;
  po::options_description d("asm options");
  io.add(d);
  d.add_options()("input", po::value(&input)->required(), "assembly file")(
      "output,o", po::value(&output)->required(), "program bytes to write");
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  if (!parse("asm", "[--isa P] PROGRAM.asm -o PROGRAM.bin", d, pos, args, vm)) return 0;
  const isa::Config c = io.config();
  const auto bytes = isa::assemble(c.profile, read_text(input), input);
  write_file_atomic(output, bytes);
  if (!quiet(vm)) std::cerr << "wrote " << output << ": " << bytes.size() / 4 << " instructions\n";
  return 0;
}

}  // namespace cpusim::cli
