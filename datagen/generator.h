// datagen/generator.h: random programs and initial states. `bgpt` follows the paper's
// distribution exactly (spec/bgpt-cpu.md); `toy` is cpusim's own (docs/isa-toy.md). The
// generator draws each instruction's form from its opcode-table row. No file I/O here.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "datagen/rng.h"
#include "isa/isa.h"

namespace cpusim::datagen {

struct GenConfig {
  isa::Config isa;       // profile and machine sizes
  unsigned min_len = 1;  // program length in instructions, the final HLT included
  unsigned max_len = 0;  // 0: bgpt min(255, slots); toy min(32, slots)
  // toy: chance that a branch jumps backwards (a loop); the rest jump forwards.
  double backward_branch = 0.25;
};
// The resolved max_len; throws cpusim::Error when the lengths do not fit the image.
unsigned max_len(const GenConfig& g);
void validate(const GenConfig& g);

struct Instance {
  std::vector<uint8_t> image;  // image_bytes(isa)
  std::vector<uint8_t> init;   // state_bytes(isa): PC = 0, IR = 0, the rest random
  unsigned length = 0;         // instructions, HLT included
};

// Draws one instance from `rng` into `out` (buffers reused).
void random_instance(const GenConfig& g, Rng& rng, Instance& out);

// Program `index` of the random programs for `seed`: the instance Rng::for_item(seed, index)
// draws (the cross-checker's programs; a function of the index alone, safe across threads).
std::function<void(uint64_t index, std::vector<uint8_t>& image, std::vector<uint8_t>& init)>
random_programs(const GenConfig& g, uint64_t seed);

// One random instruction of the profile, its form drawn uniformly from the opcode's forms.
// `index` and `length` place it in the program (toy branch targets). Never HLT.
isa::Insn random_insn(const GenConfig& g, Rng& rng, unsigned index, unsigned length);

}  // namespace cpusim::datagen
