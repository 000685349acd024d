// model/graphs.cpp: eager or CUDA-graph forward and backward of a micro-batch (graphs.h).
#include "model/graphs.h"

#include <torch/version.h>

#include <array>
#include <iostream>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "common/io.h"
#include "model/compat.h"

#if !defined(CPUSIM_NO_CUDA_GRAPHS) && TORCH_VERSION_MAJOR >= 2 && __has_include(<cuda_runtime_api.h>) && \
    __has_include(<ATen/cuda/CUDAGraph.h>)
#define CPUSIM_CUDA_GRAPHS 1
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace cpusim::model {

bool cuda_graphs_built() {
#ifdef CPUSIM_CUDA_GRAPHS
  return true;
#else
  return false;
#endif
}

#ifdef CPUSIM_CUDA_GRAPHS
struct ForwardBackward::Graphs {
  struct Graph {
    at::cuda::CUDAGraph graph;
    OnDevice in;                       // static inputs: the batch padded to the graph's shape
    torch::Tensor loss;                // static output: the mean loss of the real rows
    std::vector<torch::Tensor> grads;  // static outputs: d(loss / accum) / d(parameter)
  };
  // One memory pool for all graphs: they never run at once, and what outlives a replay (loss,
  // gradients) is used or copied before the next one.
  decltype(at::cuda::graph_pool_handle()) pool = at::cuda::graph_pool_handle();
  std::map<std::array<int64_t, 3>, std::unique_ptr<Graph>> by_shape;  // (B, T, N)
  std::string given_up;  // why graphs are no longer used (empty: they are)
  int64_t replays = 0, eager = 0;
};
#else
struct ForwardBackward::Graphs {};
#endif

ForwardBackward::ForwardBackward(BGPT& m, const torch::Device& dev, bool bf16, int accum,
                                 bool graphs, double hard_states)
    : m_(m), dev_(dev), bf16_(bf16), accum_(accum), hard_(hard_states) {
  if (!(hard_ > 0 && hard_ <= 1)) throw Error("hard_states: expected a fraction in (0, 1]");
  if (!graphs) return;
  if (hard_ < 1) throw Error("--hard-states below 1 runs eagerly: it cannot take --cuda-graphs");
  if (!dev.is_cuda()) throw Error("--cuda-graphs needs --device cuda");
  if (!cuda_graphs_built())
    throw Error(
        "--cuda-graphs: this build has no CUDA graph support (it needs libtorch 2.x with CUDA and "
        "the CUDA headers)");
  graphs_ = std::make_unique<Graphs>();
}

ForwardBackward::~ForwardBackward() = default;

void fill_padded(OnDevice& g, const OnDevice& b) {
  const int64_t T0 = b.inputs.size(1), T = g.inputs.size(1), N0 = b.rows.size(0),
                N = g.rows.size(0);
  g.inputs.narrow(1, 0, T0).copy_(b.inputs, /*non_blocking=*/true);
  if (T > T0) g.inputs.narrow(1, T0, T - T0).fill_(kPad);
  g.rows.narrow(0, 0, N0).copy_(b.rows.div(T0, "floor") * T + b.rows.remainder(T0));
  g.targets.narrow(0, 0, N0).copy_(b.targets);
  g.prev.narrow(0, 0, N0).copy_(b.prev);
  if (b.context.defined()) g.context.narrow(0, 0, N0).copy_(b.context);
  g.loss_targets.narrow(0, 0, N0).copy_(b.targets);
  if (N > N0) {
    if (b.context.defined()) g.context.narrow(0, N0, N - N0).fill_(kPad);
    g.rows.narrow(0, N0, N - N0).fill_(0);
    g.targets.narrow(0, N0, N - N0).fill_(kPad);
    g.prev.narrow(0, N0, N - N0).fill_(kPad);
    g.loss_targets.narrow(0, N0, N - N0).fill_(-100);
  }
  g.bytes = b.bytes;  // rows are renumbered for T patches per trace
}

std::pair<torch::Tensor, std::vector<torch::Tensor>> loss_and_grads(BGPT& m, const OnDevice& b,
                                                                    const torch::Device& dev,
                                                                    bool bf16, int accum) {
  auto loss = forward_loss(m, b, dev, bf16);
  auto grads = torch::autograd::grad({loss / accum}, m->parameters(), {}, false, false,
                                     /*allow_unused=*/true);
  return {loss.detach(), grads};
}

void take_grads(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                bool first, bool alias) {
  for (size_t i = 0; i < params.size(); ++i) {
    if (!grads[i].defined()) continue;
    auto& grad = params[i].mutable_grad();
    if (first || !grad.defined())
      grad = alias ? grads[i] : grads[i].clone();
    else
      grad.add_(grads[i]);
  }
}

OnDevice padded(const OnDevice& b, int64_t T, int64_t N) {
  const auto lo = torch::TensorOptions().dtype(torch::kLong).device(b.inputs.device());
  const int64_t B = b.inputs.size(0), S = b.inputs.size(2);
  OnDevice g;
  g.inputs = torch::empty({B, T, S}, lo);
  g.rows = torch::empty({N}, lo);
  g.targets = torch::empty({N, S}, lo);
  g.prev = torch::empty({N, S}, lo);
  if (b.context.defined()) g.context = torch::empty({N, b.context.size(1)}, lo);
  g.loss_targets = torch::empty({N, S}, lo);
  fill_padded(g, b);
  return g;
}

#ifdef CPUSIM_CUDA_GRAPHS
namespace {

constexpr int64_t kPatchRound = 32, kMaxGraphs = 48;
int64_t round_up(int64_t n, int64_t q) { return (n + q - 1) / q * q; }
// Scored rows rounded up to 1/8 of the power of two below them (at least 128): at most ~12%
// padding, ~6% on average, and a few shapes per batch size.
int64_t round_rows(int64_t n) {
  int64_t p = 1;
  while (p * 2 <= n) p *= 2;
  return round_up(n, std::max<int64_t>(128, p / 8));
}

}  // namespace
#endif

torch::Tensor ForwardBackward::run(const OnDevice& b, bool first,
                                   const std::function<void()>& after_forward, double scale) {
#ifdef CPUSIM_CUDA_GRAPHS
  if (graphs_ && graphs_->given_up.empty() && b.rows.size(0) > 0 && scale == 1.0) {
    Graphs& gs = *graphs_;
    const int64_t B = b.inputs.size(0);
    const int64_t T =
        std::min<int64_t>(round_up(b.inputs.size(1), kPatchRound), m_->config.max_patches);
    const int64_t N = round_rows(b.rows.size(0));
    auto params = m_->parameters();
    auto it = gs.by_shape.find({B, T, N});
    if (it == gs.by_shape.end() && int64_t(gs.by_shape.size()) < kMaxGraphs) {
      auto g = std::make_unique<Graphs::Graph>();
      g->in = padded(b, T, N);
      try {
        torch::cuda::synchronize();
        c10::cuda::CUDAStream stream = c10::cuda::getStreamFromPool();
        {
          c10::cuda::CUDAStreamGuard guard(stream);
          loss_and_grads(m_, g->in, dev_, bf16_,
                         accum_);  // once eagerly on the capture stream: libraries
          stream.synchronize();    // initialise outside the capture
          g->graph.capture_begin(gs.pool);
          try {
            std::tie(g->loss, g->grads) = loss_and_grads(m_, g->in, dev_, bf16_, accum_);
          } catch (...) {
            try {
              g->graph.capture_end();
            } catch (...) {
            }
            throw;
          }
          g->graph.capture_end();
        }
        torch::cuda::synchronize();
        it = gs.by_shape.emplace(std::array<int64_t, 3>{B, T, N}, std::move(g)).first;
      } catch (const std::exception& e) {
        std::string why = e.what();
        why = why.substr(0, why.find('\n'));
        gs.given_up = "capturing a graph for " + std::to_string(B) + " traces, " +
                      std::to_string(T) + " patches, " + std::to_string(N) + " rows failed (" +
                      why + ")";
        std::cerr << "train: CUDA graphs given up, running eagerly: " << gs.given_up << "\n";
      }
    }
    if (gs.given_up.empty() && it != gs.by_shape.end()) {
      Graphs::Graph& g = *it->second;
      fill_padded(g.in, b);
      g.graph.replay();
      ++gs.replays;
      // With one micro-batch per step the parameters' gradients are the graph's outputs (the
      // step uses them before the next replay); with more, a copy is summed.
      take_grads(params, g.grads, first, accum_ == 1);
      return g.loss.clone();
    }
    ++gs.eager;
  }
#endif
  torch::Tensor
      whole;  // hard_states < 1: the hardest states' loss goes back, the whole batch's out
  auto loss =
      hard_ < 1 ? hardest_loss(m_, b, dev_, bf16_, hard_, whole) : forward_loss(m_, b, dev_, bf16_);
  if (after_forward) after_forward();
  if (scale != 1.0) loss = loss * scale, whole = whole.defined() ? whole * scale : whole;
  (loss / accum_).backward();
  return whole.defined() ? whole : loss.detach();
}

std::string ForwardBackward::describe() const {
#ifdef CPUSIM_CUDA_GRAPHS
  if (graphs_) {
    const Graphs& gs = *graphs_;
    if (!gs.given_up.empty()) return "CUDA graphs given up: " + gs.given_up;
    return "CUDA graphs: " + std::to_string(gs.by_shape.size()) + " batch shapes captured, " +
           std::to_string(gs.replays) + " micro-batches replayed, " + std::to_string(gs.eager) +
           " run eagerly";
  }
#endif
  return "eager";
}

}  // namespace cpusim::model
