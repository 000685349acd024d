// datagen/generate.cpp: the ordered parallel pipeline. Workers fill chunks of consecutive
// candidate indices; the calling thread consumes chunks strictly in index order, dedupes and
// writes. At most kInFlight chunks exist at once, so memory stays bounded.
#include "datagen/generate.h"

#include <atomic>
#include <filesystem>
#include <thread>
#include <unordered_set>

#include "common/io.h"
#include "common/ordered_pool.h"
#include "common/progress.h"
#include "emulator/emulator.h"

namespace cpusim::datagen {

namespace {

constexpr uint64_t kChunk = 512;  // candidates per chunk

// An allocator whose resize() leaves the new elements uninitialised: fill() makes room for the
// longest trace, writes the trace straight into it, then shrinks the buffer to what it wrote.
template <class T>
struct Uninitialised : std::allocator<T> {
  using value_type = T;
  template <class U>
  struct rebind {
    using other = Uninitialised<U>;
  };
  Uninitialised() = default;
  template <class U>
  Uninitialised(const Uninitialised<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... A>
  void construct(U* p, A&&... a) {
    ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
  }
};

struct Chunk {
  std::vector<uint8_t, Uninitialised<uint8_t>> bytes;
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
    // Room for the image and the longest trace (the initial state and one per step).
    const size_t at = out.bytes.size();
    out.bytes.resize(at + inst.image.size() + (size_t(limit) + 1) * sb);
    uint8_t* w = out.bytes.data() + at;
    std::memcpy(w, inst.image.data(), inst.image.size());
    w += inst.image.size();
    state = inst.init;
    auto sink = [&w, sb](const uint8_t* s) {
      if (sb == 16)
        std::memcpy(w, s, 16);  // (bgpt's states: a copy the compiler inlines)
      else
        std::memcpy(w, s, sb);
      w += sb;
    };
    const emu::Outcome o =
        c.gen.isa.profile == isa::Profile::bgpt
            ? emu::bgpt::run(inst.image, state.data(), limit, sink)
            : emu::toy::run(inst.image, state.data(), c.gen.isa.memory_size, limit, sink);
    out.bytes.resize(size_t(w - out.bytes.data()));
    if (o.stop == emu::Stop::fault) {
      out.error = "generated program " + std::to_string(i) +
                  " faulted: " + emu::describe_fault(c.gen.isa.profile, o);
      return;
    }
    out.offsets.push_back(out.bytes.size());
    out.steps.push_back(o.steps);
    out.halted.push_back(o.stop == emu::Stop::halted);
    out.hashes.push_back(md5(inst.image));
  }
}

// Chunks first, first + stride, first + 2 stride, ... (a shard's) of candidates, filled by
// `jobs` workers ahead of the consumer, at most 4 per worker (+2) waiting, handed back in order.
class ChunkPool {
 public:
  ChunkPool(const DatagenConfig& c, unsigned jobs, uint64_t first = 0, uint64_t stride = 1)
      : pool_(
            jobs, 4 * jobs + 2,
            [&c, first, stride]() -> OrderedPool<Chunk>::Work {
              return
                  [&c, first, stride](Chunk& ch, uint64_t k) { fill(c, first + k * stride, ch); };
            },
            /*self_feeding=*/true) {}
  // The next chunk in order, once a worker has filled it; valid until release().
  const Chunk& next() {
    pool_.pop(cur_, /*wait=*/true);
    return cur_;
  }
  // Hands the chunk next() returned back to the workers (its buffers are filled again).
  void release() { pool_.recycle(std::move(cur_)); }

 private:
  OrderedPool<Chunk> pool_;
  Chunk cur_;
};

}  // namespace

namespace {

// The set's order: candidates taken in index order, a program already in the set dropped and
// counted, the first `train` distinct ones to train and the next `test` to test. generate() and
// merge_shards() both feed it, so a merged set is the one-machine set.
class SetFiller {
 public:
  SetFiller(SetWriter& out, uint64_t train, uint64_t test, DatagenStats& st)
      : out_(out), want_{train, test}, st_(st), split_(train ? 0 : 1) {
    seen_.reserve(train + test);
  }
  uint64_t done() const { return done_; }
  bool full() const { return done_ == want_[0] + want_[1]; }
  void take(const TraceRecord& t) {
    ++st_.candidates;
    if (!seen_.insert(t.program).second) {
      ++st_.duplicates[split_];
      return;
    }
    out_.add(split_, t);
    ++st_.traces[split_];
    st_.halted[split_] += t.halted;
    st_.bytes += t.bytes.size();
    st_.instructions += t.steps;
    ++done_;
    if (st_.traces[split_] == want_[split_]) split_ = 1;
  }
  void finish() {
    out_.set_duplicates(0, st_.duplicates[0]);
    out_.set_duplicates(1, st_.duplicates[1]);
  }

 private:
  SetWriter& out_;
  const uint64_t want_[2];
  DatagenStats& st_;
  std::unordered_set<Digest, DigestHash> seen_;
  uint64_t done_ = 0;
  int split_;
};

}  // namespace

static uint64_t shard_bound(const DatagenConfig& c) {
  const uint64_t total = c.train + c.test;
  const uint64_t want = c.candidates ? c.candidates : total + total / 4 + 4096;
  return (want + kChunk - 1) / kChunk * kChunk;
}

// A shard: its chunks' candidates below the bound, all of them, in order, into split train.
static DatagenStats generate_shard(const DatagenConfig& c, SetWriter& out) {
  const uint64_t bound = shard_bound(c), chunks = bound / kChunk;
  const uint64_t mine = chunks > c.shard ? (chunks - c.shard + c.shards - 1) / c.shards : 0;
  DatagenStats st;
  Progress progress("datagen shard", mine * kChunk, "candidates");
  ChunkPool pool(c, std::max(1u, c.jobs), c.shard, c.shards);
  for (uint64_t k = 0; k < mine; ++k) {
    const Chunk& chunk = pool.next();
    if (!chunk.error.empty()) throw Error(chunk.error);
    const uint64_t base = (c.shard + k * c.shards) * kChunk;
    for (size_t j = 0; j < chunk.steps.size(); ++j) {
      const auto bytes = std::span<const uint8_t>(chunk.bytes)
                             .subspan(chunk.offsets[j], chunk.offsets[j + 1] - chunk.offsets[j]);
      TraceRecord t{bytes, chunk.steps[j], chunk.halted[j] != 0, chunk.hashes[j]};
      t.candidate = base + j;
      out.add(0, t);
      ++st.candidates, ++st.traces[0];
      st.halted[0] += chunk.halted[j];
      st.bytes += bytes.size();
      st.instructions += chunk.steps[j];
    }
    pool.release();
    if (c.progress) progress.update(st.candidates);
  }
  if (c.progress) progress.finish();
  st.seconds = progress.seconds();
  return st;
}

DatagenStats generate(const DatagenConfig& c, SetWriter& out) {
  validate(c.gen);
  if (c.shards > 1) return generate_shard(c, out);
  const uint64_t total = c.train + c.test;
  // Give up when duplicates make the requested size unreachable (short programs).
  const uint64_t max_candidates = 20 * total + 1000000;
  DatagenStats st;
  Progress progress("datagen", total, "instances");
  SetFiller filler(out, c.train, c.test, st);
  {
    ChunkPool pool(c, std::max(1u, c.jobs));
    while (!filler.full()) {
      const Chunk& chunk = pool.next();
      if (!chunk.error.empty()) throw Error(chunk.error);
      for (size_t k = 0; k < chunk.steps.size() && !filler.full(); ++k) {
        const auto bytes = std::span<const uint8_t>(chunk.bytes)
                               .subspan(chunk.offsets[k], chunk.offsets[k + 1] - chunk.offsets[k]);
        filler.take(TraceRecord{bytes, chunk.steps[k], chunk.halted[k] != 0, chunk.hashes[k]});
      }
      const uint64_t done = filler.done();
      if (st.candidates >= max_candidates && done < total)
        throw Error("found only " + std::to_string(done) + " distinct programs in " +
                    std::to_string(st.candidates) +
                    " candidates; widen --min-len/--max-len or ask for fewer instances");
      pool.release();
      if (c.progress) progress.update(done);
    }
  }
  filler.finish();
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
  if (c.shards > 1) {
    info.source = "shard";
    info.shard = c.shard, info.shards = c.shards;
    info.candidates = shard_bound(c), info.want_train = c.train, info.want_test = c.test;
  }
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
  if (c.shards > 1 && format != "h5")
    throw Error("--shard: shards are HDF5 files (merge them, then export)");
  if (c.shards < 1 || c.shard >= c.shards)
    throw Error("--shard " + std::to_string(c.shard) + "/" + std::to_string(c.shards) +
                ": expected K/N with 0 <= K < N");
  std::unique_ptr<SetWriter> writer;
  if (format == "h5")
    writer = open_h5_writer(path, set_info(c), std::max(1u, c.jobs), c.deflate_level);
  else if (format == "bin")
    writer = open_bin_writer(path, set_info(c));
  else
    throw Error("--format " + format + ": expected h5 or bin");
  SetSummary s;
  s.stats = generate(c, *writer);
  writer->commit();
  s.file_bytes = path_size(path);
  return s;
}

namespace {

// One shard's traces in candidate order, read in blocks.
class ShardCursor {
 public:
  explicit ShardCursor(const std::string& path)
      : r_(path),
        cand_(r_.candidates(0)),
        steps_(r_.steps(0)),
        halted_(r_.halted(0)),
        hashes_(r_.program_hashes(0)) {}
  const SetInfo& info() const { return r_.info(); }
  const std::string path() const { return r_.path().string(); }
  bool more() const { return i_ < cand_.size(); }
  uint64_t candidate() const { return cand_[i_]; }
  TraceRecord record() {
    if (i_ < first_ || i_ >= first_ + offs_.size() - 1) {  // the next block
      first_ = i_;
      r_.read(0, first_, std::min<uint64_t>(4096, cand_.size() - first_), bytes_, offs_);
    }
    const uint64_t k = i_ - first_;
    TraceRecord t{std::span<const uint8_t>(bytes_).subspan(offs_[k], offs_[k + 1] - offs_[k]),
                  steps_[i_], halted_[i_] != 0, hashes_[i_]};
    t.candidate = cand_[i_];
    return t;
  }
  void next() { ++i_; }

 private:
  H5Reader r_;
  std::vector<uint64_t> cand_;
  std::vector<uint32_t> steps_;
  std::vector<uint8_t> halted_;
  std::vector<Digest> hashes_;
  std::vector<uint8_t> bytes_;
  std::vector<uint64_t> offs_{0};
  uint64_t i_ = 0, first_ = 0;
};

bool same_set(const SetInfo& a, const SetInfo& b) {
  return a.isa.profile == b.isa.profile && a.isa.memory_size == b.isa.memory_size &&
         a.isa.program_size == b.isa.program_size &&
         isa::step_limit(a.isa) == isa::step_limit(b.isa) && a.seed == b.seed &&
         a.min_len == b.min_len && a.max_len == b.max_len &&
         a.backward_branch == b.backward_branch && a.shards == b.shards &&
         a.candidates == b.candidates && a.want_train == b.want_train && a.want_test == b.want_test;
}

}  // namespace

SetSummary merge_shards(const std::vector<std::string>& paths, const std::string& path,
                        bool progress) {
  if (paths.empty()) throw Error("dataset merge: no shards given");
  std::vector<std::unique_ptr<ShardCursor>> by_index;
  for (const std::string& p : paths) {
    auto cur = std::make_unique<ShardCursor>(p);
    const SetInfo& in = cur->info();
    if (in.shards == 0)
      throw Error(p + ": not a shard (make shards with cpusim datagen --shard K/N)");
    if (by_index.empty()) by_index.resize(in.shards);
    const SetInfo& first = by_index[0] ? by_index[0]->info() : in;
    if (!same_set(in, first) || in.shards != by_index.size())
      throw Error(p +
                  ": a shard of another set (seed, machine, lengths, sizes or shard count differ "
                  "from the others')");
    if (by_index[in.shard])
      throw Error(p + ": shard " + std::to_string(in.shard) + " given twice (also " +
                  by_index[in.shard]->path() + ")");
    by_index[in.shard] = std::move(cur);
  }
  for (size_t k = 0; k < by_index.size(); ++k)
    if (!by_index[k])
      throw Error("dataset merge: shard " + std::to_string(k) + " of " +
                  std::to_string(by_index.size()) + " is missing");
  const SetInfo& si = by_index[0]->info();
  SetInfo info = si;  // the one-machine set's attributes
  info.source = "datagen";
  info.shard = info.shards = 0;
  info.candidates = info.want_train = info.want_test = 0;
  auto out = open_h5_writer(path, info);
  // generate()'s order, over the shards' candidates in index order.
  const uint64_t total = si.want_train + si.want_test;
  const uint64_t n = by_index.size();
  DatagenStats st;
  Progress bar("merge", total, "instances");
  SetFiller filler(*out, si.want_train, si.want_test, st);
  for (uint64_t ch = 0; !filler.full(); ++ch) {
    if (ch * kChunk >= si.candidates)
      throw Error("dataset merge: the shards' " + std::to_string(si.candidates) +
                  " candidates hold only " + std::to_string(filler.done()) +
                  " distinct programs of the " + std::to_string(total) +
                  " asked; make the shards again with a larger --candidates");
    ShardCursor& cur = *by_index[ch % n];
    for (uint64_t j = 0; j < kChunk && !filler.full(); ++j) {
      if (!cur.more() || cur.candidate() != ch * kChunk + j)
        throw Error(cur.path() + ": candidate " + std::to_string(ch * kChunk + j) +
                    " missing: a damaged shard");
      filler.take(cur.record());
      cur.next();
    }
    if (progress) bar.update(filler.done());
  }
  filler.finish();
  out->commit();
  if (progress) bar.finish();
  st.seconds = bar.seconds();
  SetSummary s;
  s.stats = st;
  s.file_bytes = path_size(path);
  return s;
}

}  // namespace cpusim::datagen
