// model/step.h: one training step's forward and backward behind one seam: run eagerly or
// replayed from CUDA graphs (model/graphs.h), with --timing's phase timer and --profile's
// operator trace around it. The training loop calls this and knows nothing of the three.
// Includes torch; internal to model/.
#pragma once

#include <torch/torch.h>

#include <array>
#include <memory>
#include <string>
#include <type_traits>

#include "model/batch.h"
#include "model/bgpt.h"
#include "model/config.h"
#include "model/graphs.h"

namespace cpusim::model {

namespace compat {
class OperatorTrace;
}

// --timing: where a training step's time goes. Each lap waits for the device, so on a GPU the
// phases are the device's time for them (and the run is a little slower than without).
enum class Phase { batch, forward, backward, allreduce, clip, optimizer, other, count };

class StepRunner {
 public:
  // `first_step`: the step this invocation starts at (a resumed run's is not 0).
  StepRunner(BGPT& m, const torch::Device& dev, bool bf16, const TrainConfig& t,
             int64_t first_step);
  ~StepRunner();
  // At the top of each step: opens or closes the --profile window (steps 3..7 of this
  // invocation) and starts the step's clock.
  void begin(int64_t step);
  // The phase that just ended (with --timing; nothing otherwise).
  void lap(Phase p);
  // `f()`, timed as phase `p`; returns what f returns.
  template <class F>
  auto timed(Phase p, F&& f) -> decltype(f()) {
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      lap(p);
    } else {
      auto r = f();
      lap(p);
      return r;
    }
  }
  // Forward and backward of one micro-batch (model/graphs.h's ForwardBackward::run), timed as
  // the forward and backward phases; returns the batch's mean loss on the device.
  // `scale` weighs the batch's loss (a rank's share of a data-parallel micro-batch).
  torch::Tensor forward_backward(const OnDevice& b, bool first, double scale = 1.0);
  // The update: gradients clipped to norm `clip` (0: not), then AdamW's step; timed as the clip
  // and optimizer phases.
  void update(torch::optim::AdamW& opt, double clip);
  // After the last step: closes an open trace, prints the timing and the graphs' summary.
  void end(int64_t step, bool quiet);

 private:
  struct Timer;
  BGPT& m_;
  torch::Device dev_;
  const TrainConfig& t_;
  int64_t first_step_;
  ForwardBackward fb_;
  std::unique_ptr<Timer> timer_;
  std::unique_ptr<compat::OperatorTrace> trace_;
};

}  // namespace cpusim::model
