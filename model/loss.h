// model/loss.h: the trainer's forward pass and the held-out evaluation, which share the
// teacher-forced logits of a batch's scored rows. Internal to model/.
#pragma once

#include <torch/torch.h>

#include "model/batch.h"
#include "model/bgpt.h"

namespace cpusim::model {

// The teacher-forced logits of a batch's scored rows, (N, S, V) in fp32, with the model's
// matrix products in bf16 autocast when `bf16`.
torch::Tensor scored_logits(BGPT& m, const OnDevice& b, const torch::Device& dev, bool bf16);
// The mean cross-entropy of the scored bytes (a 0-dim fp32 tensor, with its graph), with the
// model's matrix products in bf16 autocast when `bf16`. The trainer's forward pass.
torch::Tensor forward_loss(BGPT& m, const OnDevice& b, const torch::Device& dev, bool bf16);
// --hard-states: forward_loss of the scored rows of `b` (states) with the highest loss, the
// fraction `keep` of them (at least one, in their order in `b`), chosen by the byte decoder run
// over every row without gradients on the patch features of the one forward pass with them.
// `whole_loss` gets the mean loss of all of b's scored bytes (forward_loss(b)'s figure, no
// graph); `kept`, if given, the batch of the kept rows (forward_loss(*kept) is the result).
torch::Tensor hardest_loss(BGPT& m, const OnDevice& b, const torch::Device& dev, bool bf16,
                           double keep, torch::Tensor& whole_loss, OnDevice* kept = nullptr);
struct EvalResult {
  double loss = 0;
  double byte_accuracy = 0;  // teacher-forced argmax of each byte
  double exact_patches = 0;  // scored patches with all 16 bytes right (bgpt: exact next states)
};
// Held-out loss and teacher-forced byte accuracy of `m` over `data` (eval mode, no gradients).
// With `dist` active, each rank evaluates its contiguous share of the traces and the sums are
// reduced: every rank gets the whole set's figures.
class Dist;
EvalResult evaluate(BGPT& m, const Split& data, const Layout& l, bool loss_on_all, int batch,
                    const torch::Device& dev, bool bf16, Dist* dist = nullptr);

}  // namespace cpusim::model
