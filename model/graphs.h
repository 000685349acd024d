// model/graphs.h: one micro-batch's forward and backward for the trainer and the benchmark,
// run eagerly or, on CUDA with --cuda-graphs, replayed from CUDA graphs. A graph is captured
// once per padded batch shape (patches rounded up to a multiple of 32, scored rows by at most
// 1/8; padded rows are left out of the loss), so a step costs one launch instead of about a
// thousand, each of which the host would otherwise prepare while the device waits.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/bgpt.h"
#include "model/internal.h"

namespace cpusim::model {

// Whether this build can capture CUDA graphs (libtorch 2.x built with CUDA, CUDA headers found).
bool cuda_graphs_built();

// Batch b with its inputs padded to T patches and its scored rows to N: the extra patches hold
// the padding symbol, the extra rows point at row 0 with padding bytes and loss targets of -100
// (cross_entropy's ignore_index), so the loss and the gradients are b's. fill_padded() copies b
// into such a batch made before, in place (for a graph's static inputs).
OnDevice padded(const OnDevice& b, int64_t T, int64_t N);
void fill_padded(OnDevice& g, const OnDevice& b);
// What a graph captures: the batch's mean loss (detached) and d(loss / accum) / d(parameter) as
// tensors of their own (undefined for a parameter the loss does not reach).
std::pair<torch::Tensor, std::vector<torch::Tensor>> loss_and_grads(BGPT& m, const OnDevice& b,
                                                                    const torch::Device& dev,
                                                                    bool bf16, int accum);
// Puts such gradients into the parameters' gradients: the first micro-batch's become them
// (alias: the very tensors, else copies), later ones are added.
void take_grads(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                bool first, bool alias);

class ForwardBackward {
 public:
  // graphs: capture and replay CUDA graphs (needs a CUDA device and cuda_graphs_built()).
  // hard_states < 1 (--hard-states): the backward pass of each micro-batch takes only that
  // fraction of its states, those with the highest loss (hardest_loss, model/loss.h); run
  // eagerly.
  ForwardBackward(BGPT& m, const torch::Device& dev, bool bf16, int accum, bool graphs,
                  double hard_states = 1);
  ~ForwardBackward();
  ForwardBackward(const ForwardBackward&) = delete;
  ForwardBackward& operator=(const ForwardBackward&) = delete;

  // Forward and backward of one micro-batch: the gradients of loss / accum go into the
  // parameters' gradients (the first micro-batch of a step after clear_grads(): they become
  // them; later ones add to them). Returns the batch's mean loss (of all its states, also with
  // hard_states < 1), a 0-dim tensor on the device, not read back. after_forward, if set, is called
  // between the eager forward and backward. `scale` != 1 (a data-parallel rank's share) runs
  // eagerly: the loss and gradients are scaled.
  torch::Tensor run(const OnDevice& b, bool first,
                    const std::function<void()>& after_forward = nullptr, double scale = 1.0);
  // One line: "eager", or the graphs captured and replayed, or why graphs were given up.
  std::string describe() const;

 private:
  struct Graphs;
  BGPT& m_;
  torch::Device dev_;
  bool bf16_;
  int accum_;
  double hard_;
  std::unique_ptr<Graphs> graphs_;
};

}  // namespace cpusim::model
