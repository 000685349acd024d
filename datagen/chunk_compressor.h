// datagen/chunk_compressor.h: the trace bytes of a set, compressed a chunk at a time on worker
// threads into exactly what HDF5's filter pipeline (deflate, then Fletcher-32) would store, so
// the writer hands them to the file as they are (H5Dwrite_chunk) instead of compressing them
// all on its own thread. The chunks come back in the order they went in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "common/ordered_pool.h"

namespace cpusim::datagen {

// HDF5's Fletcher-32 checksum (its H5Z_FILTER_FLETCHER32 filter: the data as big-endian 16-bit
// words, an odd last byte as the high half of a word).
uint32_t hdf5_fletcher32(const uint8_t* data, size_t n);

// What HDF5 stores for `raw` under deflate (a zlib stream, any zlib inflates it) then Fletcher-32
// (the checksum of the compressed bytes appended, little-endian). The deflate is ISA-L's igzip
// at its `level` (0..3: 0 the fastest, 3 the smallest). One codec per thread.
class ChunkCodec {
 public:
  explicit ChunkCodec(int level);
  void encode(const std::vector<uint8_t>& raw, std::vector<uint8_t>& stored);

 private:
  int level_;
  std::vector<uint8_t> level_buf_;  // igzip's working memory for levels above 0
};

class ChunkCompressor {
 public:
  struct Job {
    int tag = 0;         // the caller's (which dataset)
    uint64_t index = 0;  // the caller's (which chunk)
    std::vector<uint8_t> raw, stored;
    std::string error;  // when compressing failed
  };
  // threads 0: one per core. The caller bounds the chunks in flight (pop() them).
  ChunkCompressor(unsigned threads, int level);
  // An empty buffer to fill (a recycled one when there is one).
  std::vector<uint8_t> buffer();
  // Queues a chunk.
  void submit(int tag, uint64_t index, std::vector<uint8_t> raw);
  // The oldest chunk if it is compressed (or, with wait, once it is); false when none is in
  // flight or (without wait) the oldest is not done. Hand it back with recycle().
  bool pop(Job& out, bool wait) { return pool_.pop(out, wait); }
  void recycle(Job& job);
  size_t in_flight() const { return pool_.size(); }

 private:
  static constexpr size_t kSpares = 8;  // buffers of each kind kept for reuse, at most
  OrderedPool<Job> pool_;
  std::mutex mu_;
  std::vector<std::vector<uint8_t>> raw_spares_, stored_spares_;
};

}  // namespace cpusim::datagen
