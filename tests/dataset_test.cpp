// tests/dataset_test.cpp: datagen and the set formats: determinism across jobs, disjoint and
// duplicate-free splits, HDF5 round trips (generate -> HDF5 -> export -> import -> same bytes),
// every trace re-executes exactly, and clean refusals of bad input.
#include "datagen/dataset.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "common/io.h"
#include "datagen/chunk_compressor.h"
#include "datagen/generate.h"
#include "datagen/md5.h"
#include "harness/verify.h"
#include "tests/test_util.h"

namespace cpusim {
namespace {

namespace fs = std::filesystem;

datagen::DatagenConfig small(isa::Profile p, unsigned jobs) {
  datagen::DatagenConfig c;
  c.gen.isa = isa::default_config(p);
  c.train = 300;
  c.test = 50;
  c.seed = 17;
  c.jobs = jobs;
  c.progress = false;
  return c;
}

std::string make_set(const datagen::DatagenConfig& c, const std::string& path) {
  datagen::SetInfo info;
  info.isa = c.gen.isa;
  info.seed = c.seed;
  auto w = datagen::open_h5_writer(path, info);
  datagen::generate(c, *w);
  w->commit();
  return path;
}

// All traces of a split, concatenated, with their hashes.
struct SplitData {
  std::vector<uint8_t> bytes;
  std::vector<uint64_t> offsets;
  std::vector<datagen::Digest> hashes;
};
SplitData load(const datagen::H5Reader& r, int s) {
  SplitData d;
  r.read(s, 0, r.size(s), d.bytes, d.offsets);
  d.hashes = r.program_hashes(s);
  return d;
}

// RFC 1321's test suite (appendix A.5): the hash that names programs and finds duplicates.
TEST(Md5, KnownAnswersOfRfc1321) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "d41d8cd98f00b204e9800998ecf8427e"},
      {"a", "0cc175b9c0f1b6a831c399e269772661"},
      {"abc", "900150983cd24fb0d6963f7d28e17f72"},
      {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
      {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
      {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
       "d174ab98d277d9f5a5611c2c9f419d9f"},
      {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
       "57edf4a22be3c955ac49da2e2107b67a"}};
  for (const auto& [text, want] : cases) {
    const auto* p = reinterpret_cast<const uint8_t*>(text.data());
    EXPECT_EQ(datagen::hex(datagen::md5(std::span<const uint8_t>(p, text.size()))), want)
        << '"' << text << '"';
  }
}

TEST(Datagen, SameSeedSameSetWhateverTheJobs) {
  const std::string dir = test::temp_dir("determinism");
  for (isa::Profile p : {isa::Profile::bgpt, isa::Profile::toy}) {
    const auto a = make_set(small(p, 1), dir + "/a.h5");
    const auto b = make_set(small(p, 3), dir + "/b.h5");
    datagen::H5Reader ra(a), rb(b);
    for (int s = 0; s < 2; ++s) {
      const auto da = load(ra, s), db = load(rb, s);
      EXPECT_EQ(da.bytes, db.bytes);
      EXPECT_EQ(da.offsets, db.offsets);
      EXPECT_EQ(ra.steps(s), rb.steps(s));
    }
  }
}

TEST(Datagen, SplitsAreDisjointAndDuplicateFree) {
  const std::string dir = test::temp_dir("disjoint");
  // Short programs collide often: lengths 1..3 of bgpt over 64-byte memory.
  auto c = small(isa::Profile::bgpt, 2);
  c.gen.isa.memory_size = 64;
  c.gen.max_len = 3;
  c.train = 2000;
  c.test = 500;
  const auto path = make_set(c, dir + "/s.h5");
  datagen::H5Reader r(path);
  std::set<datagen::Digest> seen;
  for (int s = 0; s < 2; ++s)
    for (const auto& h : r.program_hashes(s)) EXPECT_TRUE(seen.insert(h).second);
  EXPECT_EQ(r.size(0), 2000u);
  EXPECT_EQ(r.size(1), 500u);
  EXPECT_GT(r.split_info(0).duplicates, 0u);
  // The hash is the MD5 of the program image.
  const auto d = load(r, 0);
  EXPECT_EQ(d.hashes[0], datagen::md5(std::span(d.bytes).subspan(0, 64)));
}

TEST(Datagen, EveryTraceReExecutesExactly) {
  const std::string dir = test::temp_dir("reexec");
  for (isa::Profile p : {isa::Profile::bgpt, isa::Profile::toy}) {
    const auto path = make_set(small(p, 2), dir + "/s.h5");
    datagen::H5Reader r(path);
    const auto steps = r.steps(0);
    const auto d = load(r, 0);
    const size_t ib = isa::image_bytes(r.info().isa), sb = isa::state_bytes(r.info().isa);
    for (size_t i = 0; i < r.size(0); ++i) {
      const auto t = std::span(d.bytes).subspan(d.offsets[i], d.offsets[i + 1] - d.offsets[i]);
      ASSERT_EQ(t.size(), ib + sb * (steps[i] + 1));
      const auto v = harness::verify_trace(r.info().isa, t, "t");
      ASSERT_EQ(v.trace.tally.matched_bytes, v.trace.tally.bytes);
    }
  }
}

// libhdf5's own checksum (an exported symbol of the library, not in its public headers).
extern "C" uint32_t H5_checksum_fletcher32(const void* data, size_t len);

TEST(ChunkCompressor, Fletcher32IsHdf5s) {
  std::mt19937 rng(5);
  for (size_t n : {0, 1, 2, 3, 719, 720, 721, 1440, 4097, 1 << 20}) {
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = uint8_t(rng());
    EXPECT_EQ(datagen::hdf5_fletcher32(v.data(), n), H5_checksum_fletcher32(v.data(), n))
        << n << " bytes";
  }
  std::vector<uint8_t> ff(100000, 0xff);  // the largest sums
  EXPECT_EQ(datagen::hdf5_fletcher32(ff.data(), ff.size()),
            H5_checksum_fletcher32(ff.data(), ff.size()));
}

// Every level's chunk is a zlib stream that zlib inflates to the input, with its Fletcher-32 after
// it; random bytes (which do not compress) fit the output bound too.
TEST(ChunkCompressor, ChunksAreZlibStreamsAtEveryLevel) {
  std::mt19937 rng(11);
  std::vector<uint8_t> noise(1 << 20), runs(300000);
  std::vector<uint8_t> none;
  for (auto& b : noise) b = uint8_t(rng());
  for (size_t i = 0; i < runs.size(); ++i) runs[i] = uint8_t((i / 97) % 5);
  for (int level = 0; level <= 3; ++level) {
    datagen::ChunkCodec codec(level);
    for (auto* raw : {&noise, &runs, &none}) {
      std::vector<uint8_t> stored;
      codec.encode(*raw, stored);
      ASSERT_GE(stored.size(), 4u);
      const size_t n = stored.size() - 4;
      uint32_t sum = 0;
      for (int i = 0; i < 4; ++i) sum |= uint32_t(stored[n + size_t(i)]) << (8 * i);
      EXPECT_EQ(sum, datagen::hdf5_fletcher32(stored.data(), n)) << level;
      std::vector<uint8_t> back(raw->size() + 1);
      uLongf got = back.size();
      ASSERT_EQ(uncompress(back.data(), &got, stored.data(), n), Z_OK)
          << "level " << level << ", " << raw->size() << " bytes";
      back.resize(got);
      EXPECT_EQ(back, *raw) << level;
      if (raw == &runs) {
        EXPECT_LT(n, runs.size() / 10) << level;  // it does compress
      }
    }
  }
  EXPECT_THROW(datagen::ChunkCodec(4), Error);
}

TEST(ChunkCompressor, ChunksComeBackInOrder) {
  datagen::ChunkCompressor pool(3, 1);
  std::vector<std::vector<uint8_t>> raw;
  std::mt19937 rng(9);
  for (int i = 0; i < 12; ++i) {
    std::vector<uint8_t> v(1000 + 7919 * i);
    for (auto& b : v) b = uint8_t(rng() % 4);  // compressible
    raw.push_back(v);
  }
  datagen::ChunkCodec codec(1);
  size_t got = 0;
  datagen::ChunkCompressor::Job j;
  auto check = [&] {
    EXPECT_EQ(j.index, got);
    EXPECT_EQ(j.tag, int(got % 2));
    EXPECT_EQ(j.raw, raw[got]);
    std::vector<uint8_t> want;
    codec.encode(raw[got], want);  // the same bytes on any thread
    EXPECT_EQ(j.stored, want);
    ++got;
    pool.recycle(j);
  };
  for (size_t i = 0; i < raw.size(); ++i) {
    pool.submit(int(i % 2), i, raw[i]);
    while (pool.pop(j, false)) check();
  }
  while (pool.pop(j, true)) check();
  EXPECT_EQ(got, raw.size());
  EXPECT_EQ(pool.in_flight(), 0u);
}

// Traces spanning many 1 MiB chunks, the last one partial: read back exactly (the reader
// inflates and checks each chunk's Fletcher-32), and the file's bytes do not depend on how many
// threads compressed them.
TEST(Datagen, ChunksWrittenPrecompressedReadBackAndDoNotDependOnThreads) {
  const std::string dir = test::temp_dir("chunks");
  auto c = small(isa::Profile::bgpt, 2);
  c.train = 3000, c.test = 40;  // ~9 MiB of bgpt traces (1 KiB images)
  datagen::SetInfo info;
  info.isa = c.gen.isa;
  std::string files[2];
  for (unsigned threads : {1u, 4u}) {
    files[threads == 4] = dir + "/t" + std::to_string(threads) + ".h5";
    auto w = datagen::open_h5_writer(files[threads == 4], info, threads);
    datagen::generate(c, *w);
    w->commit();
  }
  EXPECT_EQ(read_file(files[0]), read_file(files[1]));
  datagen::H5Reader r(files[0]);
  ASSERT_GT(r.split_info(0).bytes, 8u << 20);
  // The same traces as the generator makes them, recomputed one by one.
  for (int s = 0; s < 2; ++s)
    r.for_each(s, r.size(s), [&](uint64_t, std::span<const uint8_t> t) {
      const auto v = harness::verify_trace(r.info().isa, t, "t");
      ASSERT_EQ(v.trace.tally.matched_bytes, v.trace.tally.bytes);
      ASSERT_GT(v.trace.tally.bytes, 0u);
    });
  // Other deflate levels: the same traces; the higher level, the smaller file.
  std::vector<std::vector<uint8_t>> want;
  r.for_each(0, r.size(0),
             [&](uint64_t, std::span<const uint8_t> t) { want.emplace_back(t.begin(), t.end()); });
  uintmax_t last = UINTMAX_MAX;
  for (int level : {0, 3}) {
    const std::string f = dir + "/l" + std::to_string(level) + ".h5";
    auto w = datagen::open_h5_writer(f, info, 2, level);
    datagen::generate(c, *w);
    w->commit();
    datagen::H5Reader back(f);
    size_t i = 0;
    back.for_each(0, back.size(0), [&](uint64_t, std::span<const uint8_t> t) {
      ASSERT_LT(i, want.size());
      ASSERT_TRUE(std::equal(t.begin(), t.end(), want[i].begin(), want[i].end()))
          << "level " << level << ", trace " << i;
      ++i;
    });
    EXPECT_EQ(i, want.size());
    EXPECT_LT(fs::file_size(f), last) << level;
    last = fs::file_size(f);
  }
  EXPECT_THROW(datagen::open_h5_writer(dir + "/l4.h5", info, 1, 4), Error);
}

TEST(Datagen, EmptySplitIsAllowed) {
  const std::string dir = test::temp_dir("empty");
  auto c = small(isa::Profile::toy, 1);
  c.test = 0;
  datagen::H5Reader r(make_set(c, dir + "/s.h5"));
  EXPECT_EQ(r.size(1), 0u);
  EXPECT_EQ(r.size(0), 300u);
}

TEST(Datagen, ImpossibleSizeIsRefused) {
#if defined(__SANITIZE_ADDRESS__)
  // The refusal comes after the generator's bound of 1,000,000 candidates: ~2 s in the Release
  // build, 13-25 minutes under AddressSanitizer on a 2-core machine (over CTest's timeout).
  GTEST_SKIP() << "a million candidates: run in the Release build's tests";
#endif
  const std::string dir = test::temp_dir("impossible");
  auto c = small(isa::Profile::bgpt, 1);
  c.gen.max_len = 1;  // one distinct program (HLT) exists
  c.train = 5;
  c.test = 0;
  datagen::SetInfo info;
  info.isa = c.gen.isa;
  {
    auto w = datagen::open_h5_writer(dir + "/x.h5", info);
    EXPECT_THROW(datagen::generate(c, *w), Error);
  }
  EXPECT_FALSE(fs::exists(dir + "/x.h5"));
  EXPECT_TRUE(fs::is_empty(dir));  // the temporary is gone too
}

TEST(DatasetCli, RoundTripThroughThePapersFolders) {
  const std::string d = test::temp_dir("cli-roundtrip");
  const std::string bin = test::cpusim_bin();
  auto r = test::shell(
      bin + " datagen --isa bgpt --memory-size 64 --train 200 --test 20 --seed 3 -q -o " + d +
      "/a.h5");
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::shell(bin + " dataset export " + d + "/a.h5 -o " + d + "/folder");
  ASSERT_EQ(r.status, 0) << r.output;
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(d + "/folder"))
    files += e.path().extension() == ".bin";
  EXPECT_EQ(files, 220u);
  // The folder's cpusim.json names the machine: import, verify and trace need no --isa or
  // --memory-size (given ones must agree).
  EXPECT_TRUE(fs::exists(d + "/folder/cpusim.json"));
  r = test::shell(bin + " dataset import " + d + "/folder -o " + d + "/b.h5");
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::shell(bin + " verify --strict --json " + d + "/folder");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output)["memory_size"], 64);
  const auto one = fs::directory_iterator(d + "/folder/test")->path().string();
  r = test::shell(bin + " trace --no-program " + one);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("states of 16 bytes"), std::string::npos) << r.output;
  r = test::shell(bin + " verify --memory-size 128 " + one);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("cpusim.json says --isa bgpt --memory-size 64"), std::string::npos)
      << r.output;
  // An exported paper layout says so: import cuts the images back to the set's memory.
  r = test::shell(bin + " dataset export --paper-layout " + d + "/a.h5 -o " + d + "/paper");
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::shell(bin + " verify --json " + d + "/paper");  // the files hold 1024-byte images
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output)["memory_size"], 1024);
  r = test::shell(bin + " dataset import --skip-invalid " + d + "/paper -o " + d + "/c.h5");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(datagen::H5Reader(d + "/c.h5").info().isa.memory_size, 64u);
  // Same traces (import orders files by name, so compare as sets).
  datagen::H5Reader a(d + "/a.h5"), b(d + "/b.h5");
  for (int s = 0; s < 2; ++s) {
    auto da = load(a, s), db = load(b, s);
    std::multiset<std::vector<uint8_t>> ta, tb;
    for (size_t i = 0; i + 1 < da.offsets.size(); ++i)
      ta.insert(std::vector<uint8_t>(da.bytes.begin() + da.offsets[i],
                                     da.bytes.begin() + da.offsets[i + 1]));
    for (size_t i = 0; i + 1 < db.offsets.size(); ++i)
      tb.insert(std::vector<uint8_t>(db.bytes.begin() + db.offsets[i],
                                     db.bytes.begin() + db.offsets[i + 1]));
    EXPECT_EQ(ta, tb);
  }
  r = test::shell(bin + " verify --json --strict " + d + "/b.h5");
  EXPECT_EQ(r.status, 0) << r.output;
  r = test::shell(bin + " verify --strict --isa bgpt --memory-size 64 " + d + "/folder");
  EXPECT_EQ(r.status, 0) << r.output;
  r = test::shell(bin + " dataset info " + d + "/b.h5");
  EXPECT_NE(r.output.find("train: 200 traces"), std::string::npos) << r.output;
}

// Every .bin file under dir, as byte strings.
std::multiset<std::vector<uint8_t>> bin_traces(const std::string& dir) {
  std::multiset<std::vector<uint8_t>> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".bin") out.insert(read_file(e.path()));
  return out;
}

TEST(DatasetCli, PaperLayoutFilesImportIntoASmallerMemoryAndExportBack) {
  // The paper's simulator writes its whole 1024-byte memory as the image. Such files, with
  // programs that fit 64 bytes, import into a 64-byte set; a program of 16 instructions
  // reaches the 64-byte memory's PC cap (15) and is refused; export restores the files.
  const std::string d = test::temp_dir("cli-paper-layout");
  const std::string bin = test::cpusim_bin();
  auto r = test::shell(
      bin + " datagen --isa bgpt --max-len 16 --train 60 --test 40 --seed 5 --format bin -q -o " +
      d + "/paper");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto files = bin_traces(d + "/paper");
  size_t fit = 0;  // programs shorter than 16 instructions (1 + n states; 16 bytes each)
  for (const auto& f : files) fit += (f.size() - 1024) / 16 - 1 < 16;
  ASSERT_GT(fit, 0u);
  ASSERT_LT(fit, files.size());
  // Without --paper-layout: refused, with a hint.
  r = test::shell(bin + " dataset import --isa bgpt --memory-size 64 " + d + "/paper -o " + d +
                  "/a.h5");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("--paper-layout"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(d + "/a.h5"));
  // With it: the programs that reach the cap are refused by name and reason.
  r = test::shell(bin + " dataset import --isa bgpt --memory-size 64 --paper-layout " + d +
                  "/paper -o " + d + "/a.h5");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("caps the PC lower"), std::string::npos) << r.output;
  r = test::shell(bin +
                  " dataset import --isa bgpt --memory-size 64 --paper-layout --skip-invalid " + d +
                  "/paper -o " + d + "/a.h5");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("imported " + std::to_string(fit) + " traces"), std::string::npos)
      << r.output;
  datagen::H5Reader a(d + "/a.h5");
  EXPECT_EQ(a.info().isa.memory_size, 64u);
  EXPECT_EQ(a.size(0) + a.size(1), fit);
  r = test::shell(bin + " verify --strict " + d + "/a.h5");
  EXPECT_EQ(r.status, 0) << r.output;
  // Export in the paper's layout gives back exactly the files that fit.
  r = test::shell(bin + " dataset export --paper-layout " + d + "/a.h5 -o " + d + "/back");
  ASSERT_EQ(r.status, 0) << r.output;
  std::multiset<std::vector<uint8_t>> fitting;
  for (const auto& f : files)
    if ((f.size() - 1024) / 16 - 1 < 16) fitting.insert(f);
  EXPECT_EQ(bin_traces(d + "/back"), fitting);
  // A program that does not fit the smaller memory is refused as such.
  fs::create_directories(d + "/big/test");
  std::vector<uint8_t> big = *files.begin();
  big[100] = 1;  // a byte past 64
  write_file_atomic(d + "/big/test/x.bin", big);
  r = test::shell(bin + " dataset import --isa bgpt --memory-size 64 --paper-layout " + d +
                  "/big -o " + d + "/b.h5");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("does not fit a 64-byte memory (byte 100"), std::string::npos)
      << r.output;
  r = test::shell(bin + " dataset import --isa toy --paper-layout " + d + "/big -o " + d + "/b.h5");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("--paper-layout: only for bgpt"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(d + "/b.h5"));
}

TEST(DatasetCli, BadInputIsRefusedCleanly) {
  const std::string d = test::temp_dir("cli-bad");
  const std::string bin = test::cpusim_bin();
  ASSERT_EQ(
      test::shell(bin + " datagen --isa toy --train 20 --test 5 -q -o " + d + "/ok.h5").status, 0);
  // A truncated copy, a foreign HDF5-looking file, a text file.
  auto bytes = read_file(d + "/ok.h5");
  bytes.resize(bytes.size() / 2);
  write_file_atomic(d + "/trunc.h5", bytes);
  std::ofstream(d + "/text.h5") << "hello";
  fs::create_directories(d + "/paper/train");
  std::vector<uint8_t> badtrace(1024 + 32, 0);
  badtrace[0] = 77;  // invalid opcode
  write_file_atomic(d + "/paper/train/x.bin", badtrace);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"dataset info " + d + "/trunc.h5", "trunc.h5: "},
      {"dataset info " + d + "/text.h5", "text.h5: not an HDF5 file"},
      {"dataset info " + d + "/nope.h5", "nope.h5: no such file"},
      {"verify --isa bgpt " + d + "/ok.h5", "ok.h5: a toy set, not --isa bgpt"},
      // A folder under a file cannot be made, not even by root (which may create /anything).
      {"datagen --train 5 --test 1 -q -o " + d + "/text.h5/x.h5", "text.h5/x.h5: cannot create"},
      {"datagen --train 5 --test 1 --max-len 300 -q -o " + d + "/y.h5", "--max-len 300"},
      {"dataset import --isa bgpt " + d + "/paper -o " + d + "/imp.h5", "1 trace files refused"},
  };
  for (const auto& [args, want] : cases) {
    const auto r = test::shell(bin + " " + args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(want), std::string::npos) << args << "\n" << r.output;
  }
  EXPECT_FALSE(fs::exists(d + "/y.h5"));
  EXPECT_FALSE(fs::exists(d + "/imp.h5"));
  for (const auto& e : fs::directory_iterator(d))
    EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos) << e.path();
}

// Shards made in any order and merged give the one-machine set, file byte for byte, duplicate
// removal and the split boundary included; a missing, repeated or foreign shard, and shards with
// too few candidates, are refused in one line with nothing written.
TEST(DatasetCli, ShardsMergeIntoTheOneMachineSetByteForByte) {
  const std::string d = test::temp_dir("shards");
  const std::string bin = test::cpusim_bin();
  // Programs of 1..3 instructions in 32 bytes: many repeats to remove.
  const std::string set =
      " --isa bgpt --memory-size 32 --max-len 3 --train 3000 --test 300 --seed 5 -q";
  ASSERT_EQ(test::shell(bin + " datagen" + set + " -o " + d + "/one.h5").status, 0);
  for (int k : {2, 0, 1}) {
    const auto r = test::shell(bin + " datagen" + set + " --jobs " + std::to_string(1 + k % 2) +
                               " --shard " + std::to_string(k) + "/3 --candidates 12000 -o " + d +
                               "/s" + std::to_string(k) + ".h5");
    ASSERT_EQ(r.status, 0) << r.output;
  }
  auto r = test::shell(bin + " dataset merge " + d + "/s1.h5 " + d + "/s2.h5 " + d +
                       "/s0.h5 -q -o " + d + "/merged.h5");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_file(d + "/merged.h5"), read_file(d + "/one.h5"));
  const auto info =
      nlohmann::json::parse(test::shell(bin + " dataset info --json " + d + "/merged.h5").output);
  EXPECT_GT(info["train"]["duplicates_removed"].get<int>() +
                info["test"]["duplicates_removed"].get<int>(),
            100)
      << info;
  EXPECT_EQ(info["source"], "datagen");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {d + "/s0.h5 " + d + "/s1.h5", "shard 2 of 3 is missing"},
      {d + "/s0.h5 " + d + "/s1.h5 " + d + "/s1.h5", "shard 1 given twice"},
      {d + "/s0.h5 " + d + "/s1.h5 " + d + "/one.h5", "one.h5: not a shard"},
  };
  for (const auto& [args, want] : bad) {
    r = test::shell(bin + " dataset merge " + args + " -q -o " + d + "/bad.h5");
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_NE(r.output.find(want), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
  std::string other = set;
  other.replace(other.find("--seed 5"), 8, "--seed 6");
  ASSERT_EQ(test::shell(bin + " datagen" + other + " --shard 2/3 --candidates 12000 -o " + d +
                        "/other.h5")
                .status,
            0);
  r = test::shell(bin + " dataset merge " + d + "/s0.h5 " + d + "/s1.h5 " + d + "/other.h5 -q -o " +
                  d + "/bad.h5");
  EXPECT_NE(r.output.find("other.h5: a shard of another set"), std::string::npos) << r.output;
  for (int k = 0; k < 2; ++k)
    ASSERT_EQ(test::shell(bin + " datagen" + set + " --shard " + std::to_string(k) +
                          "/2 --candidates 3400 -o " + d + "/few" + std::to_string(k) + ".h5")
                  .status,
              0);
  r = test::shell(bin + " dataset merge " + d + "/few0.h5 " + d + "/few1.h5 -q -o " + d +
                  "/bad.h5");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("make the shards again with a larger --candidates"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(d + "/bad.h5"));
}

}  // namespace
}  // namespace cpusim
