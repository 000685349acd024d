// harness/compare.h: the one comparator. Scores predicted states against true states byte by
// byte (the paper's metric and this project's stricter ones) and returns counts; formatting is
// the reporters' job. No model, no torch.
#pragma once

#include <cstdint>
#include <span>

namespace cpusim::harness {

struct Score {
  uint64_t traces = 0;
  uint64_t states = 0;         // true states after the first
  uint64_t state_bytes = 0;    // their bytes
  uint64_t matched_bytes = 0;  // predicted byte equal at the same position
  uint64_t exact_states = 0;   // states whose every byte matched
  uint64_t missing_bytes = 0;  // true bytes past the end of the prediction (counted unmatched)
  uint64_t exact_traces = 0;   // traces whose every scored byte matched

  Score& operator+=(const Score& o);
  double byte_accuracy() const { return state_bytes ? double(matched_bytes) / state_bytes : 1.0; }
  double state_accuracy() const { return states ? double(exact_states) / states : 1.0; }
};

struct TraceScore {
  Score score;                  // traces == 1
  int64_t first_mismatch = -1;  // index (1 = first state after the initial one) or -1
};

// `truth` and `pred` hold the states after the first one, `state_size` bytes each. Predicted
// bytes missing at the end count as mismatches; extra predicted bytes are ignored.
TraceScore compare(std::span<const uint8_t> truth, std::span<const uint8_t> pred, size_t state_size);

}  // namespace cpusim::harness
