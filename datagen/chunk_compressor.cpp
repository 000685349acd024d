// datagen/chunk_compressor.cpp: libdeflate's zlib streams (the format of HDF5's deflate filter,
// read back by any zlib) with HDF5's Fletcher-32 appended, made on worker threads.
#include "datagen/chunk_compressor.h"

#include <libdeflate.h>

#include <algorithm>
#include <exception>
#include <new>

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

ChunkCodec::ChunkCodec(int level) : c_(libdeflate_alloc_compressor(level)) {
  if (!c_) throw std::bad_alloc();
}
ChunkCodec::~ChunkCodec() { libdeflate_free_compressor(c_); }

void ChunkCodec::encode(const std::vector<uint8_t>& raw, std::vector<uint8_t>& stored) {
  stored.resize(libdeflate_zlib_compress_bound(c_, raw.size()) + 4);
  const size_t n = libdeflate_zlib_compress(c_, raw.data(), raw.size(), stored.data(), stored.size() - 4);
  if (n == 0) throw Error("deflate: the compressed chunk does not fit its bound");  // (cannot happen)
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
