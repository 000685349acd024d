// datagen/chunk_compressor.cpp: ISA-L's zlib streams (the format of HDF5's deflate filter, read
// back by any zlib) with HDF5's Fletcher-32 appended, made on worker threads.
#include "datagen/chunk_compressor.h"

#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <string>
#include <thread>

#include "common/io.h"

namespace cpusim::datagen {

uint32_t hdf5_fletcher32(const uint8_t* data, size_t n) {
  uint32_t a = 0, b = 0;
  size_t words = n / 2;
  while (words) {
    const size_t run = std::min<size_t>(words, 360);  // the sums cannot overflow in 360 words
    words -= run;
    for (size_t i = 0; i < run; ++i, data += 2) {
      a += uint32_t(data[0]) << 8 | data[1];
      b += a;
    }
    a = (a & 0xffff) + (a >> 16);
    b = (b & 0xffff) + (b >> 16);
  }
  if (n % 2) {
    a += uint32_t(*data) << 8;
    b += a;
    a = (a & 0xffff) + (a >> 16);
    b = (b & 0xffff) + (b >> 16);
  }
  a = (a & 0xffff) + (a >> 16);
  b = (b & 0xffff) + (b >> 16);
  return b << 16 | a;
}

ChunkCodec::ChunkCodec(int level) : level_(level) {
  static const size_t buf[] = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT,
                               ISAL_DEF_LVL3_DEFAULT};
  if (level < ISAL_DEF_MIN_LEVEL || level > ISAL_DEF_MAX_LEVEL)
    throw Error("deflate level " + std::to_string(level) + ": expected 0..3");
  level_buf_.resize(buf[level]);
}

void ChunkCodec::encode(const std::vector<uint8_t>& raw, std::vector<uint8_t>& stored) {
  // igzip's bound for one shot: the input in stored blocks (5 bytes a 64 KiB block), the zlib
  // header and trailer; then the checksum.
  stored.resize(raw.size() + 5 * (raw.size() / 65535 + 1) + 64 + 4);
  isal_zstream s;
  isal_deflate_stateless_init(&s);
  s.level = uint32_t(level_);
  s.level_buf = level_buf_.empty() ? nullptr : level_buf_.data();
  s.level_buf_size = uint32_t(level_buf_.size());
  s.gzip_flag = IGZIP_ZLIB;
  s.flush = NO_FLUSH;
  s.end_of_stream = 1;
  s.next_in = const_cast<uint8_t*>(raw.data());
  s.avail_in = uint32_t(raw.size());
  s.next_out = stored.data();
  s.avail_out = uint32_t(stored.size() - 4);
  if (const int rc = isal_deflate_stateless(&s); rc != COMP_OK)
    throw Error("deflate: igzip failed (" + std::to_string(rc) +
                ")");  // (the bound holds: cannot happen)
  const size_t n = s.total_out;
  const uint32_t sum = hdf5_fletcher32(stored.data(), n);
  for (int i = 0; i < 4; ++i) stored[n + i] = uint8_t(sum >> (8 * i));
  stored.resize(n + 4);
}

namespace {
unsigned or_cores(unsigned threads) {
  return std::max(1u, threads ? threads : std::thread::hardware_concurrency());
}
}  // namespace

ChunkCompressor::ChunkCompressor(unsigned threads, int level)
    : pool_(
          or_cores(threads),
          /*window=*/or_cores(threads) + 2,  // (the window bounds only the spare buffers here)
          [level]() -> OrderedPool<Job>::Work {
            auto codec = std::make_shared<ChunkCodec>(level);  // one per worker
            return [codec](Job& j, uint64_t) {
              try {
                codec->encode(j.raw, j.stored);
              } catch (const std::exception& e) {
                j.error = e.what();  // (out of memory: reported by the writer)
              }
            };
          },
          /*self_feeding=*/false) {}

// Both buffers of a chunk are kept for the next one: a new megabyte for every chunk would be
// fresh pages from the kernel each time (a tenth of datagen's time went to those page faults).
static std::vector<uint8_t> take(std::vector<std::vector<uint8_t>>& spares) {
  if (spares.empty()) return {};
  std::vector<uint8_t> b = std::move(spares.back());
  spares.pop_back();
  b.clear();
  return b;
}

static void keep(std::vector<std::vector<uint8_t>>& spares, std::vector<uint8_t>&& b, size_t most) {
  if (b.capacity() && spares.size() < most) spares.push_back(std::move(b));
}

std::vector<uint8_t> ChunkCompressor::buffer() {
  std::lock_guard lock(mu_);
  return take(raw_spares_);
}

void ChunkCompressor::submit(int tag, uint64_t index, std::vector<uint8_t> raw) {
  Job j;
  j.tag = tag, j.index = index, j.raw = std::move(raw);
  {
    std::lock_guard lock(mu_);
    j.stored = take(stored_spares_);
  }
  pool_.queue(std::move(j));
}

void ChunkCompressor::recycle(Job& job) {
  std::lock_guard lock(mu_);
  keep(raw_spares_, std::move(job.raw), kSpares);
  keep(stored_spares_, std::move(job.stored), kSpares);
}

}  // namespace cpusim::datagen
