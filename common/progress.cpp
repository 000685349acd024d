// common/progress.cpp: progress bar / periodic progress lines.
#include "common/progress.h"

#include <unistd.h>

#include <cstdio>

namespace cpusim {

Progress::Progress(std::string label, uint64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      tty_(::isatty(2)),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(uint64_t done, const std::string& extra) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if (since < (tty_ ? 0.2 : 5.0)) return;
  last_ = now;
  draw(done, extra, false);
}

void Progress::finish(const std::string& extra) { draw(total_, extra, true); }

void Progress::draw(uint64_t done, const std::string& extra, bool final) {
  const double t = seconds();
  const double rate = t > 0 ? done / t : 0;
  const double frac = total_ ? double(done) / total_ : 1.0;
  const double eta = rate > 0 && done < total_ ? (total_ - done) / rate : 0;
  char line[256];
  if (tty_) {
    char bar[31];
    const int filled = int(frac * 30);
    for (int i = 0; i < 30; ++i) bar[i] = i < filled ? '#' : '.';
    bar[30] = 0;
    std::snprintf(line, sizeof line, "\r%s [%s] %5.1f%% %llu/%llu %s, %.0f/s, ETA %.0fs %s",
                  label_.c_str(), bar, 100 * frac, (unsigned long long)done,
                  (unsigned long long)total_, unit_.c_str(), rate, eta, extra.c_str());
    std::fputs(line, stderr);
    if (final) std::fputs("\n", stderr);
  } else {
    std::snprintf(line, sizeof line,
                  "%s: %llu/%llu %s (%.1f%%), %.0f/s, %.1fs elapsed, ETA %.0fs %s\n",
                  label_.c_str(), (unsigned long long)done, (unsigned long long)total_,
                  unit_.c_str(), 100 * frac, rate, t, eta, extra.c_str());
    std::fputs(line, stderr);
  }
  std::fflush(stderr);
}

}  // namespace cpusim
