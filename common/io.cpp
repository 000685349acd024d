// common/io.cpp: whole-file reads and atomic writes.
#include "common/io.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

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

void remove_stale_temps(const fs::path& path) {
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  const std::string prefix = path.filename().string() + ".tmp-";
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    const pid_t pid = pid_t(std::stol(digits));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // ours, or alive
    std::error_code rm;
    fs::remove_all(it->path(), rm);
  }
}

namespace {

void fsync_path(const fs::path& p, bool directory) {
  const int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw Error(p.string() + ": cannot open to sync: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL && err != EROFS)  // (some filesystems cannot sync folders)
    throw Error(p.string() + ": sync failed (disk full or failing?): " + std::strerror(err));
}

}  // namespace

fs::path temp_sibling(const fs::path& path) {
  remove_stale_temps(path);
  return fs::path(path.string() + ".tmp-" + std::to_string(::getpid()));
}

void durable_rename(const fs::path& tmp, const fs::path& path) {
  std::error_code ec;
  try {
    if (fs::is_directory(tmp, ec)) {  // a folder of many files: one syncfs for all of them
      const int fd = ::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      const int rc = fd >= 0 ? ::syncfs(fd) : -1;
      const int err = errno;
      if (fd >= 0) ::close(fd);
      if (rc != 0) throw Error(path.string() + ": sync failed: " + std::strerror(err));
    } else {
      fsync_path(tmp, false);
    }
  } catch (const Error&) {
    fs::remove_all(tmp, ec);
    throw;
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code rm;
    fs::remove_all(tmp, rm);
    throw Error(path.string() + ": cannot rename into place: " + ec.message());
  }
  fsync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path(), true);
}

FolderLock::FolderLock(const fs::path& dir, const std::string& what) {
  if (dir.empty()) return;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create " + what + ": " + ec.message());
  fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) throw Error(dir.string() + ": cannot open " + what + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw Error(dir.string() + ": another cpusim process is writing this " + what +
                  " (it holds the folder's lock); wait for it or choose another output");
    throw Error(dir.string() + ": cannot lock " + what + ": " + std::strerror(err));
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

void require_writable(const fs::path& path) {
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(path.string() + ": cannot create its folder: " + ec.message());
  // access(W_OK) says yes to root on a read-only mount; a real file says it for everyone.
  const fs::path probe = dir / (".cpusim-probe-" + std::to_string(::getpid()));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err != EEXIST)
      throw Error(path.string() + ": cannot write in " + dir.string() + ": " + std::strerror(err));
  } else {
    ::close(fd);
  }
  fs::remove(probe, ec);
}

void write_file(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw Error(path.string() + ": cannot write: " + std::strerror(errno));
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const int err = errno;
  if (std::fclose(f) != 0 || !ok) {
    std::remove(path.c_str());
    throw Error(path.string() + ": write failed (disk full?): " + std::strerror(ok ? errno : err));
  }
}

void write_file_atomic(const fs::path& path, const void* data, size_t size) {
  const fs::path tmp = temp_sibling(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw Error(path.string() + ": cannot write: " + std::strerror(errno));
  const bool ok =
      std::fwrite(data, 1, size, f) == size && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  const int err = errno;
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) {
    std::remove(tmp.c_str());
    throw Error(path.string() + ": write failed (disk full?): " + std::strerror(ok ? errno : err));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Error(path.string() + ": cannot rename into place: " + ec.message());
  }
  fsync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path(), true);
}

std::string hex(const uint8_t* p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) s[2 * i] = digits[p[i] >> 4], s[2 * i + 1] = digits[p[i] & 15];
  return s;
}

void keep_freed_memory() {
#ifdef __GLIBC__
  // Measured: a quarter of a CPU rollout's time in the kernel's page faults without it (the
  // draft decoder's rollouts 625 -> 850 states/s on one thread); datagen 120 k -> 35 k page
  // faults for 404,000 instances, ~15% more instances/s.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
#endif
}

}  // namespace cpusim
