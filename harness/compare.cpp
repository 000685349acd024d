// harness/compare.cpp: byte-by-byte scoring of predicted against true states.
#include "harness/compare.h"

#include <algorithm>

namespace cpusim::harness {

Score& Score::operator+=(const Score& o) {
  traces += o.traces;
  states += o.states;
  state_bytes += o.state_bytes;
  matched_bytes += o.matched_bytes;
  exact_states += o.exact_states;
  missing_bytes += o.missing_bytes;
  exact_traces += o.exact_traces;
  return *this;
}

TraceScore compare(std::span<const uint8_t> truth, std::span<const uint8_t> pred, size_t state_size) {
  TraceScore t;
  Score& s = t.score;
  s.traces = 1;
  s.states = truth.size() / state_size;
  s.state_bytes = s.states * state_size;
  s.missing_bytes = truth.size() > pred.size() ? truth.size() - pred.size() : 0;
  const size_t overlap = std::min(truth.size(), pred.size());
  for (uint64_t k = 0; k < s.states; ++k) {
    const size_t begin = k * state_size;
    const size_t end = std::min(begin + state_size, overlap);
    uint64_t matched = 0;
    for (size_t i = begin; i < end; ++i) matched += truth[i] == pred[i];
    s.matched_bytes += matched;
    if (matched == state_size) {
      ++s.exact_states;
    } else if (t.first_mismatch < 0) {
      t.first_mismatch = int64_t(k + 1);
    }
  }
  s.exact_traces = t.first_mismatch < 0;
  return t;
}

}  // namespace cpusim::harness
