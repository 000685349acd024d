// datagen/paper_layout.cpp: conversions between cpusim's and the paper's bgpt file layouts.
#include "datagen/paper_layout.h"

#include <algorithm>

#include "common/io.h"
#include "datagen/validate.h"

namespace cpusim::datagen {

void require_paper_profile(const isa::Config& c, const std::string& option) {
  if (c.profile != isa::Profile::bgpt)
    throw Error(option + ": only for bgpt sets (the paper's CPU)");
}

std::vector<uint8_t> to_paper_layout(const isa::Config& c, std::span<const uint8_t> trace) {
  const size_t ib = isa::image_bytes(c);
  std::vector<uint8_t> out(trace.begin(),
                           trace.begin() + std::ptrdiff_t(std::min(ib, trace.size())));
  out.resize(std::max(ib, kPaperMemory), 0);
  if (trace.size() > ib) out.insert(out.end(), trace.begin() + std::ptrdiff_t(ib), trace.end());
  return out;
}

std::vector<uint8_t> from_paper_layout(const isa::Config& c, std::span<const uint8_t> file,
                                       std::string& why) {
  const size_t ib = isa::image_bytes(c);
  if (file.size() < kPaperMemory + isa::state_bytes(c)) {
    why = "too short (" + std::to_string(file.size()) +
          " bytes) for the paper's 1024-byte image and a first state";
    return {};
  }
  for (size_t i = ib; i < kPaperMemory; ++i)
    if (file[i] != 0) {
      why = "its program does not fit a " + std::to_string(ib) + "-byte memory (byte " +
            std::to_string(i) + " of its image is not zero)";
      return {};
    }
  std::vector<uint8_t> out(file.begin(), file.begin() + std::ptrdiff_t(ib));
  out.insert(out.end(), file.begin() + std::ptrdiff_t(kPaperMemory), file.end());
  return out;
}

bool same_in_paper_machine(const isa::Config& c, std::span<const uint8_t> trace) {
  if (isa::image_bytes(c) >= kPaperMemory) return true;
  isa::Config paper = c;
  paper.memory_size = unsigned(kPaperMemory);
  return recheck(paper, to_paper_layout(c, trace)).ok();
}

}  // namespace cpusim::datagen
