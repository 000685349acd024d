// model/dist.h: data-parallel runs across processes on libtorch's c10d: the rendezvous through
// a TCPStore from a launcher's environment (torchrun's RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT), ProcessGroupGloo on CPUs (ProcessGroupNCCL on CUDA where libtorch
// has it), and the collectives the trainer needs. Without WORLD_SIZE (or with 1) nothing is
// created and every call is a no-op. Includes torch; internal to model/.
#pragma once

#include <torch/torch.h>

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/io.h"
#include "model/device.h"

namespace cpusim::model {

// A collective or rendezvous that failed because another rank died, stopped answering or failed
// first (the cause is then that rank's own error).
class DistError : public Error {
 public:
  using Error::Error;
};

struct DistEnv {
  int rank = 0, world = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};
// From the environment; world 1 when WORLD_SIZE is unset. Throws cpusim::Error naming a variable
// that is missing or out of range.
DistEnv dist_env();

class Dist {
 public:
  // Rendezvous (every rank waits for the others, up to `timeout`) and the process group.
  Dist(const DistEnv& env, const torch::Device& dev, std::chrono::seconds timeout);
  ~Dist();
  int rank() const { return env_.rank; }
  int world() const { return env_.world; }
  bool active() const { return env_.world > 1; }
  bool leader() const { return env_.rank == 0; }
  // Sums over the ranks, in place: the tensors are flattened into buckets of up to `bucket_bytes`
  // per dtype, one all-reduce each. A failed or timed-out collective throws cpusim::Error naming
  // this rank and the timeout.
  void sum(std::vector<torch::Tensor> ts, int64_t bucket_bytes = 25 << 20);
  // Starts summing the 1-d tensor `flat` over the ranks, in place, and returns at once; the
  // returned function waits for it (throwing as sum does). Every rank must start its
  // collectives in the same order. `flat` must be on backend_device().
  std::function<void()> start_sum(torch::Tensor flat);
  torch::Device backend_device() const;
  void barrier();
  std::string backend() const;

 private:
  struct Impl;
  DistEnv env_;
  std::chrono::seconds timeout_;
  std::unique_ptr<Impl> impl_;
};

// Gradients summed over the ranks while the backward pass still runs, as PyTorch's DDP does:
// the parameters are cut into buckets in reverse order (the order the backward pass finishes
// them in: 1 MiB first, then up to `bucket_bytes`), a hook after each parameter's gradient
// accumulation counts it in, and each bucket, once complete, is flattened and its all-reduce
// started, buckets strictly in order so every rank starts the same collectives in the same
// order. finish() starts what the hooks did not (a parameter the backward did not reach sends
// zeros and keeps no gradient), waits, and writes the sums into the gradients.
class GradReducer {
 public:
  GradReducer(Dist& dist, std::vector<torch::Tensor> params, int64_t bucket_bytes = 25 << 20);
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;
  // The next backward pass's gradients are final (the step's last micro-batch): sum them as
  // their buckets fill.
  void arm();
  // After that backward pass: every bucket summed, into the parameters' gradients.
  void finish();
  size_t buckets() const;
  // Of the last finish(): how many buckets had started before the backward pass returned.
  size_t started_in_backward() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `--procs N`: a data-parallel run of N processes on this machine without a launcher. The
// constructor forks N - 1 children that inherit the caller's state and sets torchrun's variables
// in each (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR 127.0.0.1, a free MASTER_PORT), the caller
// becoming rank 0; the destructor restores the caller's environment. A child that outlives
// its parent is killed (PR_SET_PDEATHSIG). Fork before libtorch has run any parallel work.
class LocalRanks {
 public:
  explicit LocalRanks(int procs);
  ~LocalRanks();
  LocalRanks(const LocalRanks&) = delete;
  LocalRanks& operator=(const LocalRanks&) = delete;
  int rank() const { return rank_; }
  // In a child: hands `error` (empty on success; `dist`: a DistError) to rank 0 and exits.
  [[noreturn]] void child_exit(const std::string& error, bool dist);
  // In rank 0: waits for the children (SIGTERM first when `stop`). Returns the first child's
  // error that is not a DistError, else the first DistError's, else "" (all succeeded).
  std::string join(bool stop);

 private:
  int rank_ = 0, procs_;
  std::vector<pid_t> pids_;
  std::vector<int> fds_;  // rank 0: the read end of each child's error pipe; a child: its write end
  std::vector<std::pair<std::string, std::string>> saved_env_;  // name, value ("\x01": unset)
  bool joined_ = false;
};

// `share(rank)` on `procs` processes of this machine (LocalRanks), each with `threads` threads
// for OpenBLAS: rank 0's result is returned once every child has finished; a child's error (the
// first that is not a DistError, else the first DistError) is thrown as the run's. The children's
// results are dropped: `share` gathers what rank 0 needs through its own collectives.
template <class F>
auto on_local_ranks(int procs, int threads, F&& share) -> decltype(share(0)) {
  LocalRanks ranks(procs);
  const int blas_before = set_blas_threads(threads);
  if (ranks.rank() > 0) {
    try {
      share(ranks.rank());
      ranks.child_exit("", false);
    } catch (const DistError& e) {
      ranks.child_exit(e.what(), true);
    } catch (const std::exception& e) {
      ranks.child_exit(e.what(), false);
    }
  }
  try {
    auto result = share(0);
    set_blas_threads(blas_before);
    if (const std::string err = ranks.join(false); !err.empty()) throw Error(err);
    return result;
  } catch (const DistError&) {  // another rank failed first: its error is the cause
    set_blas_threads(blas_before);
    const std::string err = ranks.join(false);
    if (!err.empty()) throw Error(err);
    throw;
  } catch (...) {
    set_blas_threads(blas_before);
    ranks.join(true);
    throw;
  }
}

}  // namespace cpusim::model
