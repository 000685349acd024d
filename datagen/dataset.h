// datagen/dataset.h: trace sets on disk. HDF5 (docs/dataset-format.md): one file, groups `train`
// and `test`, each with `bytes` (all traces concatenated), `offsets` (N+1), `steps`, `halted`
// and `program_hash`; root attributes describe the ISA and the generator. The paper's folder
// format: `train/` and `test/` of `<md5>.bin`. Writers go through a temporary name and rename.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "datagen/md5.h"
#include "isa/isa.h"

namespace cpusim::datagen {

inline constexpr const char* kFormatName = "cpusim-trace-set";
inline constexpr int kFormatVersion = 1;
inline const char* const kSplits[2] = {"train", "test"};

// Root attributes of a set.
struct SetInfo {
  isa::Config isa;
  std::string source = "datagen";  // "datagen" or "import"
  uint64_t seed = 0;
  unsigned min_len = 0, max_len = 0;
  double backward_branch = 0;
  // A shard (`datagen --shard K/N`, source "shard"): every candidate of its chunks below
  // `candidates`, in order, in split train with a `candidate` dataset; `dataset merge` makes the
  // set of `want_train` + `want_test` instances from all N.
  unsigned shard = 0, shards = 0;  // shards 0: not a shard
  uint64_t candidates = 0, want_train = 0, want_test = 0;
};

struct SplitInfo {
  uint64_t traces = 0;
  uint64_t bytes = 0;
  uint64_t halted = 0;
  uint64_t duplicates = 0;  // programs dropped because they were already in the set
};

// One trace as the writers take it.
struct TraceRecord {
  std::span<const uint8_t> bytes;
  uint32_t steps;  // instructions fetched: the trace has steps + 1 states
  bool halted;
  Digest program;          // md5 of the program image
  uint64_t candidate = 0;  // its candidate index (written by shards only)
};

class SetWriter {
 public:
  virtual ~SetWriter() = default;
  virtual void add(int split, const TraceRecord& t) = 0;
  virtual void set_duplicates(int split, uint64_t n) = 0;
  // Finishes the file/folder and renames it into place. Without commit() the destructor removes
  // the temporary.
  virtual void commit() = 0;
};

// True once a failed set write left an HDF5 file open that HDF5's teardown at process exit
// would crash on (libhdf5 1.10, after a file size limit refused its last write): the command
// then leaves with _exit() after its message (cli/main.cpp).
bool hdf5_left_open();

// The trace chunks' deflate level (ISA-L's igzip: 0 the fastest .. 3 the smallest files).
inline constexpr int kDeflateLevel = 1;
// threads: compressing threads (0: one per core).
std::unique_ptr<SetWriter> open_h5_writer(const std::filesystem::path& path, const SetInfo& info,
                                          unsigned threads = 0, int level = kDeflateLevel);
// The paper's folders, with cpusim.json at the root (datagen/folder_meta.h); paper_layout: the
// traces added hold the paper's 1024-byte images of info's bgpt machine.
std::unique_ptr<SetWriter> open_bin_writer(const std::filesystem::path& dir, const SetInfo& info,
                                           bool paper_layout = false);

class H5Reader {
 public:
  // Throws cpusim::Error "<path>: ..." for a missing, truncated or foreign file.
  explicit H5Reader(const std::filesystem::path& path);
  ~H5Reader();
  const SetInfo& info() const;
  SplitInfo split_info(int split) const;
  uint64_t size(int split) const;
  // Traces [first, first+count) of a split: their bytes concatenated, and count+1 offsets into
  // them (starting at 0).
  void read(int split, uint64_t first, uint64_t count, std::vector<uint8_t>& bytes,
            std::vector<uint64_t>& offsets) const;
  // Traces [0, n) of a split, read `chunk` traces at a time: fn(first, traces) for each chunk,
  // the spans valid during the call. The one chunked read loop (verify, export, eval use it).
  using ChunkFn =
      std::function<void(uint64_t first, const std::vector<std::span<const uint8_t>>& traces)>;
  void for_each_chunk(int split, uint64_t n, uint64_t chunk, const ChunkFn& fn) const;
  // The same, one trace at a time: fn(index, trace).
  void for_each(int split, uint64_t n,
                const std::function<void(uint64_t, std::span<const uint8_t>)>& fn) const;
  std::vector<uint32_t> steps(int split) const;
  std::vector<uint8_t> halted(int split) const;
  // A shard's candidate indices (SetInfo::shards > 0).
  std::vector<uint64_t> candidates(int split) const;
  std::vector<Digest> program_hashes(int split) const;
  const std::filesystem::path& path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Index of "train" / "test"; throws cpusim::Error for another name.
int split_index(const std::string& name);

}  // namespace cpusim::datagen
