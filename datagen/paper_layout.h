// datagen/paper_layout.h: the paper's file layout for bgpt traces. Its simulator writes the
// whole 1024-byte memory as the image, whatever the program's length; a cpusim bgpt set with a
// smaller memory keeps only that many image bytes. These convert between the two and say when
// the two machines run a program differently (the smaller memory caps the PC lower).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "isa/isa.h"

namespace cpusim::datagen {

inline constexpr size_t kPaperMemory = 1024;

// Throws cpusim::Error "<option>: only for bgpt sets" unless c is a bgpt configuration.
void require_paper_profile(const isa::Config& c, const std::string& option);
// `trace` (c's layout) with its image zero-padded to the paper's 1024 bytes.
std::vector<uint8_t> to_paper_layout(const isa::Config& c, std::span<const uint8_t> trace);
// A paper-layout file's bytes in c's layout; empty, with `why` set, when the program does not
// fit c's memory (a non-zero byte past it) or the file is too short. The states are not checked.
std::vector<uint8_t> from_paper_layout(const isa::Config& c, std::span<const uint8_t> file,
                                       std::string& why);
// Whether the paper's 1024-byte machine runs `trace`'s program (c's layout) through the same
// states: not so when the program reaches c's PC cap (memory / 4 - 1).
bool same_in_paper_machine(const isa::Config& c, std::span<const uint8_t> trace);

}  // namespace cpusim::datagen
