// datagen/generate.cpp: the ordered parallel pipeline. Workers fill chunks of consecutive
// candidate indices; the calling thread consumes chunks strictly in index order, dedupes and
// writes. At most kInFlight chunks exist at once, so memory stays bounded.
#include "datagen/generate.h"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "common/io.h"
#include "common/progress.h"
#include "emulator/emulator.h"

namespace cpusim::datagen {

namespace {

constexpr uint64_t kChunk = 512;  // candidates per chunk

struct Chunk {
  uint64_t index = ~0ull;  // which chunk this slot holds
  bool ready = false;
  std::vector<uint8_t> bytes;
  std::vector<uint64_t> offsets;  // kChunk + 1
  std::vector<uint32_t> steps;
  std::vector<uint8_t> halted;
  std::vector<Digest> hashes;
  std::string error;
};

struct DigestHash {
  size_t operator()(const Digest& d) const {
    size_t h;
    std::memcpy(&h, d.data(), sizeof h);
    return h;
  }
};

void fill(const DatagenConfig& c, uint64_t chunk, Chunk& out) {
  out.bytes.clear();
  out.offsets.assign(1, 0);
  out.steps.clear();
  out.halted.clear();
  out.hashes.clear();
  out.error.clear();
  Instance inst;
  const size_t sb = isa::state_bytes(c.gen.isa);
  const uint32_t limit = isa::step_limit(c.gen.isa);
  std::vector<uint8_t> state;
  for (uint64_t i = chunk * kChunk; i < (chunk + 1) * kChunk; ++i) {
    Rng rng = Rng::for_item(c.seed, i);
    random_instance(c.gen, rng, inst);
    out.bytes.insert(out.bytes.end(), inst.image.begin(), inst.image.end());
    state = inst.init;
    auto sink = [&out, sb](const uint8_t* s) { out.bytes.insert(out.bytes.end(), s, s + sb); };
    const emu::Outcome o = c.gen.isa.profile == isa::Profile::bgpt
                               ? emu::bgpt::run(inst.image, state.data(), limit, sink)
                               : emu::toy::run(inst.image, state.data(), c.gen.isa.memory_size, limit, sink);
    if (o.stop == emu::Stop::fault) {
      out.error = "generated program " + std::to_string(i) + " faulted: " + emu::describe_fault(c.gen.isa.profile, o);
      return;
    }
    out.offsets.push_back(out.bytes.size());
    out.steps.push_back(o.steps);
    out.halted.push_back(o.stop == emu::Stop::halted);
    out.hashes.push_back(md5(inst.image));
  }
}

// Workers fill chunks of consecutive candidates ahead of the consumer, at most `in_flight` at
// once; the consumer takes them strictly in order. The destructor stops and joins the workers.
class ChunkPool {
 public:
  ChunkPool(const DatagenConfig& c, unsigned jobs) : c_(c), in_flight_(4 * jobs + 2), slots_(in_flight_) {
    for (unsigned j = 0; j < jobs; ++j) threads_.emplace_back([this] { work(); });
  }
  ~ChunkPool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  // The next chunk in order, once a worker has filled it.
  const Chunk& next() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] {
      const Chunk& s = slots_[consumed_ % in_flight_];
      return s.ready && s.index == consumed_;
    });
    return slots_[consumed_ % in_flight_];
  }
  // Hands the chunk next() returned back to the workers.
  void release() {
    {
      std::lock_guard lock(mu_);
      slots_[consumed_ % in_flight_].ready = false;
      ++consumed_;
    }
    cv_.notify_all();
  }

 private:
  void work() {
    for (;;) {
      uint64_t mine;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || next_chunk_ < consumed_ + in_flight_; });
        if (stop_) return;
        mine = next_chunk_++;
      }
      Chunk& slot = slots_[mine % in_flight_];
      fill(c_, mine, slot);
      {
        std::lock_guard lock(mu_);
        slot.index = mine;
        slot.ready = true;
      }
      cv_.notify_all();
    }
  }

  const DatagenConfig& c_;
  const size_t in_flight_;
  std::vector<Chunk> slots_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_chunk_ = 0, consumed_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

DatagenStats generate(const DatagenConfig& c, SetWriter& out) {
  validate(c.gen);
  const uint64_t want[2] = {c.train, c.test};
  const uint64_t total = c.train + c.test;
  // Give up when duplicates make the requested size unreachable (short programs).
  const uint64_t max_candidates = 20 * total + 1000000;
  DatagenStats st;
  Progress progress("datagen", total, "instances");
  std::unordered_set<Digest, DigestHash> seen;
  seen.reserve(total);
  uint64_t done = 0;
  int split = want[0] ? 0 : 1;
  {
    ChunkPool pool(c, std::max(1u, c.jobs));
    while (done < total) {
      const Chunk& chunk = pool.next();
      if (!chunk.error.empty()) throw Error(chunk.error);
      for (size_t k = 0; k < chunk.steps.size() && done < total; ++k) {
        ++st.candidates;
        if (!seen.insert(chunk.hashes[k]).second) {
          ++st.duplicates[split];
          continue;
        }
        const auto bytes = std::span<const uint8_t>(chunk.bytes).subspan(chunk.offsets[k], chunk.offsets[k + 1] - chunk.offsets[k]);
        out.add(split, TraceRecord{bytes, chunk.steps[k], chunk.halted[k] != 0, chunk.hashes[k]});
        ++st.traces[split];
        st.halted[split] += chunk.halted[k];
        st.bytes += bytes.size();
        st.instructions += chunk.steps[k];
        ++done;
        if (st.traces[split] == want[split]) split = 1;
      }
      if (st.candidates >= max_candidates && done < total)
        throw Error("found only " + std::to_string(done) + " distinct programs in " + std::to_string(st.candidates) +
                    " candidates; widen --min-len/--max-len or ask for fewer instances");
      pool.release();
      if (c.progress) progress.update(done);
    }
  }
  out.set_duplicates(0, st.duplicates[0]);
  out.set_duplicates(1, st.duplicates[1]);
  if (c.progress) progress.finish();
  st.seconds = progress.seconds();
  return st;
}

SetInfo set_info(const DatagenConfig& c) {
  SetInfo info;
  info.isa = c.gen.isa;
  info.seed = c.seed;
  info.min_len = c.gen.min_len;
  info.max_len = max_len(c.gen);
  info.backward_branch = c.gen.isa.profile == isa::Profile::toy ? c.gen.backward_branch : 0;
  return info;
}

namespace {

uint64_t path_size(const std::filesystem::path& p) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(p, ec)) return std::filesystem::file_size(p, ec);
  uint64_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(p, ec))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

}  // namespace

SetSummary make_set(const DatagenConfig& c, const std::string& format, const std::string& path) {
  std::unique_ptr<SetWriter> writer;
  if (format == "h5") writer = open_h5_writer(path, set_info(c));
  else if (format == "bin") writer = open_bin_writer(path, set_info(c));
  else throw Error("--format " + format + ": expected h5 or bin");
  SetSummary s;
  s.stats = generate(c, *writer);
  writer->commit();
  s.file_bytes = path_size(path);
  return s;
}

}  // namespace cpusim::datagen
