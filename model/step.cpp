// model/step.cpp: the training step's seam (model/step.h).
#include "model/step.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/io.h"
#include "model/compat.h"
#include "model/optim.h"

namespace cpusim::model {

namespace fs = std::filesystem;

namespace {

// --profile: steps 3..7 of an invocation (past the first steps' one-off costs).
constexpr int64_t kProfileFrom = 2, kProfileSteps = 5;

// Ends a --profile trace: written to a temporary name first, then into place.
void finish_trace(std::unique_ptr<compat::OperatorTrace>& trace, const std::string& path,
                  const torch::Device& dev, int64_t steps) {
  if (dev.is_cuda()) torch::cuda::synchronize();
  try {
    trace->finish();
  } catch (const std::exception& e) {
    throw Error(e.what());
  }
  trace.reset();
  std::error_code ec;
  fs::rename(temp_sibling(path), path, ec);
  if (ec) throw Error(path + ": cannot write the profile: " + ec.message());
  std::cerr << "train: operator trace of " << steps << " steps written to " << path << "\n";
}

}  // namespace

struct StepRunner::Timer {
  Timer(bool on, const torch::Device& dev) : on_(on), cuda_(dev.is_cuda()) {}
  void start() {
    if (on_) last_ = now();
  }
  void lap(Phase p) {
    if (!on_) return;
    const double t = now();
    secs_[size_t(p)] += t - last_;
    last_ = t;
  }
  std::string report(int64_t steps) const {
    static const char* names[] = {"batch", "forward",   "backward",           "all-reduce",
                                  "clip",  "optimizer", "log/eval/checkpoint"};
    double total = 0;
    for (double s : secs_) total += s;
    std::string r = "train: time per step " + fmt_ms(total, steps) + " ms:";
    for (size_t i = 0; i < size_t(Phase::count); ++i) {
      if (Phase(i) == Phase::allreduce && secs_[i] == 0) continue;  // one process: no all-reduce
      r += std::string(i ? "," : "") + " " + names[i] + " " + fmt_ms(secs_[i], steps);
    }
    return r + (cuda_ ? " (device synchronised after each phase)" : "");
  }

  double now() const {
    if (cuda_) torch::cuda::synchronize();
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  static std::string fmt_ms(double secs, int64_t steps) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f", steps ? 1000 * secs / double(steps) : 0.0);
    return b;
  }
  bool on_, cuda_;
  double last_ = 0;
  std::array<double, size_t(Phase::count)> secs_{};
};

StepRunner::StepRunner(BGPT& m, const torch::Device& dev, bool bf16, const TrainConfig& t,
                       int64_t first_step)
    : m_(m),
      dev_(dev),
      t_(t),
      first_step_(first_step),
      fb_(m, dev, bf16, t.accum, t.cuda_graphs, t.hard_states),
      timer_(std::make_unique<Timer>(t.timing, dev)) {}

StepRunner::~StepRunner() = default;

void StepRunner::begin(int64_t step) {
  if (!t_.profile.empty() && step - first_step_ == kProfileFrom) {
    if (dev_.is_cuda()) torch::cuda::synchronize();
    trace_ =
        std::make_unique<compat::OperatorTrace>(temp_sibling(t_.profile).string(), dev_.is_cuda());
  }
  if (trace_ && step - first_step_ == kProfileFrom + kProfileSteps)
    finish_trace(trace_, t_.profile, dev_, kProfileSteps);
  timer_->start();
}

void StepRunner::lap(Phase p) { timer_->lap(p); }

torch::Tensor StepRunner::forward_backward(const OnDevice& b, bool first, double scale) {
  // With --cuda-graphs one graph replay, timed as backward.
  torch::Tensor loss = fb_.run(
      b, first, [&] { timer_->lap(Phase::forward); }, scale);
  timer_->lap(Phase::backward);
  return loss;
}

void StepRunner::update(torch::optim::AdamW& opt, double clip) {
  clip_grad_norm(m_->parameters(), clip);
  timer_->lap(Phase::clip);
  adamw_step(opt);
  timer_->lap(Phase::optimizer);
}

void StepRunner::end(int64_t step, bool quiet) {
  if (trace_) finish_trace(trace_, t_.profile, dev_, step - first_step_ - kProfileFrom);
  if (t_.timing) std::cerr << timer_->report(step - first_step_) << "\n";
  if (t_.cuda_graphs && !quiet) std::cerr << "train: " << fb_.describe() << "\n";
}

}  // namespace cpusim::model
