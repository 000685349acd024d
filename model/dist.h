// model/dist.h: data-parallel runs across processes on libtorch's c10d: the rendezvous through
// a TCPStore from a launcher's environment (torchrun's RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT), ProcessGroupGloo on CPUs (ProcessGroupNCCL on CUDA where libtorch
// has it), and the collectives the trainer needs. Without WORLD_SIZE (or with 1) nothing is
// created and every call is a no-op. Includes torch; internal to model/.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace cpusim::model {

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
  void barrier();
  std::string backend() const;

 private:
  struct Impl;
  DistEnv env_;
  std::chrono::seconds timeout_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cpusim::model
