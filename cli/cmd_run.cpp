// cli/cmd_run.cpp: `cpusim run`: one program on the interpreter; its trace written or listed.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "emulator/emulator.h"
#include "isa/asm.h"

namespace cpusim::cli {

namespace {

std::string stop_text(const emu::Outcome& o) {
  switch (o.stop) {
    case emu::Stop::halted:
      return "halted";
    case emu::Stop::step_limit:
      return "stopped at the step limit";
    case emu::Stop::fault:
      return "fault";
  }
  return "?";
}

nlohmann::json run_json(const isa::Config& c, const emu::Outcome& o,
                        std::span<const uint8_t> states, const std::string& input,
                        const std::string& output) {
  const size_t sb = isa::state_bytes(c);
  nlohmann::json list = nlohmann::json::array();
  for (size_t k = 0; k + sb <= states.size(); k += sb) list.push_back(hex(states.data() + k, sb));
  return {{"program", input},
          {"isa", std::string(isa::profile_name(c.profile))},
          {"memory_size", c.memory_size},
          {"stop", stop_text(o)},
          {"instructions", o.steps},
          {"output", output.empty() ? nlohmann::json() : nlohmann::json(output)},
          {"states", list}};
}

}  // namespace

int cmd_run(const Args& args) {
  IsaOptions io;
  std::string input, output, format = "auto", old_format, init_file;
  std::vector<std::string> sets;
  bool print = false, json = false, quiet = false;
  po::options_description d("run options");
  io.add(d);
  d.add_options()("program", po::value(&input)->required(), "program: assembly or bytes")(
      "program-format", po::value(&format)->default_value("auto"),
      "program format: asm, bytes or auto (by extension, then content)")(
      "format", po::value(&old_format), "the same as --program-format (older spelling)")(
      "output,o", po::value(&output), "trace file to write (the paper's .bin layout)")(
      "print", po::bool_switch(&print), "print the states (the default without -o)")(
      "init-state", po::value(&init_file), "initial state file (state-size bytes)")(
      "set", po::value(&sets)->composing(),
      "initial state edit NAME=VALUE, e.g. --set ACC=5 --set B=7")(
      "json", po::bool_switch(&json),
      "print the outcome and every state (hex) as JSON instead of the listing")(
      "quiet,q", po::bool_switch(&quiet), "no summary line on stderr");
  po::positional_options_description pos;
  pos.add("program", 1);
  po::variables_map vm;
  if (!parse("run", "[--isa P] PROGRAM [-o TRACE.bin] [--print] [--set NAME=V]...", d, pos, args,
             vm))
    return 0;
  if (vm.count("format")) format = old_format;
  const isa::Config c = io.config();
  const auto image = load_image(c, input, format);
  const std::vector<uint8_t> init = load_state(c, init_file, sets);
  std::vector<uint8_t> trace;
  const emu::Outcome o = emu::run_trace(c, image, init, trace);
  if (o.stop == emu::Stop::fault) throw Error(input + ": " + emu::describe_fault(c.profile, o));
  if (!output.empty()) write_file_atomic(output, trace);
  const auto states = std::span<const uint8_t>(trace).subspan(image.size());
  if (json) {
    std::cout << run_json(c, o, states, input, output).dump(2) << "\n";
  } else if (print || output.empty()) {
    std::cout << isa::format_states(c, states);
  }
  if (quiet) return 0;
  std::cerr << input << ": " << stop_text(o) << " after " << o.steps << " instructions, "
            << o.steps + 1 << " states";
  if (!output.empty()) std::cerr << ", wrote " << output << " (" << trace.size() << " bytes)";
  std::cerr << "\n";
  return 0;
}

}  // namespace cpusim::cli
