// datagen/validate.cpp: re-execution of a trace file against its own states.
#include "datagen/validate.h"

#include "isa/compare.h"

namespace cpusim::datagen {

std::string recheck(const isa::Config& c, std::span<const uint8_t> file, emu::Outcome* outcome) {
  const size_t ib = isa::image_bytes(c), sb = isa::state_bytes(c);
  if (file.size() < ib + sb)
    return "too short (" + std::to_string(file.size()) + " bytes) for a " + std::to_string(ib) +
           "-byte image and a first state";
  std::vector<uint8_t> states;
  const emu::Outcome o = emu::run(c, file.subspan(0, ib), file.subspan(ib, sb), states);
  if (outcome) *outcome = o;
  if (o.stop == emu::Stop::fault) return "re-execution stopped: " + emu::describe_fault(c.profile, o);
  const auto d = isa::first_difference(states, file.subspan(ib), sb);
  if (!d) return "";
  if (d->length_differs)
    return "its length differs from the emulator's trace (" + std::to_string(file.size()) + " bytes, expected " +
           std::to_string(ib + states.size()) + ")";
  return "its state " + std::to_string(d->state) + " differs from the emulator's";
}

}  // namespace cpusim::datagen
