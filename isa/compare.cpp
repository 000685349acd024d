// isa/compare.cpp: byte- and field-level scoring of states, first differences, rendering.
#include "isa/compare.h"

#include <algorithm>

namespace cpusim::isa {

Tally& Tally::operator+=(const Tally& o) {
  states += o.states, exact_states += o.exact_states;
  bytes += o.bytes, matched_bytes += o.matched_bytes;
  changed_bytes += o.changed_bytes, matched_changed += o.matched_changed;
  missing_bytes += o.missing_bytes;
  return *this;
}

Tally score_state(const uint8_t* truth, const uint8_t* prev, const uint8_t* pred, size_t avail,
                  size_t sb) {
  Tally t;
  for (size_t i = 0; i < sb; ++i) {
    const bool ok = i < avail && pred[i] == truth[i];
    t.matched_bytes += ok;
    if (truth[i] != prev[i]) {
      ++t.changed_bytes;
      t.matched_changed += ok;
    }
  }
  t.states = 1;
  t.exact_states = t.matched_bytes == sb;
  t.bytes = sb;
  t.missing_bytes = sb - std::min(avail, sb);
  return t;
}

Tally score_field(const Field& f, const uint8_t* truth, const uint8_t* prev, const uint8_t* pred,
                  size_t avail) {
  bool ok = true, changed = false, ok_changed = true;
  for (int b = 0; b < f.size; ++b) {
    const size_t i = f.offset + b;
    const bool m = i < avail && pred[i] == truth[i];
    ok &= m;
    if (truth[i] != prev[i]) changed = true, ok_changed &= m;
  }
  Tally t;
  t.states = 1, t.exact_states = ok;
  t.bytes = 1, t.matched_bytes = ok;  // a field counts once
  t.changed_bytes = changed, t.matched_changed = changed && ok_changed;
  return t;
}

PredictedState predicted_state(std::span<const uint8_t> pred, size_t k, size_t sb) {
  const size_t off = (k - 1) * sb;
  if (k < 1 || pred.size() <= off) return {};
  return {pred.data() + off, std::min(sb, pred.size() - off)};
}

TraceScore score_trace(std::span<const uint8_t> truth, std::span<const uint8_t> pred, size_t sb) {
  TraceScore r;
  const size_t n = truth.size() / sb;  // true states, the first included
  for (size_t k = 1; k < n; ++k) {
    const PredictedState p = predicted_state(pred, k, sb);
    const Tally t =
        score_state(truth.data() + k * sb, truth.data() + (k - 1) * sb, p.bytes, p.avail, sb);
    if (!t.exact_states && r.first_mismatch < 0) r.first_mismatch = int64_t(k);
    r.tally += t;
  }
  return r;
}

std::optional<Difference> first_difference(std::span<const uint8_t> a, std::span<const uint8_t> b,
                                           size_t sb) {
  const size_t overlap = std::min(a.size(), b.size());
  const auto m = std::mismatch(a.begin(), a.begin() + std::ptrdiff_t(overlap), b.begin());
  if (m.first != a.begin() + std::ptrdiff_t(overlap))
    return Difference{size_t(m.first - a.begin()) / sb, a.size() != b.size()};
  if (a.size() != b.size()) return Difference{overlap / sb, true};
  return std::nullopt;
}

std::string render_differences(const Config& c, const uint8_t* expected, const uint8_t* actual,
                               size_t avail, const std::string& got, const std::string& indent,
                               const std::string& want) {
  std::string s;
  for (size_t i = 0; i < state_bytes(c); ++i) {
    if (i < avail && actual[i] == expected[i]) continue;
    s += indent + byte_name(c, i) + ": " + want + " " + std::to_string(expected[i]) + ", " + got +
         " " + (i < avail ? std::to_string(actual[i]) : std::string("(missing)")) + "\n";
  }
  return s;
}

}  // namespace cpusim::isa
