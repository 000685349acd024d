// model/interop.h: the safetensors format as model/interop.cpp writes and reads it, for tests
// that hand tensors to Python. Includes torch; internal to model/.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/config.h"

namespace cpusim::model {

using Tensors = std::map<std::string, torch::Tensor>;

// A safetensors file of fp32 tensors (contiguous, on the CPU) with string-valued metadata.
std::vector<uint8_t> safetensors_bytes(const Tensors& t, const nlohmann::json& metadata);
// Its tensors (F32, BF16 or F16, as fp32) and metadata; throws cpusim::Error "<path>: ..." for a
// header or offsets that do not fit the file.
std::pair<Tensors, nlohmann::json> read_safetensors(const std::string& path,
                                                    const std::vector<uint8_t>& bytes);

// Each ModelConfig field and whether `model export --format paper` refuses a model whose value
// differs from the paper's architecture (ModelConfig's defaults). Every field is listed: a test
// fails for a field missing here (docs/architecture.md: a new model option).
struct PaperField {
  const char* name;
  bool refused;
};
const std::vector<PaperField>& paper_export_fields();
// Throws cpusim::Error "<path>: --format paper needs the paper's architecture ..." for a refused
// field.
void check_paper_architecture(const ModelConfig& c, const std::string& path);

struct Checkpoint;
// DIR/config.json (the configuration and the checkpoint's record), DIR/model.safetensors
// (`weights`, a safetensors_bytes export) and DIR/README.md (a model card: the machine, data,
// steps, and the run's log and reports where they lie beside `path`), written under a temporary
// name and renamed into place whole; throws cpusim::Error when `out` exists.
void export_folder(const Checkpoint& ck, const std::vector<uint8_t>& weights, int64_t params,
                   const std::string& path, const std::string& out);

}  // namespace cpusim::model
