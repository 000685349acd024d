// cli/cmd_predict.cpp: `cpusim predict`: one program simulated by the model beside the emulator
// (harness/predict.h).
#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "harness/report.h"
#include "model/api.h"

namespace cpusim::cli {

int cmd_predict(const Args& args) {
  std::string ckpt, program, device = "cpu", init_file, decode = "draft";
  std::vector<std::string> sets;
  bool json = false, quiet = false;
  po::options_description d("predict options");
  d.add_options()("model", po::value(&ckpt)->required(), "checkpoint")(
      "program", po::value(&program)->required(), "program: assembly or bytes")(
      "init-state", po::value(&init_file), "initial state file (state-size bytes)")(
      "set", po::value(&sets)->composing(), "initial state edit NAME=VALUE")(
      "device", po::value(&device)->default_value("cpu"), "cpu or cuda")(
      "decode", po::value(&decode)->default_value(decode),
      "draft or bytewise (as for eval: the same prediction)")(
      "json", po::bool_switch(&json),
      "print the comparison as JSON (each step's states as hex, the wrong fields)")(
      "quiet,q", po::bool_switch(&quiet), "no messages on stderr (there are none besides errors)");
  po::positional_options_description pos;
  pos.add("program", 1);
  po::variables_map vm;
  if (!parse("predict", "--model CKPT PROGRAM [--set NAME=V]...", d, pos, args, vm)) return 0;
  const model::Decode how = model::parse_decode(decode);
  model::Simulator sim(ckpt, device);
  sim.set_decode(how);
  const isa::Config c = sim.isa();
  const auto r = harness::predict_program(sim, load_image(c, program),
                                          load_state(c, init_file, sets), program);
  if (json)
    std::cout << harness::prediction_json(c, r).dump(2) << "\n";
  else
    std::cout << harness::render_prediction(c, r, isatty(1));
  return 0;
}

}  // namespace cpusim::cli
