// model/device.cpp: the device, the precision and the CPU threads a run uses.
#include "model/device.h"

#include <thread>

#include "common/io.h"
#include "model/compat.h"

namespace cpusim::model {

torch::Device pick_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda") {
    if (!torch::cuda::is_available()) throw Error("--device cuda: no CUDA device is available to this libtorch");
    compat::prefer_flash_attention();
    return torch::kCUDA;
  }
  throw Error("--device " + name + ": expected cpu or cuda");
}

static bool cpu_has_bf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

bool use_bf16(const std::string& precision, const torch::Device& dev) {
  if (precision == "fp32") return false;
  if (precision == "bf16") return true;
  if (precision == "auto") return dev.is_cuda() || cpu_has_bf16();
  throw Error("--precision " + precision + ": expected auto, bf16 or fp32");
}

// bf16 products on the CPU run in oneDNN on libtorch's own threads, which Debian's build leaves
// at 1; fp32 products run in OpenBLAS's threads, and more libtorch threads beside them only
// compete for the cores (measured: 30 steps of `small` take 21 s with 1, 31 s with 2).
void set_cpu_threads(int threads, bool bf16, const torch::Device& dev) {
  static const int library_default = torch::get_num_threads();  // before this function changes it
  if (threads > 0) torch::set_num_threads(threads);
  else if (bf16 && !dev.is_cuda()) torch::set_num_threads(int(std::max(1u, std::thread::hardware_concurrency())));
  else torch::set_num_threads(library_default);
}

}  // namespace cpusim::model
