// common/io.cpp: whole-file reads and atomic writes.
#include "common/io.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

namespace cpusim {

namespace fs = std::filesystem;

std::vector<uint8_t> read_file(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(path.string() + ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open: " + std::strerror(errno));
  std::vector<uint8_t> out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path.string() + ": read failed");
  return out;
}

std::string read_text(const fs::path& path) {
  auto bytes = read_file(path);
  return std::string(bytes.begin(), bytes.end());
}

fs::path temp_sibling(const fs::path& path) {
  return fs::path(path.string() + ".tmp-" + std::to_string(::getpid()));
}

void write_file_atomic(const fs::path& path, const void* data, size_t size) {
  const fs::path tmp = temp_sibling(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw Error(path.string() + ": cannot write: " + std::strerror(errno));
  const bool ok = std::fwrite(data, 1, size, f) == size;
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) {
    std::remove(tmp.c_str());
    throw Error(path.string() + ": write failed (disk full?)");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Error(path.string() + ": cannot rename into place: " + ec.message());
  }
}

std::string hex(const uint8_t* p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) s[2 * i] = digits[p[i] >> 4], s[2 * i + 1] = digits[p[i] & 15];
  return s;
}

}  // namespace cpusim
