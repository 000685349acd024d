// harness/metrics.cpp: the accumulation behind harness/metrics.h.
#include "harness/metrics.h"

#include <algorithm>
#include <cstring>

#include "common/io.h"

namespace cpusim::harness {

const char* mode_name(Mode m) { return m == Mode::teacher ? "teacher" : "rollout"; }

Mode parse_mode(const std::string& name) {
  for (Mode m : {Mode::teacher, Mode::rollout})
    if (name == mode_name(m)) return m;
  throw Error("--mode " + name + ": expected teacher or rollout");
}

std::string length_bucket(uint64_t steps) {
  uint64_t lo = 1, hi = 8;
  while (steps > hi) lo = hi + 1, hi *= 2;
  return std::to_string(lo) + "-" + std::to_string(hi);
}

void do_nothing(const isa::Config& c, std::span<const uint8_t> image, const uint8_t* prev,
                uint8_t* out) {
  const size_t sb = isa::state_bytes(c);
  std::memcpy(out, prev, sb);
  const unsigned slots = isa::program_capacity(c), pc = prev[isa::kPC];
  if (pc < slots) std::memcpy(out + isa::kIR, image.data() + pc * isa::kInsnBytes, 4);
  out[isa::kPC] = uint8_t(isa::next_pc(c, pc));
}

Scorer::Scorer(const isa::Config& c, Mode mode, int worst_k)
    : c_(c), mode_(mode), worst_k_(worst_k), fields_(isa::state_fields(c)) {
  if (isa::profile_info(c.profile).data_in_state)
    memory_ = isa::Field{"data memory", uint16_t(isa::kHeaderBytes), uint16_t(c.memory_size)};
  for (const auto& f : fields_) per_field_.push_back({f.name, Pair{}});
}

void Scorer::add(uint64_t index, std::span<const uint8_t> trace,
                 std::span<const uint8_t> predicted) {
  const size_t ib = isa::image_bytes(c_), sb = isa::state_bytes(c_);
  const auto image = trace.subspan(0, ib);
  const auto states = trace.subspan(ib);
  const size_t n = states.size() / sb;  // true states, the first included
  if (n < 2) return;
  ++traces_;
  const std::string bucket = length_bucket(n - 1);
  std::vector<uint8_t> base(sb), base_prev(states.begin(), states.begin() + sb);
  Tally trace_model;
  int64_t diverged = -1;
  for (size_t k = 1; k < n; ++k) {
    const uint8_t* truth = states.data() + k * sb;
    const uint8_t* prev = states.data() + (k - 1) * sb;
    const auto [pred, avail] = isa::predicted_state(predicted, k, sb);
    // The baseline: from the true previous state (teacher) or its own previous one (rollout).
    do_nothing(c_, image, mode_ == Mode::teacher ? prev : base_prev.data(), base.data());
    base_prev = base;
    const Pair p{isa::score_state(truth, prev, pred, avail, sb),
                 isa::score_state(truth, prev, base.data(), sb, sb)};
    if (diverged < 0 && p.model.exact_states == 0) diverged = int64_t(k);
    trace_model += p.model;
    total_ += p;
    // State k follows the execution of the instruction in state k-1's IR (none for k = 1).
    std::string op = "(first fetch)", form = op;
    if (k > 1) {
      const isa::Insn in = isa::insn_at(prev + isa::kIR);
      if (auto f = isa::form_of(c_.profile, in)) {
        op = isa::opcodes(c_.profile)[in.op].mnemonic;
        form = op + " " + isa::form_info(*f).text;
      } else {
        op = form = "(invalid)";
      }
    }
    per_op_[op] += p;
    per_form_[form] += p;
    per_len_[bucket] += p;
    per_step_[k] += p;
    for (size_t fi = 0; fi < fields_.size(); ++fi)
      per_field_[fi].second += Pair{isa::score_field(fields_[fi], truth, prev, pred, avail),
                                    isa::score_field(fields_[fi], truth, prev, base.data(), sb)};
    if (memory_.size) {  // the data memory's bytes alone, scored as a state of their own
      const size_t at = memory_.offset, n = memory_.size;
      const auto part = [&](const uint8_t* p, size_t have) {
        return isa::score_state(truth + at, prev + at, p + at, have > at ? have - at : 0, n);
      };
      const Pair m{part(pred, avail), part(base.data(), sb)};
      per_op_memory_[op] += m;
      data_memory_ += m;
    }
  }
  exact_traces_ += diverged < 0;
  if (mode_ == Mode::rollout) {
    std::string key = "none";
    if (diverged >= 0) key = length_bucket(uint64_t(diverged));
    ++divergence_[key];
  }
  // Keep the worst K by byte accuracy (ties: earlier divergence first).
  WorstCase w;
  w.trace = index;
  w.byte_accuracy = trace_model.byte_accuracy();
  w.first_divergence = diverged;
  auto worse = [](const WorstCase& a, const WorstCase& b) {
    return a.byte_accuracy != b.byte_accuracy ? a.byte_accuracy < b.byte_accuracy
                                              : a.trace < b.trace;
  };
  if (int(worst_.size()) < worst_k_ || worse(w, worst_.back())) {
    w.image.assign(image.begin(), image.end());
    w.truth.assign(states.begin(), states.end());
    w.predicted.assign(predicted.begin(), predicted.end());
    worst_.push_back(std::move(w));
    std::sort(worst_.begin(), worst_.end(), worse);
    if (int(worst_.size()) > worst_k_) worst_.pop_back();
  }
}

}  // namespace cpusim::harness
