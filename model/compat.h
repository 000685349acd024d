// model/compat.h: the few libtorch calls that differ between Debian's libtorch 1.13 (CPU) and
// libtorch 2.x (CUDA builds). Everything version-specific lives here.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#if __has_include(<torch/csrc/autograd/profiler_legacy.h>)
#include <torch/csrc/autograd/profiler_legacy.h>
#define CPUSIM_HAS_OPERATOR_TRACE 1
#endif
#include <torch/version.h>

#include <sstream>
#include <string>
#include <type_traits>

namespace cpusim::model::compat {

// Turns bf16 autocast on or off for the ops of one device type (CPU or CUDA): matrix products
// run in bf16, weights and the loss stay fp32.
inline void autocast_bf16(const torch::Device& dev, bool on) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  const auto type = dev.is_cuda() ? at::kCUDA : at::kCPU;
  at::autocast::set_autocast_enabled(type, on);
  if (on) at::autocast::set_autocast_dtype(type, at::kBFloat16);
#else
  if (dev.is_cuda()) {
    at::autocast::set_enabled(on);
    if (on) at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  } else {
    at::autocast::set_cpu_enabled(on);
    if (on) at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  }
#endif
  if (!on) at::autocast::clear_cache();
}

// Recent libtorch (2.x on Hopper GPUs with a recent cuDNN) prefers cuDNN's attention, which
// builds an execution graph for every new problem shape (batch size, sequence lengths). Our
// batches change shape at nearly every step and a KV cache at every call, so each call paid a
// graph build: on an H200 with libtorch 2.11, `cpusim train` took 252-293 ms per step where the
// same step with shapes seen before took 52-72 ms. Flash attention needs no per-shape setup.
inline void prefer_flash_attention() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::globalContext().setSDPUseCuDNN(false);
#endif
}

// Causal attention of q (B, H, Tq, K) over k, v (B, H, Tk, K), the queries being the last Tq
// positions. libtorch 2.x has a fused kernel; 1.13 gets the explicit form.
inline torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  const int64_t tq = q.size(2), tk = k.size(2);
#if TORCH_VERSION_MAJOR >= 2
  if (tq == tk) return at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);
  if (tq == 1) return at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/false);
#endif
  auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(q.size(-1)));  // (B, H, Tq, Tk)
  if (tq > 1) {
    auto mask = torch::ones({tq, tk}, torch::TensorOptions().dtype(torch::kBool).device(q.device())).tril(tk - tq);
    att = att.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
  }
  return torch::matmul(torch::softmax(att, -1), v);  // (B, H, Tq, K)
}

// libtorch's per-operator profiler (host-side times of every op, as a chrome://tracing file),
// alive while the object is: the legacy profiler (1.13 and 2.x). A libtorch without it gets a
// stand-in that refuses.
#ifdef CPUSIM_HAS_OPERATOR_TRACE
using OperatorTrace = torch::autograd::profiler::RecordProfile;
#else
struct OperatorTrace {
  explicit OperatorTrace(const std::string&) {
    throw std::runtime_error("--profile: this libtorch has no operator profiler");
  }
};
#endif

// The key of a parameter in a libtorch optimizer's state map: the TensorImpl's address as text
// in 1.13, the address itself in later versions. Chosen by the map's key type.
template <class StateMap>
typename StateMap::key_type state_key(const StateMap&, const torch::Tensor& p) {
  using Key = typename StateMap::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;  // what libtorch 1.13's c10::guts::to_string writes
    os << static_cast<const void*>(p.unsafeGetTensorImpl());
    return os.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

}  // namespace cpusim::model::compat
