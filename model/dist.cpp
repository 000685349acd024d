// model/dist.cpp: c10d process groups for data-parallel runs (model/dist.h).
#include "model/dist.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>

// libtorch's c10d headers declare the backends only under these macros, which its own build
// defines; they are defined here where the libraries' headers are present (Debian's libgloo-dev).
#if __has_include(<gloo/config.h>)
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#define CPUSIM_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

#include <cstdlib>
#include <cstring>
#include <map>

#include "common/io.h"
#include "model/api.h"

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
    throw Error(std::string(name) + "=" + v + ": expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
  return int(x);
}

}  // namespace

DistEnv dist_env() {
  DistEnv e;
  e.world = env_int("WORLD_SIZE", 1, 1, 1 << 16);
  if (e.world == 1) return e;
  if (!std::getenv("RANK")) throw Error("WORLD_SIZE=" + std::to_string(e.world) + " without RANK (launch with torchrun, srun or mpirun; README: Beyond one machine)");
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
  const std::string where = "rank " + std::to_string(env_.rank) + " of " + std::to_string(env_.world);
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
      impl_->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, env_.rank, env_.world, opts);
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
      opts->devices.push_back(ifname && *ifname ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                                                : c10d::ProcessGroupGloo::createDefaultDevice());
      impl_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env_.rank, env_.world, opts);
      impl_->backend = "gloo";
#else
      throw Error("WORLD_SIZE > 1 on the CPU needs Gloo's headers (Debian: libgloo-dev) when cpusim is built");
#endif
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(where + ": rendezvous at " + env_.master_addr + ":" + std::to_string(env_.master_port) + " failed within " +
                std::to_string(timeout_.count()) + " s: " + std::string(e.what()).substr(0, 300));
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
  try {
    for (auto& b : buckets) {
      std::vector<torch::Tensor> flat = {torch::cat([&] {
        std::vector<torch::Tensor> v;
        for (auto& t : b) v.push_back(t.reshape({-1}).to(impl_->device));  // host scalars go to NCCL's GPU
        return v;
      }())};
      impl_->pg->allreduce(flat)->wait(timeout_);
      int64_t off = 0;
      for (auto& t : b) {
        t.copy_(flat[0].narrow(0, off, t.numel()).view_as(t));  // (back to the host where t is)
        off += t.numel();
      }
    }
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(env_.rank) + ": all-reduce failed (another rank died or stopped answering; " +
                "c10d timeout " + std::to_string(timeout_.count()) + " s): " + std::string(e.what()).substr(0, 300));
  }
}

void Dist::barrier() {
  if (!active()) return;
  try {
    impl_->pg->barrier()->wait(timeout_);
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(env_.rank) + ": barrier failed (another rank died or stopped answering; " +
                "c10d timeout " + std::to_string(timeout_.count()) + " s): " + std::string(e.what()).substr(0, 300));
  }
}

namespace {

// Sharded evaluation's gather on the process group: each rank's bytes go into its own segment
// of one buffer (zeros elsewhere) and the buffer is summed.
class DistCollective : public harness::Collective {
 public:
  explicit DistCollective(int timeout_s) : dist_(dist_env(), torch::kCPU, std::chrono::seconds(timeout_s)) {}
  int rank() const override { return dist_.rank(); }
  int world() const override { return dist_.world(); }
  std::vector<std::vector<uint8_t>> gather(const std::vector<uint8_t>& mine) override {
    auto sizes = torch::zeros({dist_.world()}, torch::kLong);
    sizes[dist_.rank()] = int64_t(mine.size());
    dist_.sum({sizes});
    std::vector<int64_t> off(size_t(dist_.world()) + 1, 0);
    for (int r = 0; r < dist_.world(); ++r) off[size_t(r) + 1] = off[size_t(r)] + sizes[r].item<int64_t>();
    auto buf = torch::zeros({off.back()}, torch::kUInt8);
    if (!mine.empty()) std::memcpy(buf.data_ptr<uint8_t>() + off[size_t(dist_.rank())], mine.data(), mine.size());
    dist_.sum({buf});
    if (dist_.rank() != 0) return {};
    std::vector<std::vector<uint8_t>> all;
    const uint8_t* p = buf.data_ptr<uint8_t>();
    for (int r = 0; r < dist_.world(); ++r) all.emplace_back(p + off[size_t(r)], p + off[size_t(r) + 1]);
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

}  // namespace cpusim::model
