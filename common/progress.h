// common/progress.h: a progress display on stderr: a bar with rate and ETA on a terminal, a plain
// line every few seconds otherwise (logs, CI). Call update() as often as you like.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace cpusim {

class Progress {
 public:
  Progress(std::string label, uint64_t total, std::string unit = "items");
  void update(uint64_t done, const std::string& extra = "");
  void finish(const std::string& extra = "");
  double seconds() const;

 private:
  void draw(uint64_t done, const std::string& extra, bool final);
  std::string label_, unit_;
  uint64_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace cpusim
