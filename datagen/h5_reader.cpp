// datagen/h5_reader.cpp: the HDF5 set reader (datagen/dataset.h H5Reader): every claimed size
// checked against the bytes stored before anything is allocated for it.
#include <H5Cpp.h>

#include <cstring>

#include "common/io.h"
#include "common/isolate.h"
#include "datagen/dataset.h"

namespace cpusim::datagen {

namespace fs = std::filesystem;

struct H5Reader::Impl {
  fs::path path;
  std::unique_ptr<H5::H5File> file;
  SetInfo info;
  H5::DataSet bytes[2], offsets[2];
  uint64_t n[2] = {0, 0};
};

namespace {

std::string get_str(const H5::H5Object& o, const char* name) {
  H5::Attribute a = o.openAttribute(name);
  std::string v;
  a.read(a.getStrType(), v);
  return v;
}
uint64_t get_u64(const H5::H5Object& o, const char* name) {
  uint64_t v = 0;
  o.openAttribute(name).read(H5::PredType::NATIVE_UINT64, &v);
  return v;
}
double get_f64(const H5::H5Object& o, const char* name) {
  double v = 0;
  o.openAttribute(name).read(H5::PredType::NATIVE_DOUBLE, &v);
  return v;
}

// A dataset's row count (1-D, or 2-D with `cols` columns), refused when its claimed size could
// not come from the bytes stored for it: deflate compresses by at most ~1032:1, so a logical size
// beyond that of the allocated chunks (plus a megabyte of fill) is a damaged or forged header.
hsize_t checked_extent(const H5::DataSet& ds, const std::string& name, size_t row_bytes,
                       hsize_t cols = 0) {
  const H5::DataSpace space = ds.getSpace();
  const int rank = space.getSimpleExtentNdims();
  if (rank != (cols ? 2 : 1))
    throw Error(name + ": expected a " + (cols ? "2" : "1") + "-D dataset, found rank " +
                std::to_string(rank));
  hsize_t dims[2] = {0, 0};
  space.getSimpleExtentDims(dims);
  if (cols && dims[1] != cols)
    throw Error(name + ": expected " + std::to_string(cols) + " columns, found " +
                std::to_string(dims[1]));
  const long double logical = (long double)dims[0] * row_bytes;
  const long double stored = (long double)ds.getStorageSize();
  if (logical > 1100.0L * stored + (1 << 20))
    throw Error(name + ": claims " + std::to_string(dims[0]) + " rows (" +
                std::to_string((unsigned long long)logical) + " bytes) but stores " +
                std::to_string(ds.getStorageSize()) + " bytes: a damaged file");
  return dims[0];
}

// The set's description from the root group's attributes, checked against this cpusim.
SetInfo read_info(H5::Group& root, const std::string& path, const std::string& hint) {
  SetInfo info;
  info.isa = isa::default_config(isa::parse_profile(get_str(root, "isa")));
  const std::string want_hash = [&] {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx",
                  (unsigned long long)isa::table_hash(info.isa.profile));
    return std::string(buf);
  }();
  if (get_str(root, "isa_table_hash") != want_hash)
    throw Error(path + ": made with another version of the " + get_str(root, "isa") +
                " opcode table (hash " + get_str(root, "isa_table_hash") + ", this cpusim has " +
                want_hash + ")" + hint);
  info.isa.memory_size = unsigned(get_u64(root, "memory_size"));
  if (info.isa.profile == isa::Profile::toy)
    info.isa.program_size = unsigned(get_u64(root, "program_size"));
  info.isa.step_limit = unsigned(get_u64(root, "step_limit"));
  isa::validate(info.isa);
  info.source = get_str(root, "source");
  info.seed = get_u64(root, "seed");
  info.min_len = unsigned(get_u64(root, "min_len"));
  info.max_len = unsigned(get_u64(root, "max_len"));
  info.backward_branch = get_f64(root, "backward_branch");
  if (root.attrExists("shards")) {
    info.shard = unsigned(get_u64(root, "shard"));
    info.shards = unsigned(get_u64(root, "shards"));
    info.candidates = get_u64(root, "candidates");
    info.want_train = get_u64(root, "want_train");
    info.want_test = get_u64(root, "want_test");
    if (info.shards == 0 || info.shard >= info.shards)
      throw Error(path + ": shard " + std::to_string(info.shard) + " of " +
                  std::to_string(info.shards) + ": damaged");
  }
  return info;
}

}  // namespace

H5Reader::H5Reader(const fs::path& path) : impl_(std::make_unique<Impl>()) {
  H5::Exception::dontPrint();
  impl_->path = path;
  const std::string hint =
      " (make one with `cpusim datagen -o FILE.h5` or `cpusim dataset import`)";
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path.string() + ": no such file");
  if (!H5::H5File::isHdf5(path.string()))
    throw Error(path.string() + ": not an HDF5 file, or truncated" + hint);
  // libhdf5 can crash or hang on damaged metadata (results/fuzzing.md): the cpusim command
  // opens the file in a child first (common/isolate.h).
  check_in_child(path.string(), "libhdf5", [&] { H5Reader probe(path); });
  try {
    impl_->file = std::make_unique<H5::H5File>(path.string(), H5F_ACC_RDONLY);
  } catch (const H5::Exception& e) {
    throw Error(path.string() + ": cannot open HDF5 file (" + e.getDetailMsg() + ")" + hint);
  }
  try {
    H5::Group root = impl_->file->openGroup("/");
    if (!root.attrExists("format") || get_str(root, "format") != kFormatName)
      throw Error(path.string() + ": not a cpusim trace set (no format attribute '" + kFormatName +
                  "')" + hint);
    const uint64_t version = get_u64(root, "format_version");
    if (version != uint64_t(kFormatVersion))
      throw Error(path.string() + ": format version " + std::to_string(version) +
                  ", this cpusim reads " + std::to_string(kFormatVersion) + hint);
    impl_->info = read_info(root, path.string(), hint);
    for (int s = 0; s < 2; ++s) {
      H5::Group g = impl_->file->openGroup(kSplits[s]);
      impl_->bytes[s] = g.openDataSet("bytes");
      impl_->offsets[s] = g.openDataSet("offsets");
      const std::string where = path.string() + ": " + kSplits[s] + "/";
      const hsize_t n_off = checked_extent(impl_->offsets[s], where + "offsets", 8);
      if (n_off < 1) throw Error(where + "offsets is empty");
      impl_->n[s] = n_off - 1;
      checked_extent(impl_->bytes[s], where + "bytes", 1);
      // The per-trace datasets must hold one row per trace: sizes claimed by a damaged file are
      // refused here, before anything is allocated for them.
      for (const auto& [name, cols] : {std::pair<const char*, hsize_t>{"steps", 0},
                                       {"halted", 0},
                                       {"program_hash", 16},
                                       {"candidate", 0}})
        if (g.nameExists(name) &&
            checked_extent(g.openDataSet(name), where + name, cols ? cols : 4, cols) != impl_->n[s])
          throw Error(where + name + " has a different number of rows than " + kSplits[s] +
                      "/offsets");
    }
  } catch (const H5::Exception& e) {
    throw Error(path.string() + ": damaged cpusim trace set (" + e.getFuncName() + ": " +
                e.getDetailMsg() + ")" + hint);
  } catch (const Error& e) {
    throw;
  }
}

H5Reader::~H5Reader() = default;
const SetInfo& H5Reader::info() const { return impl_->info; }
const fs::path& H5Reader::path() const { return impl_->path; }
uint64_t H5Reader::size(int split) const { return impl_->n[split]; }

SplitInfo H5Reader::split_info(int split) const {
  try {
    H5::Group g = impl_->file->openGroup(kSplits[split]);
    SplitInfo s;
    s.traces = get_u64(g, "traces");
    s.halted = get_u64(g, "halted");
    s.duplicates = get_u64(g, "duplicates_removed");
    s.bytes = get_u64(g, "total_bytes");
    return s;
  } catch (const H5::Exception& e) {
    throw Error(impl_->path.string() + ": damaged " + kSplits[split] + " group (" +
                e.getDetailMsg() + ")");
  }
}

void H5Reader::read(int split, uint64_t first, uint64_t count, std::vector<uint8_t>& bytes,
                    std::vector<uint64_t>& offsets) const {
  if (first + count > impl_->n[split])
    throw Error(impl_->path.string() + ": traces " + std::to_string(first) + ".." +
                std::to_string(first + count) + " past the end of " + kSplits[split] + " (" +
                std::to_string(impl_->n[split]) + ")");
  try {
    offsets.resize(count + 1);
    hsize_t start = first, n = count + 1;
    H5::DataSpace fs_off = impl_->offsets[split].getSpace();
    fs_off.selectHyperslab(H5S_SELECT_SET, &n, &start);
    impl_->offsets[split].read(offsets.data(), H5::PredType::NATIVE_UINT64, H5::DataSpace(1, &n),
                               fs_off);
    const uint64_t base = offsets[0];
    H5::DataSpace fs_b = impl_->bytes[split].getSpace();
    hsize_t dims = 0;
    fs_b.getSimpleExtentDims(&dims);
    for (uint64_t k = 0; k < count; ++k)  // checked before anything is allocated from them
      if (offsets[k + 1] < offsets[k] || offsets[k + 1] > dims)
        throw Error(impl_->path.string() + ": " + kSplits[split] + "/offsets damaged at trace " +
                    std::to_string(first + k) + " (" + std::to_string(offsets[k]) + " -> " +
                    std::to_string(offsets[k + 1]) + ", " + std::to_string(dims) + " bytes)");
    hsize_t total = offsets[count] - base, bstart = base;
    for (uint64_t& o : offsets) o -= base;
    bytes.resize(total);
    if (total) {
      fs_b.selectHyperslab(H5S_SELECT_SET, &total, &bstart);
      impl_->bytes[split].read(bytes.data(), H5::PredType::NATIVE_UINT8, H5::DataSpace(1, &total),
                               fs_b);
    }
  } catch (const H5::Exception& e) {
    throw Error(impl_->path.string() + ": read failed in " + kSplits[split] + " (" +
                e.getDetailMsg() + ")");
  }
}

void H5Reader::for_each_chunk(int split, uint64_t n, uint64_t chunk, const ChunkFn& fn) const {
  std::vector<uint8_t> bytes;
  std::vector<uint64_t> offsets;
  std::vector<std::span<const uint8_t>> traces;
  chunk = std::max<uint64_t>(1, chunk);
  for (uint64_t first = 0; first < n; first += chunk) {
    const uint64_t count = std::min(chunk, n - first);
    read(split, first, count, bytes, offsets);
    traces.clear();
    for (uint64_t k = 0; k < count; ++k)
      traces.push_back(
          std::span<const uint8_t>(bytes).subspan(offsets[k], offsets[k + 1] - offsets[k]));
    fn(first, traces);
  }
}

void H5Reader::for_each(int split, uint64_t n,
                        const std::function<void(uint64_t, std::span<const uint8_t>)>& fn) const {
  for_each_chunk(split, n, 4096,
                 [&](uint64_t first, const std::vector<std::span<const uint8_t>>& traces) {
                   for (size_t k = 0; k < traces.size(); ++k) fn(first + k, traces[k]);
                 });
}

namespace {

// One per-trace column of a split, whole (its length checked against offsets at open).
template <class T>
std::vector<T> read_column(const H5::H5File& f, const fs::path& path, int split, uint64_t n,
                           const char* name, const H5::PredType& type,
                           const std::string& what = "cannot read") {
  std::vector<T> v(n);
  try {
    if (!v.empty()) f.openGroup(kSplits[split]).openDataSet(name).read(v.data(), type);
  } catch (const H5::Exception& e) {
    throw Error(path.string() + ": " + what + " " + kSplits[split] + "/" + name + " (" +
                e.getDetailMsg() + ")");
  }
  return v;
}

}  // namespace

std::vector<uint32_t> H5Reader::steps(int split) const {
  return read_column<uint32_t>(*impl_->file, impl_->path, split, impl_->n[split], "steps",
                               H5::PredType::NATIVE_UINT32);
}

std::vector<uint8_t> H5Reader::halted(int split) const {
  return read_column<uint8_t>(*impl_->file, impl_->path, split, impl_->n[split], "halted",
                              H5::PredType::NATIVE_UINT8);
}

std::vector<uint64_t> H5Reader::candidates(int split) const {
  return read_column<uint64_t>(*impl_->file, impl_->path, split, impl_->n[split], "candidate",
                               H5::PredType::NATIVE_UINT64,
                               "not a shard, or a damaged one: cannot read");
}

std::vector<Digest> H5Reader::program_hashes(int split) const {
  std::vector<Digest> v(impl_->n[split]);
  try {
    if (!v.empty())
      impl_->file->openGroup(kSplits[split])
          .openDataSet("program_hash")
          .read(v.data(), H5::PredType::NATIVE_UINT8);
  } catch (const H5::Exception& e) {
    throw Error(impl_->path.string() + ": cannot read " + kSplits[split] + "/program_hash (" +
                e.getDetailMsg() + ")");
  }
  return v;
}

}  // namespace cpusim::datagen
