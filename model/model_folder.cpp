// model/model_folder.cpp: a model as a Hugging Face-style folder (`cpusim model export --format
// hf`): config.json, model.safetensors and a README.md model card from the run's record.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/io.h"
#include "model/checkpoint.h"
#include "model/interop.h"

namespace cpusim::model {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A figure of the run record, or "-".
std::string field(const json& meta, const char* k) {
  if (!meta.contains(k)) return "-";
  const json& v = meta.at(k);
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// The run record beside a model file (`cpusim train -o RUN`: RUN/model.pt and RUN/log.jsonl;
// the pipeline: DIR/model.pt, DIR/run/log.jsonl, DIR/report-*/report.json): the last held-out
// evaluation of its log and the headline of each report, as card rows.
std::string run_record(const std::string& path) {
  const fs::path dir = fs::path(path).parent_path();
  std::string rows;
  for (const fs::path& log : {dir / "log.jsonl", dir / "run" / "log.jsonl"}) {
    std::ifstream in(log);
    std::string line, last;
    while (std::getline(in, line))
      if (line.find("\"eval_loss\"") != std::string::npos) last = line;
    if (last.empty()) continue;
    const json e = json::parse(last, nullptr, false);
    if (e.is_discarded()) continue;
    rows += "| held-out loss at step " + field(e, "step") + " | " + field(e, "eval_loss") + " |\n";
    rows += "| held-out teacher-forced byte accuracy | " + field(e, "eval_byte_accuracy") + " |\n";
    break;
  }
  for (const char* mode : {"teacher", "rollout"}) {
    std::ifstream in(dir / (std::string("report-") + mode) / "report.json");
    if (!in) continue;
    const json r = json::parse(in, nullptr, false);
    if (r.is_discarded()) continue;
    rows += "| " + std::string(mode) + " (cpusim eval, " + field(r, "traces") +
            " traces): byte accuracy / exact states | " + field(r, "byte_accuracy") + " / " +
            field(r, "state_accuracy") + " |\n";
  }
  return rows;
}

// The model card of a Hugging Face-style folder: what the checkpoint and its run record say.
std::string model_card(const Checkpoint& ck, const std::string& path, int64_t params) {
  const json& m = ck.meta;
  const std::string profile =
      m.contains("isa") ? m.at("isa").value("profile", std::string("?")) : std::string("?");
  std::string card =
      "# cpusim bGPT model\n\nA byte-level bGPT (arXiv 2402.19155) trained by "
      "cpusim to predict the next machine state of the `" +
      profile + "` machine byte by byte. Exported from `" + path +
      "` by `cpusim model export --format hf`.\n\n| | |\n|---|---|\n";
  card += "| parameters | " + std::to_string(params) + " |\n";
  card += "| machine | `" + (m.contains("isa") ? m.at("isa").dump() : std::string("-")) + "` |\n";
  for (const char* k : {"preset", "dataset", "data", "step", "total_steps", "batch", "seed",
                        "loss_on", "eval_loss", "best_eval_loss"})
    if (m.contains(k)) card += "| " + std::string(k) + " | " + field(m, k) + " |\n";
  card += run_record(path);
  card +=
      "\nFiles: `config.json` (the model's configuration under `cpusim_model`, the machine "
      "and the run under `cpusim_meta`), `model.safetensors` (the weights, cpusim's tensor "
      "names). Load with `cpusim model import DIR -o model.pt`, or in PyTorch with "
      "`cpusim_torch.BGPT.from_pretrained(DIR)` (python/cpusim_torch.py). Accuracy: the rows "
      "above come from the run's log and reports where they lie beside the model file; "
      "score it again with `cpusim eval`.\n";
  return card;
}

}  // namespace

void export_folder(const Checkpoint& ck, const std::vector<uint8_t>& weights, int64_t params,
                   const std::string& path, const std::string& out) {
  std::error_code ec;
  if (fs::exists(out, ec)) throw Error(out + ": already exists; remove it or choose another -o");
  const fs::path tmp = temp_sibling(out);
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) throw Error(out + ": cannot create: " + ec.message());
  try {
    const json config = {{"architectures", {"BGPT"}},
                         {"model_type", "cpusim-bgpt"},
                         {"cpusim_model", to_json(ck.model_config)},
                         {"cpusim_meta", ck.meta},
                         {"parameters", params}};
    write_file_atomic(tmp / "config.json", config.dump(2) + "\n");
    write_file_atomic(tmp / "model.safetensors", weights);
    write_file_atomic(tmp / "README.md", model_card(ck, path, params));
    durable_rename(tmp, out);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace cpusim::model
