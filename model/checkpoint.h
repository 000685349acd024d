// model/checkpoint.h: the checkpoint format. One libtorch archive with the weights ("model"),
// the optimizer's state ("optimizer", training checkpoints only) and a JSON "meta" string:
// format name and version, the ModelConfig, the ISA (with the opcode table's hash), the data
// set's identity, the step. Written atomically. Includes torch; internal to model/.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

#include "isa/isa.h"
#include "model/bgpt.h"

namespace cpusim::model {

// The one ModelConfig <-> JSON pair (model/config.h's field list). from_json throws
// cpusim::Error naming a missing or mistyped field.
nlohmann::json to_json(const ModelConfig& c);
ModelConfig model_from_json(const nlohmann::json& j);
// Refuses (Error naming `path`) a record claiming a model larger than a file of `file_bytes`
// can hold, before anything is allocated for it.
void check_claimed_size(const ModelConfig& c, uint64_t file_bytes, const std::string& path);
// The machine a model is for, as checkpoints record it.
nlohmann::json isa_json(const isa::Config& c);

struct Checkpoint {
  nlohmann::json meta;
  ModelConfig model_config;
  isa::Config isa;
  BGPT model{nullptr};
  torch::serialize::InputArchive archive;
};
// Throws cpusim::Error "<path>: ..." for a missing, foreign or damaged file, or one made for
// another version of the ISA's opcode table.
Checkpoint load_checkpoint(const std::string& path, const torch::Device& device);
// `opt` may be null (no optimizer state). Through a temporary name, then a rename.
void save_checkpoint(const std::string& path, BGPT& m, torch::optim::Optimizer* opt,
                     const nlohmann::json& meta);

}  // namespace cpusim::model
