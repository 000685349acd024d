// bench/bench_emulator.cpp: interpreter throughput for both profiles, with and without recording
// states. Programs come from the dataset generator (the paper's distribution for bgpt).
// Items are instructions executed; bytes are trace bytes recorded. Also the two other hot loops
// of datagen: the program generator and the MD5 that names each program image.
#include <benchmark/benchmark.h>

#include <vector>

#include "datagen/generator.h"
#include "datagen/md5.h"
#include "emulator/emulator.h"

namespace {

using namespace cpusim;

struct Pool {
  isa::Config config;
  std::vector<datagen::Instance> items;
};

const Pool& pool(isa::Profile p) {
  static Pool pools[2];
  Pool& pl = pools[int(p)];
  if (pl.items.empty()) {
    datagen::GenConfig g;
    g.isa = isa::default_config(p);
    pl.config = g.isa;
    datagen::Rng rng(42);
    pl.items.resize(512);
    for (auto& inst : pl.items) datagen::random_instance(g, rng, inst);
  }
  return pl;
}

template <bool kRecord>
void BM_Bgpt(benchmark::State& state) {
  const Pool& pl = pool(isa::Profile::bgpt);
  uint8_t s[16];
  std::vector<uint8_t> out;
  out.reserve(16 * 300);
  size_t i = 0;
  uint64_t instructions = 0, bytes = 0;
  for (auto _ : state) {
    const auto& inst = pl.items[i++ & 511];
    std::memcpy(s, inst.init.data(), 16);
    emu::Outcome o;
    if constexpr (kRecord) {
      out.clear();
      o = emu::bgpt::run(inst.image, s, 65536,
                         [&out](const uint8_t* st) { out.insert(out.end(), st, st + 16); });
      bytes += out.size();
    } else {
      o = emu::bgpt::run(inst.image, s, 65536, emu::NoSink{});
      benchmark::DoNotOptimize(s);
    }
    instructions += o.steps;
  }
  state.counters["instructions/s"] =
      benchmark::Counter(double(instructions), benchmark::Counter::kIsRate);
  state.SetItemsProcessed(int64_t(instructions));
  state.SetBytesProcessed(int64_t(bytes));
}
BENCHMARK(BM_Bgpt<false>)->Name("bgpt/no_record");
BENCHMARK(BM_Bgpt<true>)->Name("bgpt/record");

template <bool kRecord>
void BM_Toy(benchmark::State& state) {
  const Pool& pl = pool(isa::Profile::toy);
  const size_t sb = isa::state_bytes(pl.config);
  std::vector<uint8_t> s(sb), out;
  out.reserve(sb * 300);
  size_t i = 0;
  uint64_t instructions = 0, bytes = 0;
  for (auto _ : state) {
    const auto& inst = pl.items[i++ & 511];
    std::memcpy(s.data(), inst.init.data(), sb);
    emu::Outcome o;
    if constexpr (kRecord) {
      out.clear();
      o = emu::toy::run(inst.image, s.data(), pl.config.memory_size, 256,
                        [&out, sb](const uint8_t* st) { out.insert(out.end(), st, st + sb); });
      bytes += out.size();
    } else {
      o = emu::toy::run(inst.image, s.data(), pl.config.memory_size, 256, emu::NoSink{});
      benchmark::DoNotOptimize(s.data());
    }
    instructions += o.steps;
  }
  state.counters["instructions/s"] =
      benchmark::Counter(double(instructions), benchmark::Counter::kIsRate);
  state.SetItemsProcessed(int64_t(instructions));
  state.SetBytesProcessed(int64_t(bytes));
}
BENCHMARK(BM_Toy<false>)->Name("toy/no_record");
BENCHMARK(BM_Toy<true>)->Name("toy/record");

// MD5 of the paper-distribution program images (1 KB for bgpt): items are images.
void BM_Md5(benchmark::State& state) {
  const Pool& pl = pool(isa::Profile::bgpt);
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const auto& img = pl.items[i++ & 511].image;
    benchmark::DoNotOptimize(datagen::md5(img));
    bytes += img.size();
  }
  state.SetItemsProcessed(int64_t(i));
  state.SetBytesProcessed(int64_t(bytes));
}
BENCHMARK(BM_Md5)->Name("md5/bgpt_image");

// One random instance of the paper's distribution (program, image, initial state): items are
// instances.
void BM_Generate(benchmark::State& state) {
  datagen::GenConfig g;
  g.isa = isa::default_config(isa::Profile::bgpt);
  datagen::Rng rng(7);
  datagen::Instance inst;
  int64_t n = 0;
  for (auto _ : state) {
    datagen::random_instance(g, rng, inst);
    benchmark::DoNotOptimize(inst.image.data());
    ++n;
  }
  state.SetItemsProcessed(n);
}
BENCHMARK(BM_Generate)->Name("generate/bgpt_instance");

}  // namespace

BENCHMARK_MAIN();
