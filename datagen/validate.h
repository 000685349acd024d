// datagen/validate.h: whether a trace file is what the emulator makes: re-executed from its
// image and first state, every later state compared (isa/compare.h). Used by dataset import
// and the paper-layout check. Scoring a prediction is the harness's job (harness/verify.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "emulator/emulator.h"
#include "isa/isa.h"

namespace cpusim::datagen {

// Whether `file` (c's layout: image, then states) is exactly the emulator's trace of its image
// from its first state; if not, why, as one phrase ("too short ...", "re-execution stopped:
// ...", "its length differs ...", "its state K differs from the emulator's").
struct Recheck {
  enum class Verdict { same, too_short, fault, differs } verdict = Verdict::same;
  std::string why;       // empty when same
  emu::Outcome outcome;  // of the re-execution (when it ran)
  bool ok() const { return verdict == Verdict::same; }
};
Recheck recheck(const isa::Config& c, std::span<const uint8_t> file);

}  // namespace cpusim::datagen
