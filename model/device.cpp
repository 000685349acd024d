// model/device.cpp: the device, the precision and the CPU threads a run uses.
#include "model/device.h"

#include <dlfcn.h>
#include <torch/version.h>

#include <thread>

#include "common/io.h"
#include "common/version.h"
#include "model/compat.h"

#if TORCH_VERSION_MAJOR >= 2 && \
    __has_include(<cuda_runtime_api.h>) && __has_include(<ATen/cuda/CUDAContext.h>)
#define CPUSIM_CUDA_NAMES 1
#include <ATen/cuda/CUDAContext.h>
#endif

namespace cpusim::model {

torch::Device pick_device(const std::string& name, int cuda_index) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda") {
    if (!torch::cuda::is_available())
      throw Error("--device cuda: no CUDA device is available to this libtorch");
    if (cuda_index >= int(torch::cuda::device_count()))
      throw Error("LOCAL_RANK " + std::to_string(cuda_index) + ": only " +
                  std::to_string(torch::cuda::device_count()) + " CUDA devices");
    compat::prefer_flash_attention();
    return torch::Device(torch::kCUDA, c10::DeviceIndex(cuda_index));
  }
  throw Error("--device " + name + ": expected cpu or cuda");
}

std::string resolve_device_name(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? "cuda" : "cpu";
  if (name == "cpu" || name == "cuda") return name;
  throw Error("--device " + name + ": expected auto, cpu or cuda");
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
  if (threads > 0)
    torch::set_num_threads(threads);
  else if (bf16 && !dev.is_cuda())
    torch::set_num_threads(int(std::max(1u, std::thread::hardware_concurrency())));
  else
    torch::set_num_threads(library_default);
}

int set_blas_threads(int threads) {
  // Looked up at run time: libtorch links whichever libblas Debian's alternatives select.
  using Get = int (*)();
  using Set = void (*)(int);
  const auto get = reinterpret_cast<Get>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  const auto set = reinterpret_cast<Set>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (!get || !set) return 0;
  const int before = get();
  if (threads > 0) set(threads);
  return before;
}

nlohmann::json machine_json(const torch::Device& dev, bool bf16) {
  std::string gpu;
#ifdef CPUSIM_CUDA_NAMES
  if (dev.is_cuda()) gpu = at::cuda::getDeviceProperties(dev.has_index() ? dev.index() : 0)->name;
#endif
  return {{"device", dev.is_cuda() ? "cuda" : "cpu"},
          {"device_name", dev.is_cuda() ? (gpu.empty() ? "cuda" : gpu) : cpu_name()},
          {"cpu", cpu_name()},
          {"cpu_features", cpu_features()},
          {"cpu_threads", torch::get_num_threads()},
          {"blas_threads", set_blas_threads(0)},
          {"precision", bf16 ? "bf16" : "fp32"}};
}

}  // namespace cpusim::model
