// harness/verify.cpp: re-execution and scoring of one trace file.
#include "harness/verify.h"

#include "common/io.h"

namespace cpusim::harness {

VerifyResult verify_trace(const isa::Config& c, std::span<const uint8_t> file, const std::string& name) {
  const size_t ib = isa::image_bytes(c), sb = isa::state_bytes(c);
  if (file.size() < ib + sb)
    throw Error(name + ": too short (" + std::to_string(file.size()) +
                " bytes) to hold the program image and first state (" + std::to_string(ib + sb) +
                " bytes for --isa " + std::string(isa::profile_name(c.profile)) + " --memory-size " +
                std::to_string(c.memory_size) + ")");
  std::vector<uint8_t> states;
  VerifyResult r;
  r.outcome = emu::run(c, file.subspan(0, ib), file.subspan(ib, sb), states);
  if (r.outcome.stop == emu::Stop::fault)
    throw Error(name + ": re-execution stopped: " + emu::describe_fault(c.profile, r.outcome));
  r.trace = isa::score_trace(states, file.subspan(ib + sb), sb);
  return r;
}

void VerifyTotals::add(const VerifyResult& r) {
  ++traces;
  exact_traces += r.trace.exact();
  tally += r.trace.tally;
}

}  // namespace cpusim::harness
