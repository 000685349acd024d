// cli/cmd_emulate.cpp: asm, disasm, run and trace: programs and single trace files.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "emulator/emulator.h"
#include "isa/asm.h"

namespace cpusim::cli {

namespace fs = std::filesystem;

namespace {

void print_states(const isa::Config& c, std::span<const uint8_t> states, std::ostream& os) {
  const size_t sb = isa::state_bytes(c);
  os << "step  " << isa::state_heading(c) << "\n";
  for (size_t k = 0; k * sb < states.size(); ++k) {
    char step[16];
    std::snprintf(step, sizeof step, "%-5zu ", k);
    if ((k + 1) * sb > states.size()) {
      os << step << "(truncated: " << states.size() - k * sb << " of " << sb << " bytes)\n";
      break;
    }
    os << step << isa::format_state(c, states.data() + k * sb) << "\n";
  }
}

std::string stop_text(const emu::Outcome& o) {
  switch (o.stop) {
    case emu::Stop::halted: return "halted";
    case emu::Stop::step_limit: return "stopped at the step limit";
    case emu::Stop::fault: return "fault";
  }
  return "?";
}

}  // namespace

int cmd_asm(const Args& args) {
  IsaOptions io;
  std::string input, output;
  po::options_description d("asm options");
  io.add(d);
  d.add_options()("input", po::value(&input)->required(), "assembly file")
      ("output,o", po::value(&output)->required(), "program bytes to write");
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  if (!parse("asm", "[--isa P] PROGRAM.asm -o PROGRAM.bin", d, pos, args, vm)) return 0;
  const isa::Config c = io.config();
  const auto bytes = isa::assemble(c.profile, read_text(input), input);
  write_file_atomic(output, bytes);
  std::cerr << "wrote " << output << ": " << bytes.size() / 4 << " instructions\n";
  return 0;
}

int cmd_disasm(const Args& args) {
  IsaOptions io;
  std::string input;
  bool trace = false, all = false;
  po::options_description d("disasm options");
  io.add(d);
  d.add_options()("input", po::value(&input)->required(), "program bytes, or a trace with --trace")
      ("trace", po::bool_switch(&trace), "input is a trace file: disassemble its program image")
      ("all", po::bool_switch(&all), "keep every trailing HLT word");
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  if (!parse("disasm", "[--isa P] [--trace] FILE", d, pos, args, vm)) return 0;
  const isa::Config c = io.config();
  auto bytes = read_file(input);
  if (trace) {
    if (bytes.size() < isa::image_bytes(c))
      throw Error(input + ": shorter than the " + std::to_string(isa::image_bytes(c)) + "-byte program image");
    bytes.resize(isa::image_bytes(c));
  } else if (bytes.size() % isa::kInsnBytes) {
    throw Error(input + ": " + std::to_string(bytes.size()) + " bytes is not a whole number of instructions");
  }
  std::cout << isa::disassemble_program(c.profile, bytes, all);
  return 0;
}

int cmd_run(const Args& args) {
  IsaOptions io;
  std::string input, output, format = "auto", init_file;
  std::vector<std::string> sets;
  bool print = false;
  po::options_description d("run options");
  io.add(d);
  d.add_options()("program", po::value(&input)->required(), "program: assembly or bytes")
      ("format", po::value(&format)->default_value("auto"), "program format: asm, bytes or auto")
      ("output,o", po::value(&output), "trace file to write (the paper's .bin layout)")
      ("print", po::bool_switch(&print), "print the states (the default without -o)")
      ("init-state", po::value(&init_file), "initial state file (state-size bytes)")
      ("set", po::value(&sets)->composing(), "initial state edit NAME=VALUE, e.g. --set ACC=5 --set B=7");
  po::positional_options_description pos;
  pos.add("program", 1);
  po::variables_map vm;
  if (!parse("run", "[--isa P] PROGRAM [-o TRACE.bin] [--print] [--set NAME=V]...", d, pos, args, vm))
    return 0;
  const isa::Config c = io.config();
  const auto image = load_image(c, input, format);
  std::vector<uint8_t> init = emu::zero_state(c);
  if (!init_file.empty()) {
    init = read_file(init_file);
    if (init.size() != isa::state_bytes(c))
      throw Error(init_file + ": initial state is " + std::to_string(init.size()) + " bytes, expected " +
                  std::to_string(isa::state_bytes(c)));
  }
  apply_sets(c, sets, init);
  std::vector<uint8_t> trace;
  const emu::Outcome o = emu::run_trace(c, image, init, trace);
  if (o.stop == emu::Stop::fault) throw Error(input + ": " + emu::describe_fault(c.profile, o));
  if (!output.empty()) write_file_atomic(output, trace);
  if (print || output.empty())
    print_states(c, std::span<const uint8_t>(trace).subspan(image.size()), std::cout);
  std::cerr << input << ": " << stop_text(o) << " after " << o.steps << " instructions, "
            << o.steps + 1 << " states";
  if (!output.empty()) std::cerr << ", wrote " << output << " (" << trace.size() << " bytes)";
  std::cerr << "\n";
  return 0;
}

int cmd_trace(const Args& args) {
  IsaOptions io;
  std::vector<std::string> inputs;
  bool no_program = false;
  po::options_description d("trace options");
  io.add(d);
  d.add_options()("trace", po::value(&inputs)->required(), "trace files (.bin)")
      ("no-program", po::bool_switch(&no_program), "do not list the program image");
  po::positional_options_description pos;
  pos.add("trace", -1);
  po::variables_map vm;
  if (!parse("trace", "[--isa P] TRACE.bin...", d, pos, args, vm)) return 0;
  const isa::Config c = io.config();
  const size_t ib = isa::image_bytes(c), sb = isa::state_bytes(c);
  for (const std::string& path : inputs) {
    const auto bytes = read_file(path);
    if (bytes.size() < ib + sb)
      throw Error(path + ": too short (" + std::to_string(bytes.size()) +
                  " bytes) to hold the program image and first state (" + std::to_string(ib + sb) + " bytes)");
    const size_t states = (bytes.size() - ib) / sb;
    std::cout << "# " << path << ": " << isa::profile_name(c.profile) << ", " << states << " states of "
              << sb << " bytes";
    if ((bytes.size() - ib) % sb) std::cout << " + " << (bytes.size() - ib) % sb << " trailing bytes";
    std::cout << "\n";
    if (!no_program) {
      std::cout << "# program\n";
      const std::string listing = isa::disassemble_program(c.profile, std::span(bytes).subspan(0, ib));
      size_t line = 0, pos0 = 0;
      while (pos0 < listing.size()) {
        const size_t nl = listing.find('\n', pos0);
        std::cout << "#  " << line++ << ": " << listing.substr(pos0, nl - pos0) << "\n";
        pos0 = nl + 1;
      }
    }
    print_states(c, std::span(bytes).subspan(ib), std::cout);
  }
  return 0;
}

}  // namespace cpusim::cli
