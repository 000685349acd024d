// isa/compare.h: the one state comparator. Scores predicted (or re-executed, or Unicorn's)
// states against true ones byte by byte and field by field, finds the first difference, and
// renders differences as text. Every tool that compares states calls this: verify, the metrics,
// import validation, the paper-layout check, the cross-checker, predict. No I/O.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "isa/isa.h"

namespace cpusim::isa {

// Counts of one slice of states (a trace, an opcode, a field, a whole set). An accuracy of an
// empty count is NaN ("nothing was scored"; JSON writes it as null), never a made-up 0 or 1.
struct Tally {
  uint64_t states = 0, exact_states = 0;  // states scored; those right in every byte
  uint64_t bytes = 0, matched_bytes = 0;  // state bytes scored; those right
  uint64_t changed_bytes = 0,
           matched_changed = 0;  // bytes that differ from the previous true state
  uint64_t missing_bytes = 0;    // true bytes past the end of the prediction (unmatched)
  Tally& operator+=(const Tally& o);
  double byte_accuracy() const { return ratio(matched_bytes, bytes); }
  double state_accuracy() const { return ratio(exact_states, states); }
  double changed_byte_accuracy() const { return ratio(matched_changed, changed_bytes); }
  static double ratio(uint64_t n, uint64_t d) { return d ? double(n) / double(d) : std::nan(""); }
};

// One predicted state against the truth. `prev` is the true state before it (what "changed"
// means); `pred` holds `avail` bytes (0..sb), the rest count as missing.
Tally score_state(const uint8_t* truth, const uint8_t* prev, const uint8_t* pred, size_t avail,
                  size_t sb);
// One field of that state, counted once: right when all its bytes are; changed when any is.
Tally score_field(const Field& f, const uint8_t* truth, const uint8_t* prev, const uint8_t* pred,
                  size_t avail);

// State k (1 = the first after the initial one) of `pred`, the predicted states after the
// initial one: where its bytes start and how many of its `sb` are there (0..sb; null when none).
struct PredictedState {
  const uint8_t* bytes = nullptr;
  size_t avail = 0;
};
PredictedState predicted_state(std::span<const uint8_t> pred, size_t k, size_t sb);

// A whole trace: `truth` holds every true state (the first included), `pred` the predicted
// states after the first. Predicted bytes missing at the end count as mismatches; extra
// predicted bytes are ignored.
struct TraceScore {
  Tally tally;
  int64_t first_mismatch =
      -1;  // index of the first wrong state (1 = the first after the initial) or -1
  bool exact() const { return first_mismatch < 0; }
};
TraceScore score_trace(std::span<const uint8_t> truth, std::span<const uint8_t> pred, size_t sb);

// Where two sequences of states first differ: nullopt when equal (same length, same bytes).
struct Difference {
  size_t state = 0;             // index of the first differing state (or of the first missing one)
  bool length_differs = false;  // the sequences differ in length (and agree on their overlap)
};
std::optional<Difference> first_difference(std::span<const uint8_t> a, std::span<const uint8_t> b,
                                           size_t sb);

// The bytes where `actual` differs from `expected` (`avail` bytes of `actual` exist, the rest
// are "(missing)"), one line each, named by the state layout: "<indent>ACC: expected 7,
// predicted 5" (`want` and `got` name the two sides). Reports, predict and the cross-checker
// render differences with it.
std::string render_differences(const Config& c, const uint8_t* expected, const uint8_t* actual,
                               size_t avail, const std::string& got = "predicted",
                               const std::string& indent = "    ",
                               const std::string& want = "expected");

}  // namespace cpusim::isa
