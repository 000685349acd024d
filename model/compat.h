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

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <type_traits>
#include <unordered_map>

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
inline torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k,
                                      const torch::Tensor& v) {
  const int64_t tq = q.size(2), tk = k.size(2);
#if TORCH_VERSION_MAJOR >= 2
  if (tq == tk) return at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);
  if (tq == 1) return at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/false);
#endif
  auto att =
      torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(q.size(-1)));  // (B, H, Tq, Tk)
  if (tq > 1) {
    auto mask = torch::ones({tq, tk}, torch::TensorOptions().dtype(torch::kBool).device(q.device()))
                    .tril(tk - tq);
    att = att.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
  }
  return torch::matmul(torch::softmax(att, -1), v);  // (B, H, Tq, K)
}

// Multiplies each tensor by the 0-dim tensor s in place, with no read of s on the host: one
// multi-tensor kernel in libtorch >= 2.1, one kernel per tensor before.
inline void foreach_mul_(std::vector<torch::Tensor>& ts, const torch::Tensor& s) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  at::_foreach_mul_(ts, s);
#else
  for (auto& t : ts) t.mul_(s);
#endif
}

// libtorch's per-operator profiler (its legacy one, in 1.13 and 2.x) while the object lives;
// finish() writes every operator call as a chrome://tracing event: host begin and duration, the
// input shapes (args.input_shapes), and with `device` (CUDA) the device time between the call's
// begin and end events (args.device_us). A libtorch without the profiler gets a stand-in that
// refuses.
#ifdef CPUSIM_HAS_OPERATOR_TRACE
class OperatorTrace {
 public:
  OperatorTrace(const std::string& path, bool device) : path_(path) {
    namespace impl = torch::profiler::impl;
    torch::autograd::profiler::enableProfilerLegacy(
        impl::ProfilerConfig(device ? impl::ProfilerState::CUDA : impl::ProfilerState::CPU,
                             /*report_input_shapes=*/true));
  }
  OperatorTrace(const OperatorTrace&) = delete;
  OperatorTrace& operator=(const OperatorTrace&) = delete;
  ~OperatorTrace() {
    if (!done_) torch::autograd::profiler::disableProfilerLegacy();
  }
  // Stops profiling and writes the file; on a GPU, after the device has finished the work.
  void finish() {
    done_ = true;
    const auto lists = torch::autograd::profiler::disableProfilerLegacy();
    using Event = torch::autograd::profiler::LegacyEvent;
    std::unordered_map<uint64_t, const Event*> open;
    double t0 = -1;
    nlohmann::json out = nlohmann::json::array();
    for (const auto& list : lists)
      for (const Event& e : list) {
        const std::string kind = e.kindStr();
        if (kind == "push") {
          open[uint64_t(e.handle())] = &e;
          if (t0 < 0 || e.cpuUs() < t0) t0 = e.cpuUs();
        } else if (kind == "pop") {
          auto it = open.find(uint64_t(e.handle()));
          if (it == open.end()) continue;
          const Event& b = *it->second;
          nlohmann::json ev = {
              {"name", b.name()},         {"ph", "X"}, {"cat", "cpu_op"},    {"ts", b.cpuUs()},
              {"dur", b.cpuElapsedUs(e)}, {"pid", 0},  {"tid", b.threadId()}};
          ev["args"] = {{"input_shapes", b.shapes()}};
          if (b.hasCuda() && e.hasCuda()) ev["args"]["device_us"] = b.cudaElapsedUs(e);
          out.push_back(std::move(ev));
          open.erase(it);
        }
      }
    for (auto& ev : out) ev["ts"] = ev["ts"].get<double>() - t0;
    std::ofstream f(path_);
    f << out.dump() << "\n";
    if (!f.flush()) throw std::runtime_error(path_ + ": cannot write the profile");
  }

 private:
  std::string path_;
  bool done_ = false;
};
#else
struct OperatorTrace {
  OperatorTrace(const std::string&, bool) {
    throw std::runtime_error("--profile: this libtorch has no operator profiler");
  }
  void finish() {}
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
