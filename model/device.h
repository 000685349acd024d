// model/device.h: the device, the precision and the CPU threads of a run. Internal to model/.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

namespace cpusim::model {

// "cpu" or "cuda" (the GPU `cuda_index`: a data-parallel rank's LOCAL_RANK).
torch::Device pick_device(const std::string& name, int cuda_index = 0);
// A device name as a run records it: "auto" becomes "cuda" where this libtorch sees a CUDA
// device and "cpu" elsewhere; "cpu" and "cuda" stay; another name throws cpusim::Error.
std::string resolve_device_name(const std::string& name);
// Whether --precision P means bf16 autocast on dev ("auto": on CUDA, and on CPUs with bf16
// instructions, where bf16 matrix products run ~2x faster than fp32).
bool use_bf16(const std::string& precision, const torch::Device& dev);
// libtorch's CPU threads: `threads` when > 0; else, for bf16 on the CPU, one per core.
void set_cpu_threads(int threads, bool bf16, const torch::Device& dev);
// OpenBLAS's threads (fp32 products on the CPU run there, outside libtorch's count); returns
// the number before, or 0 where the BLAS is not OpenBLAS (then nothing changes).
int set_blas_threads(int threads);
// What a run records about where it ran: the device's name (the GPU's, or the CPU's model name)
// and, on the CPU, its notable vector features.
nlohmann::json machine_json(const torch::Device& dev, bool bf16);

}  // namespace cpusim::model
