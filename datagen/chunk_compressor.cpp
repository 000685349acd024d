// datagen/chunk_compressor.cpp: ISA-L's zlib streams (the format of HDF5's deflate filter, read
// back by any zlib) with HDF5's Fletcher-32 appended, made on worker threads.
#include "datagen/chunk_compressor.h"

#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <exception>
#include <string>

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
  static const size_t buf[] = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT};
  if (level < ISAL_DEF_MIN_LEVEL || level > ISAL_DEF_MAX_LEVEL) throw Error("deflate level " + std::to_string(level) + ": expected 0..3");
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
    throw Error("deflate: igzip failed (" + std::to_string(rc) + ")");  // (the bound holds: cannot happen)
  const size_t n = s.total_out;
  const uint32_t sum = hdf5_fletcher32(stored.data(), n);
  for (int i = 0; i < 4; ++i) stored[n + i] = uint8_t(sum >> (8 * i));
  stored.resize(n + 4);
}

ChunkCompressor::ChunkCompressor(unsigned threads, int level) : level_(level) {
  const unsigned n = std::max(1u, threads ? threads : std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { work(); });
}

ChunkCompressor::~ChunkCompressor() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

std::vector<uint8_t> ChunkCompressor::buffer() {
  std::lock_guard lock(mu_);
  if (spare_.empty()) return {};
  std::vector<uint8_t> b = std::move(spare_.back());
  spare_.pop_back();
  b.clear();
  return b;
}

void ChunkCompressor::submit(int tag, uint64_t index, std::vector<uint8_t> raw) {
  std::unique_lock lock(mu_);
  Job& j = jobs_.emplace_back();
  j.tag = tag, j.index = index, j.raw = std::move(raw);
  lock.unlock();
  cv_.notify_all();
}

bool ChunkCompressor::pop(Job& out, bool wait) {
  std::unique_lock lock(mu_);
  if (wait) cv_.wait(lock, [&] { return jobs_.empty() || jobs_.front().done; });
  if (jobs_.empty() || !jobs_.front().done) return false;
  out = std::move(jobs_.front());
  jobs_.pop_front();
  --next_;
  return true;
}

void ChunkCompressor::recycle(Job& job) {
  std::lock_guard lock(mu_);
  if (spare_.size() < 2 * threads_.size() + 2) spare_.push_back(std::move(job.raw));
  job.stored.clear();
}

size_t ChunkCompressor::in_flight() const {
  std::lock_guard lock(mu_);
  return jobs_.size();
}

void ChunkCompressor::work() {
  ChunkCodec codec(level_);
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || next_ < jobs_.size(); });
    if (stop_) return;
    Job& j = jobs_[next_++];  // (a deque keeps references to its other elements valid)
    lock.unlock();
    try {
      codec.encode(j.raw, j.stored);
    } catch (const std::exception& e) {
      j.error = e.what();  // (out of memory: reported by the writer)
    }
    lock.lock();
    j.done = true;
    cv_.notify_all();
  }
}

}  // namespace cpusim::datagen
