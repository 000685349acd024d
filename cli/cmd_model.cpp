// cli/cmd_model.cpp: `cpusim model info|export|import` (model/api.h, model/interop.cpp).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "model/api.h"

namespace cpusim::cli {

namespace {

int model_info(const Args& args) {
  std::string in;
  bool json = false;
  po::options_description d("model info options");
  d.add_options()("model", po::value(&in)->required(),
                  "a model file (RUN_DIR/model.pt, checkpoint.pt, best.pt)")(
      "json", po::bool_switch(&json), "print JSON");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse("model info", "MODEL.pt [--json]", d, pos, args, vm)) return 0;
  const nlohmann::json j = model::model_info(in);
  if (json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << in << ": cpusim model, " << j["parameters"].get<int64_t>() << " parameters, isa "
            << j["isa"]["profile"].get<std::string>() << " (memory " << j["isa"]["memory_size"]
            << ")\n"
            << "model " << j["model"].dump() << "\n";
  if (j.contains("step"))
    std::cout << "trained " << j["step"] << " steps"
              << (j.contains("total_steps") ? " of " + j["total_steps"].dump() : "")
              << (j.contains("data") ? " on " + j["data"].get<std::string>() : "") << "\n";
  if (j.contains("imported_from"))
    std::cout << "imported from " << j["imported_from"].dump() << "\n";
  std::cout << (j["has_optimizer"].get<bool>()
                    ? "holds the optimizer's state (a training checkpoint)\n"
                    : "weights only\n");
  return 0;
}

int model_export(const Args& args) {
  std::string in, out, format;
  po::options_description d("model export options");
  d.add_options()("model", po::value(&in)->required(), "a model file")(
      "format", po::value(&format)->required(),
      "safetensors, torch (a state_dict for Python's torch.load), paper (the paper's checkpoint "
      "layout) or hf (a folder: config.json, model.safetensors and a README.md model card)")(
      "output,o", po::value(&out)->required(), "file (hf: folder) to write");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse("model export", "MODEL.pt --format safetensors|torch|paper|hf -o FILE", d, pos, args,
             vm))
    return 0;
  model::export_model(in, format, out);
  std::cout << "exported " << in << " as " << format << " to " << out << "\n";
  return 0;
}

int model_import(const Args& args) {
  IsaOptions io;
  std::string in, out, begin_patch;
  int heads = 0;
  po::options_description d("model import options");
  io.add(d);
  d.add_options()("input", po::value(&in)->required(),
                  "a cpusim safetensors export or hf folder, or the paper's checkpoint (.pth)")(
      "output,o", po::value(&out)->required(), "cpusim model file to write")(
      "heads", po::value(&heads)->default_value(0),
      "the paper's checkpoints: attention heads (0: width / 64, as the paper's code)")(
      "begin-patch", po::value(&begin_patch)->default_value("bin"),
      "the paper's checkpoints: bin (\"bin\" then 256s: the paper's sequences) or pad (16 x 256: a "
      "cpusim model exported in the paper's layout)");
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  if (!parse("model import", "FILE [--isa bgpt --memory-size M] -o MODEL.pt", d, pos, args, vm))
    return 0;
  model::import_model(in, io.config(), heads, out, begin_patch);
  std::cout << "imported " << in << " to " << out << "\n";
  return 0;
}

}  // namespace

int cmd_model(const Args& args) {
  return dispatch(
      "model", args, {{"info", model_info}, {"export", model_export}, {"import", model_import}},
      "usage: cpusim model info|export|import ...\n"
      "  info MODEL.pt [--json]                              configuration, "
      "parameters, data, steps\n"
      "  export MODEL.pt --format safetensors|torch|paper|hf -o FILE|DIR\n"
      "  import FILE|DIR [--isa bgpt --memory-size M] -o MODEL.pt  a safetensors export, "
      "an hf folder or the paper's .pth\n");
}

}  // namespace cpusim::cli
