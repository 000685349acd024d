// datagen/dataset.cpp: the HDF5 and folder writers (HDF5 C++ API); the reader is h5_reader.cpp.
#include "datagen/dataset.h"

#include <H5Cpp.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

#include "common/io.h"
#include "common/isolate.h"
#include "datagen/chunk_compressor.h"
#include "datagen/folder_meta.h"

namespace cpusim::datagen {

namespace fs = std::filesystem;

namespace {

constexpr hsize_t kChunkBytes = 1 << 20;  // bytes dataset chunk: 1 MiB
constexpr size_t kInFlight = 32;          // chunks being compressed at once, at most
constexpr hsize_t kIndexChunk = 1 << 14;

// Variable-length UTF-8 strings: h5py reads them as str, not bytes.
void put_attr(H5::H5Object& o, const char* name, const std::string& v) {
  H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
  t.setCset(H5T_CSET_UTF8);
  H5::Attribute a = o.createAttribute(name, t, H5::DataSpace(H5S_SCALAR));
  a.write(t, v);
}
void put_attr(H5::H5Object& o, const char* name, uint64_t v) {
  H5::Attribute a = o.createAttribute(name, H5::PredType::NATIVE_UINT64, H5::DataSpace(H5S_SCALAR));
  a.write(H5::PredType::NATIVE_UINT64, &v);
}
void put_attr(H5::H5Object& o, const char* name, double v) {
  H5::Attribute a = o.createAttribute(name, H5::PredType::NATIVE_DOUBLE, H5::DataSpace(H5S_SCALAR));
  a.write(H5::PredType::NATIVE_DOUBLE, &v);
}

std::string hash_hex(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
  return buf;
}

// A 1-D extendable dataset appended to in pieces.
class Appender {
 public:
  Appender(H5::Group& g, const char* name, const H5::PredType& type, hsize_t chunk, bool compress)
      : type_(type) {
    hsize_t dims = 0, maxdims = H5S_UNLIMITED;
    H5::DataSpace space(1, &dims, &maxdims);
    H5::DSetCreatPropList p;
    p.setChunk(1, &chunk);
    H5Pset_obj_track_times(p.getId(), 0);  // no clock in the file: the same set, the same bytes
    if (compress) p.setDeflate(1);
    p.setFletcher32();  // a checksum of each stored chunk, checked on every read
    ds_ = g.createDataSet(name, type, space, p);
  }
  void append(const void* data, hsize_t n) {
    if (!n) return;
    hsize_t new_size = size_ + n;
    ds_.extend(&new_size);
    H5::DataSpace file = ds_.getSpace();
    file.selectHyperslab(H5S_SELECT_SET, &n, &size_);
    H5::DataSpace mem(1, &n);
    ds_.write(data, type_, mem, file);
    size_ = new_size;
  }
  // A chunk as the filters would have stored it (datagen/chunk_compressor.h), at chunk `index`
  // of a dataset that is first extended to `extent` elements (only ever grows).
  void write_chunk(uint64_t index, hsize_t chunk, const std::vector<uint8_t>& stored,
                   hsize_t extent) {
    if (extent > size_) {
      ds_.extend(&extent);
      size_ = extent;
    }
    const hsize_t offset = index * chunk;
    if (H5Dwrite_chunk(ds_.getId(), H5P_DEFAULT, 0, &offset, stored.size(), stored.data()) < 0)
      throw H5::DataSetIException("H5Dwrite_chunk", "cannot write a chunk");
  }
  H5::DataSet& dataset() { return ds_; }

 private:
  H5::DataSet ds_;
  H5::PredType type_;
  hsize_t size_ = 0;
};

struct SplitOut {
  std::unique_ptr<H5::Group> group;
  std::unique_ptr<Appender> bytes, offsets, steps, halted, candidate;
  std::vector<uint8_t> cur;  // the chunk being filled
  uint64_t chunks = 0;       // chunks handed to the compressor
  std::vector<uint64_t> offs, cand_v;
  std::vector<uint32_t> steps_v;
  std::vector<uint8_t> halted_v;
  std::vector<uint8_t> hash_v;
  uint64_t total = 0, traces = 0, halted_n = 0, duplicates = 0;
};

std::atomic<bool> g_left_open{false};

class H5Writer : public SetWriter {
 public:
  H5Writer(const fs::path& path, const SetInfo& info, unsigned threads, int level)
      : path_(path), tmp_(temp_sibling(path)), pool_(threads, level) {
    H5::Exception::dontPrint();
    try {
      // The 1.10 file format: checksums on every metadata block (superblock, object headers,
      // chunk indexes), so a damaged block is refused instead of being parsed.
      H5::FileAccPropList fapl;
      fapl.setLibverBounds(H5F_LIBVER_V110, H5F_LIBVER_LATEST);
      H5::FileCreatPropList fcpl;
      H5Pset_obj_track_times(fcpl.getId(), 0);
      file_ = std::make_unique<H5::H5File>(tmp_.string(), H5F_ACC_TRUNC, fcpl, fapl);
      H5::Group root = file_->openGroup("/");
      put_attr(root, "format", std::string(kFormatName));
      put_attr(root, "format_version", uint64_t(kFormatVersion));
      put_attr(root, "isa", std::string(isa::profile_name(info.isa.profile)));
      put_attr(root, "isa_version", uint64_t(isa::kIsaVersion));
      put_attr(root, "isa_table_hash", hash_hex(isa::table_hash(info.isa.profile)));
      put_attr(root, "memory_size", uint64_t(info.isa.memory_size));
      put_attr(root, "program_size", uint64_t(isa::image_bytes(info.isa)));
      put_attr(root, "image_size", uint64_t(isa::image_bytes(info.isa)));
      put_attr(root, "state_size", uint64_t(isa::state_bytes(info.isa)));
      put_attr(root, "step_limit", uint64_t(isa::step_limit(info.isa)));
      put_attr(root, "source", info.source);
      put_attr(root, "seed", info.seed);
      put_attr(root, "min_len", uint64_t(info.min_len));
      put_attr(root, "max_len", uint64_t(info.max_len));
      put_attr(root, "backward_branch", info.backward_branch);
      if (info.shards) {
        put_attr(root, "shard", uint64_t(info.shard));
        put_attr(root, "shards", uint64_t(info.shards));
        put_attr(root, "candidates", info.candidates);
        put_attr(root, "want_train", info.want_train);
        put_attr(root, "want_test", info.want_test);
      }
      for (int s = 0; s < 2; ++s) {
        SplitOut& o = out_[s];
        const hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
        H5Pset_obj_track_times(gcpl, 0);
        const hid_t g = H5Gcreate2(file_->getId(), kSplits[s], H5P_DEFAULT, gcpl, H5P_DEFAULT);
        H5Pclose(gcpl);
        if (g < 0)
          throw H5::GroupIException("H5Gcreate2", std::string("cannot create group ") + kSplits[s]);
        o.group = std::make_unique<H5::Group>(g);  // (takes a reference of its own)
        H5Gclose(g);
        o.bytes = std::make_unique<Appender>(*o.group, "bytes", H5::PredType::NATIVE_UINT8,
                                             kChunkBytes, true);
        o.offsets = std::make_unique<Appender>(*o.group, "offsets", H5::PredType::NATIVE_UINT64,
                                               kIndexChunk, true);
        o.steps = std::make_unique<Appender>(*o.group, "steps", H5::PredType::NATIVE_UINT32,
                                             kIndexChunk, true);
        o.halted = std::make_unique<Appender>(*o.group, "halted", H5::PredType::NATIVE_UINT8,
                                              kIndexChunk, true);
        if (info.shards)
          o.candidate = std::make_unique<Appender>(*o.group, "candidate",
                                                   H5::PredType::NATIVE_UINT64, kIndexChunk, true);
        // program_hash: N x 16 bytes, stored as a 2-D dataset.
        hsize_t dims[2] = {0, 16}, maxdims[2] = {H5S_UNLIMITED, 16}, chunk[2] = {kIndexChunk, 16};
        H5::DSetCreatPropList p;
        p.setChunk(2, chunk);
        H5Pset_obj_track_times(p.getId(), 0);
        p.setDeflate(1);  // (digests do not compress; a small set's one part-filled chunk does)
        p.setFletcher32();
        hash_ds_[s] = o.group->createDataSet("program_hash", H5::PredType::NATIVE_UINT8,
                                             H5::DataSpace(2, dims, maxdims), p);
        o.offs.push_back(0);
      }
    } catch (const H5::Exception& e) {
      std::remove(tmp_.c_str());
      throw Error(path.string() + ": cannot create HDF5 file (" + e.getDetailMsg() + ")");
    }
  }
  ~H5Writer() override {
    if (!committed_) {
      discard();
      std::remove(tmp_.c_str());
    }
  }
  void add(int split, const TraceRecord& t) override {
    SplitOut& o = out_[split];
    o.total += t.bytes.size();
    for (size_t at = 0; at < t.bytes.size();) {
      const size_t n = std::min<size_t>(t.bytes.size() - at, kChunkBytes - o.cur.size());
      o.cur.insert(o.cur.end(), t.bytes.begin() + at, t.bytes.begin() + at + n);
      at += n;
      if (o.cur.size() == kChunkBytes) submit(split);
    }
    o.offs.push_back(o.total);
    o.steps_v.push_back(t.steps);
    o.halted_v.push_back(t.halted);
    o.hash_v.insert(o.hash_v.end(), t.program.begin(), t.program.end());
    if (o.candidate) o.cand_v.push_back(t.candidate);
    ++o.traces;
    o.halted_n += t.halted;
    if (o.offs.size() >= kIndexChunk) flush(split);
  }
  void set_duplicates(int split, uint64_t n) override { out_[split].duplicates = n; }
  void commit() override {
    try {
      for (int s = 0; s < 2; ++s) {
        if (!out_[s].cur.empty()) {
          out_[s].cur.resize(kChunkBytes, 0);  // (an edge chunk is stored whole)
          submit(s);
        }
      }
      drain(true);
      for (int s = 0; s < 2; ++s) {
        flush(s);
        SplitOut& o = out_[s];
        put_attr(*o.group, "traces", o.traces);
        put_attr(*o.group, "halted", o.halted_n);
        put_attr(*o.group, "duplicates_removed", o.duplicates);
        put_attr(*o.group, "total_bytes", o.total);
      }
      close_all();
    } catch (const H5::Exception& e) {
      throw Error(path_.string() + ": HDF5 write failed (disk full?) (" + e.getDetailMsg() + ")");
    }
    durable_rename(tmp_, path_);
    committed_ = true;
  }

 private:
  // Every object, then the file: the file is written out when its last object closes.
  void close_all() {
    for (auto& ds : hash_ds_) ds.close();
    for (SplitOut& o : out_) {
      for (auto* a :
           {o.bytes.get(), o.offsets.get(), o.steps.get(), o.halted.get(), o.candidate.get()})
        if (a) a->dataset().close();
      if (o.group) o.group->close();
    }
    if (file_) file_->close();
  }
  // After a failure (a full disk): the file is thrown away, so its descriptor is pointed at an
  // anonymous memory file before the objects close (what they still flush, a few MB at most,
  // lands there; /dev/null would refuse the final truncate). Otherwise the closes retry the
  // failed writes, fail, leave objects open, and HDF5 crashes on them (libhdf5 1.10).
  void discard() noexcept {
    if (!file_) return;
    void* handle = nullptr;
    if (H5Fget_vfd_handle(file_->getId(), H5P_DEFAULT, &handle) >= 0 && handle) {
      const int sink = ::memfd_create("cpusim-discarded-set", MFD_CLOEXEC);
      if (sink >= 0) {
        ::dup2(sink, *static_cast<int*>(handle));
        ::close(sink);
      }
    }
    for (auto& ds : hash_ds_) quietly([&] { ds.close(); });
    for (SplitOut& o : out_) {
      for (auto* a :
           {o.bytes.get(), o.offsets.get(), o.steps.get(), o.halted.get(), o.candidate.get()})
        if (a) quietly([&] { a->dataset().close(); });
      if (o.group) quietly([&] { o.group->close(); });
    }
    try {
      file_->close();
    } catch (...) {
      // A file size limit (RLIMIT_FSIZE) refuses the close's final truncate even on the memory
      // file: the file stays open in a state that HDF5's own teardown at exit crashes on. A
      // second close would crash too, so the handle is left as it is and the process is told
      // to leave without that teardown (hdf5_left_open()).
      (void)file_.release();
      g_left_open = true;
    }
  }
  template <class F>
  static void quietly(F&& f) noexcept {
    try {
      f();
    } catch (...) {
    }
  }

  // The trace bytes: whole chunks compressed on the pool's threads, written in order as they
  // are done (wait: all of them).
  void submit(int s) {
    SplitOut& o = out_[s];
    // The oldest chunk is written when kInFlight are queued, whatever the threads' speed: the
    // file's layout (and bytes) depend on the data alone.
    if (pool_.in_flight() >= kInFlight) drain(true, 1);
    pool_.submit(s, o.chunks++, std::move(o.cur));
    o.cur = pool_.buffer();
    o.cur.reserve(kChunkBytes);
  }
  void drain(bool wait, size_t most = SIZE_MAX) {
    ChunkCompressor::Job j;
    for (size_t n = 0; n < most && pool_.pop(j, wait); ++n) {
      if (!j.error.empty())
        throw Error(path_.string() + ": compressing the traces failed (" + j.error + ")");
      SplitOut& o = out_[j.tag];
      try {
        o.bytes->write_chunk(j.index, kChunkBytes, j.stored,
                             std::min<hsize_t>((j.index + 1) * kChunkBytes, o.total));
      } catch (const H5::Exception& e) {
        throw Error(path_.string() + ": HDF5 write failed (disk full?) (" + e.getDetailMsg() + ")");
      }
      pool_.recycle(j);
    }
  }
  // The per-trace columns.
  void flush(int s) {
    SplitOut& o = out_[s];
    try {
      {
        o.offsets->append(o.offs.data(), o.offs.size());
        o.steps->append(o.steps_v.data(), o.steps_v.size());
        o.halted->append(o.halted_v.data(), o.halted_v.size());
        if (o.candidate) o.candidate->append(o.cand_v.data(), o.cand_v.size());
        const hsize_t n = o.hash_v.size() / 16;
        if (n) {
          hsize_t new_dims[2] = {hash_rows_[s] + n, 16};
          hash_ds_[s].extend(new_dims);
          H5::DataSpace file = hash_ds_[s].getSpace();
          hsize_t start[2] = {hash_rows_[s], 0}, count[2] = {n, 16};
          file.selectHyperslab(H5S_SELECT_SET, count, start);
          H5::DataSpace mem(2, count);
          hash_ds_[s].write(o.hash_v.data(), H5::PredType::NATIVE_UINT8, mem, file);
          hash_rows_[s] += n;
        }
        o.offs.clear(), o.steps_v.clear(), o.halted_v.clear(), o.hash_v.clear(), o.cand_v.clear();
      }
    } catch (const H5::Exception& e) {
      throw Error(path_.string() + ": HDF5 write failed (disk full?) (" + e.getDetailMsg() + ")");
    }
  }
  fs::path path_, tmp_;
  std::unique_ptr<H5::H5File> file_;
  SplitOut out_[2];
  ChunkCompressor pool_;
  H5::DataSet hash_ds_[2];
  hsize_t hash_rows_[2] = {0, 0};
  bool committed_ = false;
};

class BinWriter : public SetWriter {
 public:
  BinWriter(const fs::path& dir, const SetInfo& info, bool paper_layout)
      : dir_(dir), tmp_(temp_sibling(dir)), isa_(info.isa), paper_layout_(paper_layout) {
    std::error_code ec;
    if (fs::exists(dir, ec))
      throw Error(dir.string() + ": already exists; remove it or choose another -o");
    fs::create_directories(tmp_ / "train", ec);
    if (!ec) fs::create_directories(tmp_ / "test", ec);
    if (ec) throw Error(dir.string() + ": cannot create folder: " + ec.message());
  }
  ~BinWriter() override {
    if (!committed_) {
      std::error_code ec;
      fs::remove_all(tmp_, ec);
    }
  }
  void add(int split, const TraceRecord& t) override {
    const fs::path p = tmp_ / kSplits[split] / (hex(t.program) + ".bin");
    std::FILE* f = std::fopen(p.c_str(), "wb");
    if (!f) throw Error(p.string() + ": cannot write: " + std::strerror(errno));
    const bool ok = std::fwrite(t.bytes.data(), 1, t.bytes.size(), f) == t.bytes.size();
    if (std::fclose(f) != 0 || !ok) throw Error(p.string() + ": write failed (disk full?)");
  }
  void set_duplicates(int, uint64_t) override {}
  void commit() override {
    write_folder_meta(tmp_, isa_, paper_layout_);
    durable_rename(tmp_, dir_);
    committed_ = true;
  }

 private:
  fs::path dir_, tmp_;
  isa::Config isa_;
  bool paper_layout_;
  bool committed_ = false;
};

}  // namespace

bool hdf5_left_open() { return g_left_open; }

std::unique_ptr<SetWriter> open_h5_writer(const fs::path& path, const SetInfo& info,
                                          unsigned threads, int level) {
  if (level < 0 || level > 3)
    throw Error("deflate level " + std::to_string(level) + ": expected 0..3");
  return std::make_unique<H5Writer>(path, info, threads, level);
}
std::unique_ptr<SetWriter> open_bin_writer(const fs::path& dir, const SetInfo& info,
                                           bool paper_layout) {
  return std::make_unique<BinWriter>(dir, info, paper_layout);
}

int split_index(const std::string& name) {
  if (name == "train") return 0;
  if (name == "test") return 1;
  throw Error("unknown split '" + name + "' (expected train or test)");
}

}  // namespace cpusim::datagen
