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

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
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
    throw DistError(where + ": rendezvous at " + env_.master_addr + ":" + std::to_string(env_.master_port) + " failed within " +
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
  for (auto& b : buckets) {
    std::vector<torch::Tensor> parts;
    for (auto& t : b) parts.push_back(t.reshape({-1}).to(impl_->device));  // host scalars go to NCCL's GPU
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
    return DistError("rank " + std::to_string(rank) + ": all-reduce failed (another rank died or stopped answering; " +
                     "c10d timeout " + std::to_string(t) + " s): " + std::string(e.what()).substr(0, 300));
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
    throw DistError("rank " + std::to_string(env_.rank) + ": barrier failed (another rank died or stopped answering; " +
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

namespace {

// A TCP port on 127.0.0.1 that is free now (the kernel's pick for port 0).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("--procs: cannot open a socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) throw Error(std::string("--procs: cannot find a free port on 127.0.0.1: ") + std::strerror(err));
  return ntohs(a.sin_port);
}

const char* const kLaunchVars[] = {"RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"};

void set_launch_env(int rank, int world, int port) {
  ::setenv("RANK", std::to_string(rank).c_str(), 1);
  ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
  ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
}

}  // namespace

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
      parts.push_back(g.defined() ? g.reshape({-1}) : torch::zeros({params[i].numel()}, params[i].options()));
    }
    k.flat = torch::cat(parts).to(dist.backend_device());
    try {
      k.wait = dist.start_sum(k.flat);
    } catch (...) {
      if (!error) error = std::current_exception();  // rethrown by finish(), outside the autograd engine
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
  for (size_t a = 0; a < impl_->accumulators.size(); ++a) impl_->accumulators[a]->del_post_hook(impl_->keys[a]);
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

LocalRanks::LocalRanks(int procs) : procs_(procs) {
  if (procs < 2) throw Error("--procs " + std::to_string(procs) + ": LocalRanks needs at least 2");
  for (const char* v : kLaunchVars) {
    const char* x = std::getenv(v);
    saved_env_.emplace_back(v, x ? x : "\x01");
  }
  const int port = free_port();
  std::cout.flush(), std::cerr.flush(), std::fflush(nullptr);  // nothing buffered is written twice
  const pid_t parent = ::getpid();
  for (int r = 1; r < procs; ++r) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) {
      join(true);
      throw Error(std::string("--procs: cannot make a pipe: ") + std::strerror(errno));
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int err = errno;
      ::close(p[0]), ::close(p[1]);
      join(true);
      throw Error("--procs " + std::to_string(procs) + ": cannot start a process: " + std::strerror(err));
    }
    if (pid == 0) {  // rank r
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(3);  // the parent died before the line above
      ::close(p[0]);
      for (int fd : fds_) ::close(fd);
      fds_ = {p[1]};
      pids_.clear();
      rank_ = r;
      set_launch_env(r, procs, port);
      return;
    }
    ::close(p[1]);
    pids_.push_back(pid);
    fds_.push_back(p[0]);
  }
  set_launch_env(0, procs, port);
}

void LocalRanks::child_exit(const std::string& error, bool dist) {
  const std::string msg = error.empty() ? "" : (dist ? "D" : "E") + error;
  size_t off = 0;
  while (off < msg.size()) {
    const ssize_t n = ::write(fds_[0], msg.data() + off, msg.size() - off);
    if (n <= 0) break;
    off += size_t(n);
  }
  std::cout.flush(), std::cerr.flush();
  ::_exit(error.empty() ? 0 : 2);
}

std::string LocalRanks::join(bool stop) {
  if (rank_ != 0 || joined_) return "";
  joined_ = true;
  if (stop)
    for (pid_t pid : pids_) ::kill(pid, SIGTERM);
  std::string first, first_dist;
  for (size_t i = 0; i < pids_.size(); ++i) {
    std::string msg;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds_[i], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
      if (n > 0) msg.append(buf, size_t(n));
    ::close(fds_[i]);
    int st = 0;
    while (::waitpid(pids_[i], &st, 0) < 0 && errno == EINTR) {
    }
    const std::string who = "rank " + std::to_string(i + 1) + " of " + std::to_string(procs_) + ": ";
    if (!msg.empty()) {  // a DistError names its rank already
      std::string& slot = msg[0] == 'D' ? first_dist : first;
      if (slot.empty()) slot = (msg[0] == 'D' ? "" : who) + msg.substr(1);
    } else if (!stop && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
      const std::string how = WIFSIGNALED(st) ? "was killed by signal " + std::to_string(WTERMSIG(st))
                                              : "exited with status " + std::to_string(WEXITSTATUS(st));
      if (first.empty()) first = who + how;
    }
  }
  fds_.clear();
  pids_.clear();
  return !first.empty() ? first : first_dist;
}

LocalRanks::~LocalRanks() {
  if (rank_ != 0) return;
  join(true);
  for (const auto& [name, value] : saved_env_) {
    if (value == "\x01") ::unsetenv(name.c_str());
    else ::setenv(name.c_str(), value.c_str(), 1);
  }
}

harness::EvalResult evaluate_model(const std::string& checkpoint, harness::EvalConfig c, const EvalRun& run, bool* leader) {
  if (leader) *leader = true;
  if (dist_env().world > 1) {  // a launcher's rank: its share; the report on rank 0
    const auto group = launch_collective(run.timeout_s);
    c.collective = group.get();
    if (group->rank() != 0) c.progress = false;
    if (leader) *leader = group->rank() == 0;
    Simulator sim(checkpoint, run.device, run.threads, run.precision);
    return harness::evaluate(sim, c);
  }
  if (run.procs < 1) throw Error("--procs " + std::to_string(run.procs) + ": expected at least 1");
  if (run.procs == 1) {
    Simulator sim(checkpoint, run.device, run.threads, run.precision);
    return harness::evaluate(sim, c);
  }
  if (run.device != "cpu")
    throw Error("--procs " + std::to_string(run.procs) + " is for the CPU; on GPUs launch one process per GPU (torchrun; README: Beyond one machine)");
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = run.threads > 0 ? run.threads : std::max(1, cores / run.procs);
  return on_local_ranks(run.procs, threads, [&](int rank) {
    harness::EvalConfig mine = c;
    if (rank > 0) mine.progress = false, mine.predictions.clear(), mine.paper_layout = false;  // (rank 0 writes them)
    DistCollective group(run.timeout_s);
    mine.collective = &group;
    Simulator sim(checkpoint, run.device, threads, run.precision);
    return harness::evaluate(sim, mine);
  });
}

}  // namespace cpusim::model
