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

// "" when `file` (c's layout: image, then states) is exactly the emulator's trace of its image
// from its first state; else why not, as one phrase ("too short ...", "re-execution stopped:
// ...", "its length differs ...", "its state K differs from the emulator's"). `outcome`, when
// given, receives the re-execution's outcome.
std::string recheck(const isa::Config& c, std::span<const uint8_t> file, emu::Outcome* outcome = nullptr);

}  // namespace cpusim::datagen
