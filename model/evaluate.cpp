// model/evaluate.cpp: a checkpoint scored against the emulator (model/api.h evaluate_model): the
// loaded Simulator handed to harness::evaluate, alone, as a launcher's rank, or on --procs local
// processes.
#include "harness/evaluate.h"

#include "common/io.h"
#include "model/api.h"
#include "model/launch.h"

namespace cpusim::model {

namespace {

harness::EvalResult run_simulator(const std::string& checkpoint, const harness::EvalConfig& c,
                                  const EvalRun& run, int threads) {
  Simulator sim(checkpoint, run.device, threads, run.precision);
  sim.set_decode(parse_decode(run.decode));
  return harness::evaluate(sim, c);
}

}  // namespace

harness::EvalResult evaluate_model(const std::string& checkpoint, harness::EvalConfig c,
                                   const EvalRun& run, bool* leader) {
  if (leader) *leader = true;
  parse_decode(run.decode);    // a bad name refused before any work
  if (dist_env().world > 1) {  // a launcher's rank: its share; the report on rank 0
    const auto group = launch_collective(run.timeout_s);
    c.collective = group.get();
    if (group->rank() != 0) c.progress = false;
    if (leader) *leader = group->rank() == 0;
    return run_simulator(checkpoint, c, run, run.threads);
  }
  if (run.procs < 1) throw Error("--procs " + std::to_string(run.procs) + ": expected at least 1");
  if (run.procs == 1) {
    return run_simulator(checkpoint, c, run, run.threads);
  }
  return on_local_cpu_ranks(run.procs, run.device, run.threads, [&](int rank, int threads) {
    harness::EvalConfig mine = c;
    if (rank > 0)
      mine.progress = false, mine.predictions.clear(),
      mine.paper_layout = false;  // (rank 0 writes them)
    const auto group = launch_collective(run.timeout_s);
    mine.collective = group.get();
    return run_simulator(checkpoint, mine, run, threads);
  });
}

}  // namespace cpusim::model
