// model/launch.h: the one local launcher: `--procs N` of train and eval runs N processes of one
// run on this machine without torchrun, by forking: the children inherit the caller's state
// (the data it read, for training) and join the process group through torchrun's variables.
// Includes no torch itself; internal to model/.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/io.h"
#include "model/device.h"
#include "model/dist.h"

namespace cpusim::model {

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

// The `--procs N` launcher of train and eval: refuses a device other than the CPU, shares the
// cores out (`threads` <= 0: cores / procs each) and runs `share(rank, threads)` on N local
// processes (on_local_ranks).
// Refuses --procs on a device other than the CPU.
inline void check_local_cpu(int procs, const std::string& device) {
  if (device != "cpu")
    throw Error("--procs " + std::to_string(procs) +
                " is for the CPU; on GPUs launch one process per GPU (torchrun; README: Beyond one "
                "machine)");
}
template <class F>
auto on_local_cpu_ranks(int procs, const std::string& device, int threads, F&& share)
    -> decltype(share(0, 0)) {
  check_local_cpu(procs, device);
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  const int each = threads > 0 ? threads : std::max(1, cores / procs);
  return on_local_ranks(procs, each, [&](int rank) { return share(rank, each); });
}

}  // namespace cpusim::model
