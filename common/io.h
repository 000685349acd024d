// common/io.h: the project's error type and whole-file I/O. Writes are atomic (a temporary
// name in the same folder, then rename), so an interrupted command never leaves a file that
// looks complete. Not a streaming layer: datasets stream through datagen/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace cpusim {

// An error meant for the user: one line, naming the file and the problem.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::vector<uint8_t> read_file(const std::filesystem::path& path);

// Lower-case hex of n bytes, two digits each ("00ff10").
std::string hex(const uint8_t* p, size_t n);
std::string read_text(const std::filesystem::path& path);

// Writes `bytes` to `path` through `path.tmp-<pid>` and a rename.
void write_file_atomic(const std::filesystem::path& path, const void* data, size_t size);
inline void write_file_atomic(const std::filesystem::path& path, const std::vector<uint8_t>& b) {
  write_file_atomic(path, b.data(), b.size());
}
inline void write_file_atomic(const std::filesystem::path& path, const std::string& s) {
  write_file_atomic(path, s.data(), s.size());
}

// A temporary sibling of `path` that write_file_atomic-style writers rename into place.
std::filesystem::path temp_sibling(const std::filesystem::path& path);

}  // namespace cpusim
