// cli/cmd_predict.cpp: `cpusim predict`: one program simulated by the model beside the emulator,
// state by state, with the fields it got wrong.
#include <unistd.h>

#include <iomanip>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "emulator/emulator.h"
#include "isa/asm.h"
#include "isa/compare.h"
#include "model/api.h"

namespace cpusim::cli {

int cmd_predict(const Args& args) {
  std::string ckpt, program, device = "cpu", init_file;
  std::vector<std::string> sets;
  po::options_description d("predict options");
  d.add_options()("model", po::value(&ckpt)->required(), "checkpoint")
      ("program", po::value(&program)->required(), "program: assembly or bytes")
      ("init-state", po::value(&init_file), "initial state file (state-size bytes)")
      ("set", po::value(&sets)->composing(), "initial state edit NAME=VALUE")
      ("device", po::value(&device)->default_value("cpu"), "cpu or cuda");
  po::positional_options_description pos;
  pos.add("program", 1);
  po::variables_map vm;
  if (!parse("predict", "--model CKPT PROGRAM [--set NAME=V]...", d, pos, args, vm)) return 0;
  model::Simulator sim(ckpt, device);
  const isa::Config c = sim.isa();
  const auto image = load_image(c, program);
  const std::vector<uint8_t> init = load_state(c, init_file, sets);
  std::vector<uint8_t> states;
  const emu::Outcome o = emu::run(c, image, init, states);
  if (o.stop == emu::Stop::fault) throw Error(program + ": " + emu::describe_fault(c.profile, o));
  std::vector<uint8_t> prefix(image);
  prefix.insert(prefix.end(), init.begin(), init.end());
  const size_t sb = isa::state_bytes(c);
  const int steps = int(states.size() / sb) - 1;
  const auto pred = sim.rollout({prefix}, steps)[0];
  const bool color = isatty(1);
  std::cout << "step      " << isa::state_heading(c) << "\n0         " << isa::format_state(c, states.data()) << "\n";
  int exact = 0;
  for (int k = 1; k <= steps; ++k) {
    const uint8_t* truth = states.data() + k * sb;
    std::cout << std::left << std::setw(4) << k << "true  " << isa::format_state(c, truth) << "\n";
    const size_t off = size_t(k - 1) * sb;
    if (pred.size() < off + sb) {
      std::cout << "    model (stopped)\n";
      continue;
    }
    const std::string diffs = isa::render_differences(c, truth, pred.data() + off, sb, "predicted", "      ");
    exact += diffs.empty();
    std::cout << "    model " << isa::format_state(c, pred.data() + off) << (diffs.empty() ? "\n" : "  <<\n")
              << (color && !diffs.empty() ? "\033[31m" + diffs + "\033[0m" : diffs);
  }
  std::cout << exact << "/" << steps << " states predicted exactly\n";
  return 0;
}

}  // namespace cpusim::cli
