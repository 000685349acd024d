// model/evaluate.cpp: a checkpoint scored against the emulator (model/api.h evaluate_model): the
// loaded Simulator handed to harness::evaluate, alone, as a launcher's rank, or on --procs local
// processes.
#include "harness/evaluate.h"

#include "common/io.h"
#include "model/api.h"
#include "model/launch.h"

namespace cpusim::model {

harness::EvalResult evaluate_model(const std::string& checkpoint, harness::EvalConfig c,
                                   const EvalRun& run, bool* leader) {
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
  return on_local_cpu_ranks(run.procs, run.device, run.threads, [&](int rank, int threads) {
    harness::EvalConfig mine = c;
    if (rank > 0)
      mine.progress = false, mine.predictions.clear(),
      mine.paper_layout = false;  // (rank 0 writes them)
    const auto group = launch_collective(run.timeout_s);
    mine.collective = group.get();
    Simulator sim(checkpoint, run.device, threads, run.precision);
    return harness::evaluate(sim, mine);
  });
}

}  // namespace cpusim::model
