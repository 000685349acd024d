// datagen/validate.cpp: re-execution of a trace file against its own states.
#include "datagen/validate.h"

#include "isa/compare.h"

namespace cpusim::datagen {

Recheck recheck(const isa::Config& c, std::span<const uint8_t> file) {
  using V = Recheck::Verdict;
  const size_t ib = isa::image_bytes(c), sb = isa::state_bytes(c);
  Recheck r;
  if (file.size() < ib + sb) {
    r.verdict = V::too_short;
    r.why = "too short (" + std::to_string(file.size()) + " bytes) for a " + std::to_string(ib) +
            "-byte image and a first state";
    return r;
  }
  std::vector<uint8_t> states;
  r.outcome = emu::run(c, file.subspan(0, ib), file.subspan(ib, sb), states);
  if (r.outcome.stop == emu::Stop::fault) {
    r.verdict = V::fault;
    r.why = "re-execution stopped: " + emu::describe_fault(c.profile, r.outcome);
    return r;
  }
  const auto d = isa::first_difference(states, file.subspan(ib), sb);
  if (!d) return r;
  r.verdict = V::differs;
  r.why = d->length_differs
              ? "its length differs from the emulator's trace (" + std::to_string(file.size()) +
                    " bytes, expected " + std::to_string(ib + states.size()) + ")"
              : "its state " + std::to_string(d->state) + " differs from the emulator's";
  return r;
}

}  // namespace cpusim::datagen
