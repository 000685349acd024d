// datagen/generator.cpp: the random program and initial-state distributions.
#include "datagen/generator.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "common/io.h"

namespace cpusim::datagen {

unsigned max_len(const GenConfig& g) {
  const unsigned slots = isa::program_capacity(g.isa);
  if (g.max_len) return g.max_len;
  return std::min(isa::profile_info(g.isa.profile).max_random_len, slots);
}

void validate(const GenConfig& g) {
  isa::validate(g.isa);
  const unsigned hi = max_len(g), slots = isa::program_capacity(g.isa);
  if (g.min_len < 1 || g.min_len > hi)
    throw Error("--min-len " + std::to_string(g.min_len) + ": must be 1..max-len (" +
                std::to_string(hi) + ")");
  if (hi > slots)
    throw Error("--max-len " + std::to_string(hi) + ": the program image holds " +
                std::to_string(slots) + " instructions");
}

namespace {

// Each opcode but HLT with its forms, per profile: looked up once, not at every instruction.
struct OpForms {
  uint8_t code = 0;
  uint32_t n = 0;
  const isa::FormInfo* forms[isa::kNumForms] = {};
};

const std::vector<OpForms>& op_forms(isa::Profile p) {
  static const std::array<std::vector<OpForms>, 2> tables = [] {
    std::array<std::vector<OpForms>, 2> t;
    for (const isa::Profile pr : {isa::Profile::bgpt, isa::Profile::toy}) {
      const auto ops = isa::opcodes(pr);
      for (size_t i = 1; i < ops.size(); ++i) {  // never HLT (code 0)
        OpForms o;
        o.code = ops[i].code;
        for (int f = 0; f < isa::kNumForms; ++f)
          if (ops[i].forms & isa::form_bit(isa::Form(f)))
            o.forms[o.n++] = &isa::form_info(isa::Form(f));
        t[size_t(pr)].push_back(o);
      }
    }
    return t;
  }();
  return tables[size_t(p)];
}

}  // namespace

isa::Insn random_insn(const GenConfig& g, Rng& rng, unsigned index, unsigned length) {
  const auto& ops = op_forms(g.isa.profile);
  const OpForms& op = ops[rng.below(uint32_t(ops.size()))];
  const isa::FormInfo& fi = *op.forms[rng.below(op.n)];
  const bool bgpt = g.isa.profile == isa::Profile::bgpt;
  uint8_t a[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    switch (fi.slot[i]) {
      case isa::Slot::No:
        break;
      case isa::Slot::Reg:
      case isa::Slot::Ind:
        a[i] = uint8_t(bgpt ? rng.range(1, 10) : rng.below(10));
        break;
      case isa::Slot::Imm:
        a[i] = rng.byte();
        break;
      case isa::Slot::Addr:
        a[i] = uint8_t(rng.below(g.isa.memory_size));
        break;
      case isa::Slot::Tgt:
        // Forward targets (index+1 .. length-1) end at the final HLT; backward ones
        // (0 .. index) make loops, most of which a flag condition ends.
        if (index + 1 < length &&
            rng.next() >= uint64_t(g.backward_branch * 18446744073709551615.0))
          a[i] = uint8_t(rng.range(index + 1, length - 1));
        else
          a[i] = uint8_t(rng.range(0, index));
        break;
    }
  }
  return isa::Insn{op.code, a[0], a[1], a[2]};
}

void random_instance(const GenConfig& g, Rng& rng, Instance& out) {
  const unsigned n = rng.range(g.min_len, max_len(g));
  out.length = n;
  out.image.assign(isa::image_bytes(g.isa), 0);
  for (unsigned i = 0; i + 1 < n; ++i) {
    const isa::Insn in = random_insn(g, rng, i, n);
    uint8_t* w = out.image.data() + i * isa::kInsnBytes;
    w[0] = in.op, w[1] = in.a1, w[2] = in.a2, w[3] = in.a3;
  }
  // The last instruction is HLT: already zero.
  out.init.assign(isa::state_bytes(g.isa), 0);
  if (g.isa.profile == isa::Profile::bgpt) {
    out.init[isa::kAcc] = rng.byte();
  }
  for (int r = 0; r < isa::kNumRegs; ++r) out.init[isa::kRegs + r] = rng.byte();
  for (size_t a = isa::kHeaderBytes; a < out.init.size(); ++a) out.init[a] = rng.byte();
}

std::function<void(uint64_t, std::vector<uint8_t>&, std::vector<uint8_t>&)> random_programs(
    const GenConfig& g, uint64_t seed) {
  return [g, seed](uint64_t index, std::vector<uint8_t>& image, std::vector<uint8_t>& init) {
    Rng rng = Rng::for_item(seed, index);
    Instance inst;
    inst.image = std::move(image);
    inst.init = std::move(init);
    random_instance(g, rng, inst);
    image = std::move(inst.image);
    init = std::move(inst.init);
  };
}

}  // namespace cpusim::datagen
