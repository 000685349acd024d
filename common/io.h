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

// Writes `bytes` to `path` directly: for files inside a temporary folder that is renamed into
// place as a whole (durable_rename). Throws Error naming `path`; a partial file is removed.
void write_file(const std::filesystem::path& path, const std::vector<uint8_t>& bytes);

// A temporary sibling of `path` (`path.tmp-<pid>`) that write_file_atomic-style writers rename
// into place. The temporaries of `path` that dead processes left (a killed run's) are removed
// first, so a rerun into the same path starts clean; a live process's are left alone.
std::filesystem::path temp_sibling(const std::filesystem::path& path);
// Removes the `path.tmp-<pid>` siblings whose process is gone.
void remove_stale_temps(const std::filesystem::path& path);

// Renames `tmp` (a file or a folder, complete) to `path` so that it survives a crash once this
// returns: the data reaches the disk first (fsync of the file, or syncfs of the folder's
// filesystem), then the rename, then the parent folder's entry (fsync of the folder). Throws
// Error naming `path`; `tmp` is removed on failure.
void durable_rename(const std::filesystem::path& tmp, const std::filesystem::path& path);

// An exclusive lock on a folder that a command fills over time (a training run, a pipeline, a
// report), so two processes never mix their files there: the second one is refused at once.
// Creates the folder. Held until destroyed (and released by the kernel if the process dies).
// An empty path takes no lock.
class FolderLock {
 public:
  FolderLock(const std::filesystem::path& dir, const std::string& what);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

// Refuses (Error naming `path`) an output whose folder cannot be written: a read-only
// filesystem or folder, before any work is done. `path`'s parent is created if missing.
void require_writable(const std::filesystem::path& path);

// Has the C library keep freed memory for the next allocation instead of handing it back to the
// system (glibc's mallopt; nothing elsewhere): blocks up to 32 MiB come from the heap rather than
// from fresh mmaps, and freed memory stays in the process. For the hot loops whose buffers come
// and go (prediction's short-lived tensors, datagen's chunks), which otherwise page-fault anew
// at every call. Process-wide: the commands call it, not the libraries.
void keep_freed_memory();

}  // namespace cpusim
