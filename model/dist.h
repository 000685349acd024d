// model/dist.h: data-parallel runs across processes on libtorch's c10d: the rendezvous through
// a TCPStore from a launcher's environment (torchrun's RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT), ProcessGroupGloo on CPUs (ProcessGroupNCCL on CUDA where libtorch
// has it), and the collectives the trainer needs. Without WORLD_SIZE (or with 1) nothing is
// created and every call is a no-op. Includes torch; internal to model/.
#pragma once

#include <sys/types.h>
#include <torch/torch.h>

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

// A training step's data-parallel part, the trainer's one seam for it: each rank's weight for
// its slice of a micro-batch, the gradients summed during the last backward pass (GradReducer,
// `overlap`) or after it, and the step's loss and bytes summed over the ranks. With one process
// the weights are 1 and nothing is summed.
class DataParallel {
 public:
  DataParallel(Dist& dist, std::vector<torch::Tensor> params, bool overlap);
  bool active() const { return dist_.active(); }
  // `scored[a]`: this rank's scored bytes of micro-batch a; returns each one's loss weight,
  // this rank's share of the micro-batch's bytes over all ranks (so the summed gradients are
  // those of the whole micro-batch's mean).
  std::vector<double> weights(const std::vector<int64_t>& scored);
  // Before micro-batch `a`'s backward pass (of `n`): the last one's gradients are summed as the
  // backward pass makes them when overlapping.
  void before_backward(size_t a, size_t n);
  // After the step's backward passes: the rest of the gradients' sums; `loss_sum` and `bytes`
  // become the whole group's (the loss stays on its device: no wait for it here).
  void sum(torch::Tensor& loss_sum, int64_t& bytes);
  // --timing: "N gradient buckets a step; K of M all-reduces started during the backward pass"
  // ("" with one process or before any step).
  std::string overlap_summary() const;

 private:
  Dist& dist_;
  GradReducer reducer_;
  bool overlap_;
  uint64_t summed_ = 0, started_in_backward_ = 0;
};

}  // namespace cpusim::model
