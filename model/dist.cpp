// model/dist.cpp: c10d process groups for data-parallel runs (model/dist.h).
#include "model/dist.h"

#include <torch/version.h>

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

// libtorch's c10d headers declare the backends only under these macros, which its own build
// defines; they are defined here where the libraries' headers are present (Debian's libgloo-dev).
#if __has_include(<gloo/config.h>)
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#define CPUSIM_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <thread>

#include "common/io.h"
#include "model/api.h"
#include "model/device.h"

#if TORCH_VERSION_MAJOR >= 2 && __has_include(<cuda_runtime_api.h>) && __has_include(<nccl.h>)
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL 1
#endif
#define CPUSIM_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace cpusim::model {

namespace {

int env_int(const char* name, int fallback, int lo, int hi) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end || x < lo || x > hi)
    throw Error(std::string(name) + "=" + v + ": expected an integer in " + std::to_string(lo) +
                ".." + std::to_string(hi));
  return int(x);
}

}  // namespace

DistEnv dist_env() {
  DistEnv e;
  e.world = env_int("WORLD_SIZE", 1, 1, 1 << 16);
  if (e.world == 1) return e;
  if (!std::getenv("RANK"))
    throw Error("WORLD_SIZE=" + std::to_string(e.world) +
                " without RANK (launch with torchrun, srun or mpirun; README: Beyond one machine)");
  e.rank = env_int("RANK", 0, 0, e.world - 1);
  e.local_rank = env_int("LOCAL_RANK", 0, 0, 1 << 16);
  if (const char* a = std::getenv("MASTER_ADDR"); a && *a) e.master_addr = a;
  e.master_port = env_int("MASTER_PORT", 29500, 1, 65535);
  return e;
}

int dist_rank() { return dist_env().rank; }

struct Dist::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  std::string backend;
  torch::Device device{torch::kCPU};  // where the backend's tensors live (NCCL: this rank's GPU)
};

Dist::Dist(const DistEnv& env, const torch::Device& dev, std::chrono::seconds timeout)
    : env_(env), timeout_(timeout), impl_(std::make_unique<Impl>()) {
  if (!active()) return;
  const std::string where =
      "rank " + std::to_string(env_.rank) + " of " + std::to_string(env_.world);
  try {
    c10d::TCPStoreOptions so;
    so.port = uint16_t(env_.master_port);
    so.isServer = env_.rank == 0;
    so.numWorkers = size_t(env_.world);
    so.waitWorkers = true;
    so.timeout = timeout_;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env_.master_addr, so);
    if (dev.is_cuda()) {
#ifdef CPUSIM_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout_;
      impl_->pg =
          c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, env_.rank, env_.world, opts);
      impl_->backend = "nccl";
      impl_->device = dev;
#else
      throw Error("--device cuda with WORLD_SIZE > 1 needs a libtorch with NCCL");
#endif
    } else {
#ifdef CPUSIM_GLOO
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout_);
      // As PyTorch does: GLOO_SOCKET_IFNAME names the interface, else the host name's address.
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      opts->devices.push_back(ifname && *ifname
                                  ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                                  : c10d::ProcessGroupGloo::createDefaultDevice());
      impl_->pg =
          c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env_.rank, env_.world, opts);
      impl_->backend = "gloo";
#else
      throw Error(
          "WORLD_SIZE > 1 on the CPU needs Gloo's headers (Debian: libgloo-dev) when cpusim is "
          "built");
#endif
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw DistError(where + ": rendezvous at " + env_.master_addr + ":" +
                    std::to_string(env_.master_port) + " failed within " +
                    std::to_string(timeout_.count()) +
                    " s: " + std::string(e.what()).substr(0, 300));
  }
}

Dist::~Dist() = default;

std::string Dist::backend() const { return active() ? impl_->backend : "none"; }

void Dist::sum(std::vector<torch::Tensor> ts, int64_t bucket_bytes) {
  if (!active() || ts.empty()) return;
  // Buckets of one dtype each, in the order given.
  std::vector<std::vector<torch::Tensor>> buckets;
  std::map<c10::ScalarType, size_t> open;  // dtype -> index of its bucket being filled
  std::map<c10::ScalarType, int64_t> filled;
  for (auto& t : ts) {
    const auto type = t.scalar_type();
    const int64_t n = t.numel() * int64_t(t.element_size());
    if (!open.count(type) || filled[type] + n > bucket_bytes) {
      open[type] = buckets.size();
      buckets.emplace_back();
      filled[type] = 0;
    }
    buckets[open[type]].push_back(t);
    filled[type] += n;
  }
  for (auto& b : buckets) {
    std::vector<torch::Tensor> parts;
    for (auto& t : b)
      parts.push_back(t.reshape({-1}).to(impl_->device));  // host scalars go to NCCL's GPU
    torch::Tensor flat = torch::cat(parts);
    start_sum(flat)();
    int64_t off = 0;
    for (auto& t : b) {
      t.copy_(flat.narrow(0, off, t.numel()).view_as(t));  // (back to the host where t is)
      off += t.numel();
    }
  }
}

std::function<void()> Dist::start_sum(torch::Tensor flat) {
  if (!active()) return [] {};
  auto fail = [rank = env_.rank, t = timeout_.count()](const std::exception& e) {
    return DistError("rank " + std::to_string(rank) +
                     ": all-reduce failed (another rank died or stopped answering; " +
                     "c10d timeout " + std::to_string(t) +
                     " s): " + std::string(e.what()).substr(0, 300));
  };
  try {
    std::vector<torch::Tensor> v = {flat};
    auto work = impl_->pg->allreduce(v);
    return [work, timeout = timeout_, fail] {
      try {
        work->wait(timeout);
      } catch (const std::exception& e) {
        throw fail(e);
      }
    };
  } catch (const std::exception& e) {
    throw fail(e);
  }
}

torch::Device Dist::backend_device() const { return impl_->device; }

void Dist::barrier() {
  if (!active()) return;
  try {
    impl_->pg->barrier()->wait(timeout_);
  } catch (const std::exception& e) {
    throw DistError("rank " + std::to_string(env_.rank) +
                    ": barrier failed (another rank died or stopped answering; " + "c10d timeout " +
                    std::to_string(timeout_.count()) +
                    " s): " + std::string(e.what()).substr(0, 300));
  }
}

namespace {

// Sharded evaluation's gather on the process group: each rank's bytes go into its own segment
// of one buffer (zeros elsewhere) and the buffer is summed.
class DistCollective : public harness::Collective {
 public:
  explicit DistCollective(int timeout_s)
      : dist_(dist_env(), torch::kCPU, std::chrono::seconds(timeout_s)) {}
  int rank() const override { return dist_.rank(); }
  int world() const override { return dist_.world(); }
  std::vector<std::vector<uint8_t>> gather(const std::vector<uint8_t>& mine) override {
    auto sizes = torch::zeros({dist_.world()}, torch::kLong);
    sizes[dist_.rank()] = int64_t(mine.size());
    dist_.sum({sizes});
    std::vector<int64_t> off(size_t(dist_.world()) + 1, 0);
    for (int r = 0; r < dist_.world(); ++r)
      off[size_t(r) + 1] = off[size_t(r)] + sizes[r].item<int64_t>();
    auto buf = torch::zeros({off.back()}, torch::kUInt8);
    if (!mine.empty())
      std::memcpy(buf.data_ptr<uint8_t>() + off[size_t(dist_.rank())], mine.data(), mine.size());
    dist_.sum({buf});
    if (dist_.rank() != 0) return {};
    std::vector<std::vector<uint8_t>> all;
    const uint8_t* p = buf.data_ptr<uint8_t>();
    for (int r = 0; r < dist_.world(); ++r)
      all.emplace_back(p + off[size_t(r)], p + off[size_t(r) + 1]);
    return all;
  }

 private:
  Dist dist_;
};

}  // namespace

std::unique_ptr<harness::Collective> launch_collective(int timeout_s) {
  if (dist_env().world <= 1) return nullptr;
  return std::make_unique<DistCollective>(timeout_s);
}

struct GradReducer::Impl {
  // Runs after a parameter's AccumulateGrad node: the gradient is final for this backward pass.
  struct Hook : torch::autograd::FunctionPostHook {
    Hook(Impl* r, size_t i) : r(r), i(i) {}
    torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                              const torch::autograd::variable_list&) override {
      r->ready(i);
      return outputs;
    }
    Impl* r;
    size_t i;
  };
  struct Bucket {
    std::vector<size_t> members;  // parameter indices
    size_t pending = 0;
    torch::Tensor flat;
    std::function<void()> wait;
  };

  void ready(size_t i) {
    if (!armed || seen[i]) return;
    seen[i] = true;
    if (--buckets[bucket_of[i]].pending == 0) start_ready();
  }
  void start_ready() {
    while (next < buckets.size() && buckets[next].pending == 0) start(next++);
  }
  void start(size_t b) {
    Bucket& k = buckets[b];
    std::vector<torch::Tensor> parts;
    for (size_t i : k.members) {
      const torch::Tensor& g = params[i].grad();
      parts.push_back(g.defined() ? g.reshape({-1})
                                  : torch::zeros({params[i].numel()}, params[i].options()));
    }
    k.flat = torch::cat(parts).to(dist.backend_device());
    try {
      k.wait = dist.start_sum(k.flat);
    } catch (...) {
      if (!error)
        error = std::current_exception();  // rethrown by finish(), outside the autograd engine
      k.wait = [] {};
    }
  }

  Dist& dist;
  std::vector<torch::Tensor> params;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;
  std::vector<uintptr_t> keys;
  std::vector<size_t> bucket_of;
  std::vector<Bucket> buckets;
  std::vector<bool> seen;
  size_t next = 0, started_in_backward = 0;
  bool armed = false;
  std::exception_ptr error;
  explicit Impl(Dist& d) : dist(d) {}
};

GradReducer::GradReducer(Dist& dist, std::vector<torch::Tensor> params, int64_t bucket_bytes)
    : impl_(std::make_unique<Impl>(dist)) {
  Impl& r = *impl_;
  r.params = std::move(params);
  r.bucket_of.assign(r.params.size(), 0);
  int64_t cap = 1 << 20, filled = 0;
  for (size_t j = r.params.size(); j-- > 0;) {
    const torch::Tensor& p = r.params[j];
    const int64_t n = p.numel() * int64_t(p.element_size());
    const bool fits = !r.buckets.empty() && filled + n <= cap &&
                      p.scalar_type() == r.params[r.buckets.back().members.front()].scalar_type();
    if (!fits) {
      if (!r.buckets.empty()) cap = bucket_bytes;
      r.buckets.emplace_back();
      filled = 0;
    }
    r.buckets.back().members.push_back(j);
    filled += n;
    r.bucket_of[j] = r.buckets.size() - 1;
  }
  if (!dist.active()) return;
  for (size_t i = 0; i < r.params.size(); ++i) {
    auto acc = torch::autograd::impl::grad_accumulator(r.params[i]);
    if (!acc) continue;  // a parameter without gradients: finish() sends zeros for it
    r.keys.push_back(acc->add_post_hook(std::make_unique<Impl::Hook>(&r, i)));
    r.accumulators.push_back(std::move(acc));
  }
}

GradReducer::~GradReducer() {
  for (size_t a = 0; a < impl_->accumulators.size(); ++a)
    impl_->accumulators[a]->del_post_hook(impl_->keys[a]);
}

size_t GradReducer::buckets() const { return impl_->buckets.size(); }
size_t GradReducer::started_in_backward() const { return impl_->started_in_backward; }

void GradReducer::arm() {
  Impl& r = *impl_;
  r.seen.assign(r.params.size(), false);
  for (auto& k : r.buckets) {
    k.pending = k.members.size();
    k.flat = torch::Tensor();
    k.wait = nullptr;
  }
  r.next = 0;
  r.error = nullptr;
  r.armed = true;
}

void GradReducer::finish() {
  Impl& r = *impl_;
  if (!r.dist.active()) return;
  if (!r.armed) arm();
  r.armed = false;
  r.started_in_backward = r.next;
  while (r.next < r.buckets.size()) r.start(r.next++);
  if (r.error) std::rethrow_exception(r.error);
  torch::NoGradGuard ng;
  for (auto& k : r.buckets) {
    k.wait();
    int64_t off = 0;
    for (size_t i : k.members) {
      torch::Tensor& p = r.params[i];
      if (p.grad().defined()) p.mutable_grad().copy_(k.flat.narrow(0, off, p.numel()).view_as(p));
      off += p.numel();
    }
    k.flat = torch::Tensor();
  }
}

DataParallel::DataParallel(Dist& dist, std::vector<torch::Tensor> params, bool overlap)
    : dist_(dist), reducer_(dist, std::move(params)), overlap_(overlap) {}

std::vector<double> DataParallel::weights(const std::vector<int64_t>& scored) {
  std::vector<double> w(scored.size(), 1.0);
  if (!active()) return w;
  auto counts = torch::empty({int64_t(scored.size())}, torch::kDouble);
  for (size_t a = 0; a < scored.size(); ++a) counts[int64_t(a)] = double(scored[a]);
  auto global = counts.clone();
  dist_.sum({global});
  for (size_t a = 0; a < scored.size(); ++a)
    w[a] = counts[int64_t(a)].item<double>() / global[int64_t(a)].item<double>();
  return w;
}

void DataParallel::before_backward(size_t a, size_t n) {
  if (active() && a + 1 == n && overlap_) reducer_.arm();
}

void DataParallel::sum(torch::Tensor& loss_sum, int64_t& bytes) {
  if (!active()) return;
  reducer_.finish();
  summed_ += reducer_.buckets();
  started_in_backward_ += reducer_.started_in_backward();
  const auto dbl = loss_sum.options().dtype(torch::kDouble);
  auto totals =
      torch::stack({loss_sum.detach().to(torch::kDouble), torch::full({}, double(bytes), dbl)});
  dist_.sum({totals});
  loss_sum = totals[0];
  bytes = int64_t(totals[1].item<double>());
}

std::string DataParallel::overlap_summary() const {
  if (!active() || !summed_) return "";
  return std::to_string(reducer_.buckets()) + " gradient buckets a step; " +
         std::to_string(started_in_backward_) + " of " + std::to_string(summed_) +
         " all-reduces started during the backward pass";
}

}  // namespace cpusim::model
