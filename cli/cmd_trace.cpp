// cli/cmd_trace.cpp: `cpusim trace`: trace files printed as readable states (the paper's
// "translate" mode).
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "isa/asm.h"

namespace cpusim::cli {

int cmd_trace(const Args& args) {
  IsaOptions io;
  std::vector<std::string> inputs;
  bool no_program = false;
  po::options_description d("trace options");
  io.add(d);
  d.add_options()("trace", po::value(&inputs)->required(), "trace files (.bin)")(
      "no-program", po::bool_switch(&no_program), "do not list the program image");
  po::positional_options_description pos;
  pos.add("trace", -1);
  po::variables_map vm;
  if (!parse("trace", "[--isa P] TRACE.bin...", d, pos, args, vm)) return 0;
  for (const std::string& path : inputs) {
    const isa::Config c = io.config_for(path, vm);
    const size_t ib = isa::image_bytes(c), sb = isa::state_bytes(c);
    const auto bytes = read_file(path);
    if (bytes.size() < ib + sb)
      throw Error(path + ": too short (" + std::to_string(bytes.size()) +
                  " bytes) to hold the program image and first state (" + std::to_string(ib + sb) +
                  " bytes)");
    std::cout << "# " << path << ": " << isa::profile_name(c.profile) << ", "
              << (bytes.size() - ib) / sb << " states of " << sb << " bytes";
    if ((bytes.size() - ib) % sb)
      std::cout << " + " << (bytes.size() - ib) % sb << " trailing bytes";
    std::cout << "\n";
    if (!no_program)
      std::cout << "# program\n"
                << isa::numbered_listing(c.profile, std::span(bytes).subspan(0, ib), "#  ");
    std::cout << isa::format_states(c, std::span(bytes).subspan(ib));
  }
  return 0;
}

}  // namespace cpusim::cli
