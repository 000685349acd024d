// common/ordered_pool.h: the one worker pool: jobs done on worker threads and handed back to
// one consumer strictly in the order they were queued. datagen uses it twice: candidates
// generated ahead of the set writer (the workers queue their own jobs, sequence 0, 1, 2, ...)
// and chunks compressed behind it (the writer queues them). Header-only; no torch.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cpusim {

template <class Job>
class OrderedPool {
 public:
  // Runs on a worker: the job and its sequence number (0 for the first queued).
  using Work = std::function<void(Job& job, uint64_t seq)>;

  // `threads` workers (at least 1), each with the Work that `make_work` returns for it (so a
  // worker can hold state of its own, such as a codec). `self_feeding`: the workers queue jobs
  // themselves (from spare(): a recycled one or a new one) while fewer than `window` wait for
  // the consumer; otherwise the consumer queue()s them and bounds how many are in flight.
  OrderedPool(unsigned threads, size_t window, const std::function<Work()>& make_work,
              bool self_feeding)
      : window_(window), self_feeding_(self_feeding) {
    for (unsigned i = 0; i < std::max(1u, threads); ++i)
      threads_.emplace_back([this, w = make_work()] { run(w); });
  }
  // Stops and joins the workers; jobs not handed back are dropped.
  ~OrderedPool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  OrderedPool(const OrderedPool&) = delete;
  OrderedPool& operator=(const OrderedPool&) = delete;

  void queue(Job job) {
    {
      std::lock_guard lock(mu_);
      slots_.push_back(Slot{std::move(job), seq_++, false});
    }
    cv_.notify_all();
  }
  // The oldest job once it is done (`wait`) or if it is done: false when none is queued (and the
  // pool does not feed itself) or, without `wait`, the oldest is not done yet.
  bool pop(Job& out, bool wait) {
    std::unique_lock lock(mu_);
    auto ready = [&] { return !slots_.empty() && slots_.front().done; };
    if (wait) cv_.wait(lock, [&] { return ready() || (slots_.empty() && !self_feeding_); });
    if (!ready()) return false;
    out = std::move(slots_.front().job);
    slots_.pop_front();
    --next_;
    lock.unlock();
    cv_.notify_all();  // a place in the window is free
    return true;
  }
  // A job handed back for its buffers to be used again (up to `window` + threads are kept).
  void recycle(Job job) {
    std::lock_guard lock(mu_);
    if (spares_.size() < window_ + threads_.size()) spares_.push_back(std::move(job));
  }
  // A recycled job (its buffers' capacity kept) or a new one.
  Job spare() {
    std::lock_guard lock(mu_);
    return take_spare();
  }
  // Jobs queued and not yet handed back.
  size_t size() const {
    std::lock_guard lock(mu_);
    return slots_.size();
  }

 private:
  struct Slot {
    Job job;
    uint64_t seq = 0;
    bool done = false;
  };
  Job take_spare() {
    if (spares_.empty()) return Job{};
    Job j = std::move(spares_.back());
    spares_.pop_back();
    return j;
  }
  void run(const Work& work) {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] {
        return stop_ || next_ < slots_.size() || (self_feeding_ && slots_.size() < window_);
      });
      if (stop_) return;
      if (next_ == slots_.size()) slots_.push_back(Slot{take_spare(), seq_++, false});
      Slot& s = slots_[next_++];  // (a deque keeps references to its other elements valid)
      lock.unlock();
      work(s.job, s.seq);
      lock.lock();
      s.done = true;
      cv_.notify_all();
    }
  }

  const size_t window_;
  const bool self_feeding_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Slot> slots_;  // queued, in order; slots_[next_] is the first no worker has taken
  size_t next_ = 0;
  uint64_t seq_ = 0;
  std::vector<Job> spares_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cpusim
