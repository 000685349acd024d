// bench/bench_model.cpp: bGPT training and generation throughput on this machine, per preset.
// Training: one optimizer step on a batch of random bgpt traces (the paper's 1024-byte memory,
// programs of 1..255 instructions, or the quickstart's 64-byte memory); bytes/s counts trace
// bytes, FLOP/s uses 6 x parameters x positions for the matrix work. Generation: KV-cached
// rollouts, states/s. Rates are per wall-clock second (UseRealTime: on a GPU the host thread's
// CPU time is much less than the step's). `bench_model --device=cuda` runs the GPU set instead (the
// paper's settings: batch 16 bf16 training with the loss on every patch, rollouts of 1..256
// programs).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <filesystem>
#include <iostream>

#include "datagen/generator.h"
#include "emulator/emulator.h"
#include "model/api.h"
#include "model/bgpt.h"
#include "model/checkpoint.h"
#include "model/compat.h"
#include "model/graphs.h"
#include "model/internal.h"

namespace {

using namespace cpusim;

torch::Device g_device = torch::kCPU;  // --device=cuda

// Waits for the GPU's queued work, so each iteration's time is the work's.
void sync() {
  if (g_device.is_cuda()) torch::cuda::synchronize();
}

// Random bgpt traces held as the trainer holds a split, with their layout.
struct Data {
  model::Split split;
  model::Layout layout;
};

Data make_data(unsigned memory, unsigned max_len, int n) {
  datagen::GenConfig g;
  g.isa = isa::default_config(isa::Profile::bgpt);
  g.isa.memory_size = memory;
  g.max_len = max_len;
  datagen::Rng rng(1);
  datagen::Instance inst;
  Data d;
  d.layout = model::layout_of(g.isa);
  d.split.offsets.push_back(0);
  std::vector<uint8_t> t;
  for (int i = 0; i < n; ++i) {
    datagen::random_instance(g, rng, inst);
    t.clear();
    emu::run_trace(g.isa, inst.image, inst.init, t);
    d.split.bytes.insert(d.split.bytes.end(), t.begin(), t.end());
    d.split.offsets.push_back(d.split.bytes.size());
  }
  return d;
}

int64_t count(const std::vector<torch::Tensor>& ps) {
  int64_t n = 0;
  for (const auto& p : ps) n += p.numel();
  return n;
}

// The precision's bf16 flag, with libtorch's CPU threads set as `cpusim train` and `eval` set them.
bool use_precision(const std::string& precision) {
  const bool bf16 = model::use_bf16(precision, g_device);
  model::set_cpu_threads(0, bf16, g_device);
  return bf16;
}

// loss_on_all: every patch scored (the paper's training); else the states after the first.
void BM_Train(benchmark::State& state, const std::string& preset, unsigned memory, unsigned max_len,
              int B, const std::string& precision, bool loss_on_all, const std::string& gelu,
              bool graphs) {
  const torch::Device dev = g_device;
  const bool bf16 = use_precision(precision);
  torch::manual_seed(0);
  auto c = model::preset(preset);
  c.copy_path = true;
  c.gelu = gelu;
  model::BGPT m(c);
  m->to(dev);
  torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(1e-4).betas({0.9, 0.95}));
  const Data d = make_data(memory, max_len, 256);
  int64_t patch_params = 0, byte_params = 0;
  for (const auto& b : *m->patch_blocks) patch_params += count(b->parameters());
  for (const auto& b : *m->byte_blocks) byte_params += count(b->parameters());
  model::ForwardBackward fb(m, dev, bf16, 1, graphs);
  uint64_t first = 0;
  int64_t bytes_total = 0;
  double flops = 0;
  // One optimizer step as the trainer takes it; the first, untimed, loads the device's kernels.
  auto step = [&] {
    std::vector<uint64_t> idx;
    for (int k = 0; k < B; ++k) idx.push_back((first + uint64_t(k)) % d.split.count());
    first += uint64_t(B);
    const model::OnDevice b = model::to_device(
        model::make_batch(d.split, idx, d.layout, loss_on_all, c.max_patches), dev);
    model::clear_grads(m->parameters());
    auto loss = fb.run(b, true);
    model::clip_grad_norm(m->parameters(), 1.0);
    model::adamw_step(opt);
    benchmark::DoNotOptimize(loss.item<double>());  // the trainer's one wait for the device
    sync();
    bytes_total += b.bytes;
    // Matrix work: 6 x params x positions (forward + backward), plus the byte head.
    flops += 6.0 * patch_params * double(b.inputs.size(0) * b.inputs.size(1)) +
             6.0 * (byte_params + 257.0 * c.width) * double(b.targets.numel());
  };
  // Untimed: one step, or with graphs one pass over the data's batches (each new batch shape
  // captures a graph once).
  for (int i = 0; i < (graphs ? int(d.split.count()) / B : 1); ++i) step();
  bytes_total = 0, flops = 0;
  for (auto _ : state) step();
  state.counters["bytes/s"] = benchmark::Counter(double(bytes_total), benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
  state.counters["params_M"] = count(m->parameters()) / 1e6;
  state.counters["threads"] = at::get_num_threads();
  if (graphs) state.SetLabel(fb.describe());
}

void BM_Rollout(benchmark::State& state, const std::string& preset, unsigned memory,
                unsigned max_len, int B, const std::string& precision) {
  const torch::Device dev = g_device;
  const bool bf16 = use_precision(precision);
  if (bf16) model::compat::autocast_bf16(dev, true);
  torch::NoGradGuard ng;
  torch::manual_seed(0);
  auto c = model::preset(preset);
  c.copy_path = true;
  model::BGPT m(c);
  m->to(dev);
  m->eval();
  const Data d = make_data(memory, max_len, 64);
  const int64_t T0 = 1 + d.layout.image_patches + d.layout.state_patches, steps = 16;
  int64_t states = 0;
  // 16 states of B programs; the first call, untimed, loads the device's kernels.
  auto rollout = [&] {
    auto seq = torch::full({B, T0, 16}, model::kPad, torch::kLong);
    for (int b = 0; b < B; ++b) {
      const uint8_t* t = d.split.trace(uint64_t(b) % d.split.count());
      auto src =
          torch::from_blob(const_cast<uint8_t*>(t), {T0 - 1, 16}, torch::kUInt8).to(torch::kLong);
      seq[b].narrow(0, 1, T0 - 1).copy_(src);
    }
    seq = seq.to(dev);
    std::vector<model::KV> cache;
    auto feat = m->patch_features(seq, 0, &cache).select(1, T0 - 1);
    auto prev = seq.select(1, T0 - 1);
    for (int64_t s = 0; s < steps; ++s) {
      auto patch = m->byte_generate(feat, prev);
      feat = m->patch_features(patch.unsqueeze(1), T0 + s, &cache).select(1, 0);
      prev = patch;
      benchmark::DoNotOptimize(
          patch.to(torch::kCPU));  // as `cpusim eval` does: each state comes back to the host
    }
    sync();
    states += B * steps;
  };
  rollout();
  states = 0;
  for (auto _ : state) rollout();
  if (bf16) model::compat::autocast_bf16(dev, false);
  state.counters["states/s"] = benchmark::Counter(double(states), benchmark::Counter::kIsRate);
  state.counters["threads"] = at::get_num_threads();
}

// `cpusim eval --mode rollout`'s own path: a Simulator loaded from a checkpoint of the `small`
// model with the given architecture, 16 states for each of B quickstart programs (64-byte
// memory) at once, KV-cached, each state back on the host. "copy_path": the old quickstart
// recipe; "recipe": today's (copy path, the previous state and the program as attention
// memories, byte bits, 8 heads, exact GELU). Untrained weights: the rate does not depend on them.
void BM_SimulatorRollout(benchmark::State& state, const std::string& arch, int B,
                         const std::string& precision) {
  auto c = model::preset("small");
  c.copy_path = true;
  if (arch == "recipe") {
    c.heads = 8, c.gelu = "erf", c.byte_bits = true, c.prefix_memory = true;
    c.state_prefix = 16, c.program_memory = 64;
  }
  torch::manual_seed(0);
  model::BGPT m(c);
  isa::Config isa = isa::default_config(isa::Profile::bgpt);
  isa.memory_size = 64;
  const std::string path =
      std::filesystem::temp_directory_path() / ("cpusim-bench-" + arch + ".pt");
  model::save_checkpoint(path, m, nullptr,
                         {{"format", "cpusim-checkpoint"},
                          {"version", 1},
                          {"preset", "small"},
                          {"model", model::to_json(c)},
                          {"isa", model::isa_json(isa)},
                          {"dataset", ""},
                          {"step", 0}});
  model::Simulator sim(path, "cpu", 0, precision);
  std::filesystem::remove(path);
  const Data d = make_data(64, 16, B);
  std::vector<std::span<const uint8_t>> prefixes;
  for (int b = 0; b < B; ++b)
    prefixes.push_back(std::span<const uint8_t>(d.split.trace(uint64_t(b)), 64 + 16));
  int64_t states = 0;
  auto run = [&] {
    for (const auto& p : sim.rollout(prefixes, 16, true)) states += int64_t(p.size() / 16);
  };
  run();  // (the first call allocates)
  states = 0;
  for (auto _ : state) run();
  state.counters["states/s"] = benchmark::Counter(double(states), benchmark::Counter::kIsRate);
  state.counters["threads"] = at::get_num_threads();
}

void register_cpu() {
  auto train = [](const char* name, const char* preset, unsigned mem, unsigned len, int B,
                  const char* prec, double t, const char* gelu = "tanh") {
    benchmark::RegisterBenchmark(name, BM_Train, preset, mem, len, B, prec, false, gelu, false)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(t)
        ->UseRealTime();
  };
  auto rollout = [](const char* name, const char* preset, unsigned mem, unsigned len, int B,
                    const char* prec, double t) {
    benchmark::RegisterBenchmark(name, BM_Rollout, preset, mem, len, B, prec)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(t)
        ->UseRealTime();
  };
  train("BM_Train/tiny_mem64_fp32", "tiny", 64, 16, 32, "fp32", 5);
  train("BM_Train/tiny_mem64_bf16", "tiny", 64, 16, 32, "bf16", 5);
  train("BM_Train/small_mem64_fp32", "small", 64, 16, 32, "fp32", 10);
  train("BM_Train/small_mem64_bf16", "small", 64, 16, 32, "bf16", 10);
  train("BM_Train/small_mem64_bf16_gelu_erf", "small", 64, 16, 32, "bf16", 10, "erf");
  train("BM_Train/small_mem1024_fp32", "small", 1024, 255, 8, "fp32", 10);
  train("BM_Train/small_mem1024_bf16", "small", 1024, 255, 8, "bf16", 10);
  train("BM_Train/paper_mem1024_fp32", "paper", 1024, 255, 2, "fp32", 20);
  train("BM_Train/paper_mem1024_bf16", "paper", 1024, 255, 2, "bf16", 20);
  rollout("BM_Rollout/small_mem64_b64_fp32", "small", 64, 16, 64, "fp32", 5);
  rollout("BM_Rollout/small_mem64_b64_bf16", "small", 64, 16, 64, "bf16", 5);
  rollout("BM_Rollout/paper_mem1024_b1_fp32", "paper", 1024, 255, 1, "fp32", 10);
  rollout("BM_Rollout/paper_mem1024_b16_fp32", "paper", 1024, 255, 16, "fp32", 10);
  rollout("BM_Rollout/paper_mem1024_b16_bf16", "paper", 1024, 255, 16, "bf16", 10);
  for (const char* arch : {"copy_path", "recipe"})
    for (int B : {1, 64})
      benchmark::RegisterBenchmark((std::string("BM_SimulatorRollout/small_mem64_") + arch + "_b" +
                                    std::to_string(B) + "_fp32")
                                       .c_str(),
                                   BM_SimulatorRollout, std::string(arch), B, std::string("fp32"))
          ->Unit(benchmark::kMillisecond)
          ->MinTime(5)
          ->UseRealTime();
}

// On a GPU: the paper's training settings (batch 16, bf16 autocast, loss on every patch; its
// code measured ~0.51 MB/s on one H200), larger batches, the exact GELU, and ours (loss on
// states), and rollouts from one
// program at a time (the paper's generate(): ~18 states/s) to 256.
void register_cuda() {
  auto train = [](const char* name, const char* preset, int B, const char* prec, bool all,
                  const char* gelu = "tanh", bool graphs = false) {
    benchmark::RegisterBenchmark(name, BM_Train, preset, 1024u, 255u, B, prec, all, gelu, graphs)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(3)
        ->UseRealTime();
  };
  auto rollout = [](const char* name, const char* preset, int B, const char* prec) {
    benchmark::RegisterBenchmark(name, BM_Rollout, preset, 1024u, 255u, B, prec)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(2)
        ->UseRealTime();
  };
  train("BM_Train/paper_mem1024_b16_bf16_lossall", "paper", 16, "bf16", true);
  train("BM_Train/paper_mem1024_b16_bf16", "paper", 16, "bf16", false);
  train("BM_Train/paper_mem1024_b16_fp32_lossall", "paper", 16, "fp32", true);
  train("BM_Train/paper_mem1024_b32_bf16_lossall", "paper", 32, "bf16", true);
  train("BM_Train/paper_mem1024_b64_bf16_lossall", "paper", 64, "bf16", true);
  train("BM_Train/paper_mem1024_b16_bf16_lossall_gelu_erf", "paper", 16, "bf16", true, "erf");
  if (model::cuda_graphs_built()) {
    train("BM_Train/paper_mem1024_b16_bf16_lossall_graphs", "paper", 16, "bf16", true, "tanh",
          true);
    train("BM_Train/paper_mem1024_b64_bf16_lossall_graphs", "paper", 64, "bf16", true, "tanh",
          true);
  }
  train("BM_Train/small_mem1024_b16_bf16_lossall", "small", 16, "bf16", true);
  train("BM_Train/small_mem1024_b64_bf16_lossall", "small", 64, "bf16", true);
  rollout("BM_Rollout/paper_mem1024_b1_fp32", "paper", 1, "fp32");
  rollout("BM_Rollout/paper_mem1024_b1_bf16", "paper", 1, "bf16");
  rollout("BM_Rollout/paper_mem1024_b16_bf16", "paper", 16, "bf16");
  rollout("BM_Rollout/paper_mem1024_b64_bf16", "paper", 64, "bf16");
  rollout("BM_Rollout/paper_mem1024_b256_bf16", "paper", 256, "bf16");
  rollout("BM_Rollout/small_mem1024_b1_bf16", "small", 1, "bf16");
  rollout("BM_Rollout/small_mem1024_b256_bf16", "small", 256, "bf16");
}

}  // namespace

int main(int argc, char** argv) {
  // --device=cuda (ours, taken out before Google Benchmark reads the rest).
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--device=", 0) == 0) {
      const std::string d = a.substr(9);
      if (d == "cuda" && torch::cuda::is_available()) {
        g_device = torch::kCUDA;
        model::compat::prefer_flash_attention();  // as `cpusim train` and `eval` do
      } else if (d != "cpu") {
        std::cerr << "bench_model: --device=" << d
                  << ": expected cpu or cuda (with a CUDA device present)\n";
        return 2;
      }
      continue;
    }
    args.push_back(argv[i]);
  }
  int n = int(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  if (g_device.is_cuda())
    register_cuda();
  else
    register_cpu();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
