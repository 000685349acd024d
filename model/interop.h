// model/interop.h: the safetensors format as model/interop.cpp writes and reads it, for tests
// that hand tensors to Python. Includes torch; internal to model/.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cpusim::model {

using Tensors = std::map<std::string, torch::Tensor>;

// A safetensors file of fp32 tensors (contiguous, on the CPU) with string-valued metadata.
std::vector<uint8_t> safetensors_bytes(const Tensors& t, const nlohmann::json& metadata);
// Its tensors (F32, BF16 or F16, as fp32) and metadata; throws cpusim::Error "<path>: ..." for a
// header or offsets that do not fit the file.
std::pair<Tensors, nlohmann::json> read_safetensors(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace cpusim::model
