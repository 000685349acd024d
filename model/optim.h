// model/optim.h: the optimizer step and gradient clipping, multi-tensor, equal to libtorch's.
// Internal to model/.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace cpusim::model {

// Drops the parameters' gradients (the next backward creates them: no kernel per parameter to
// zero them; the arithmetic is the same, as 0 + g == g).
void clear_grads(const std::vector<torch::Tensor>& params);

// One AdamW step equal to libtorch's AdamW::step() (same arithmetic in the same order, same
// state, so checkpoints are unchanged), applied to all parameters at once with multi-tensor
// ops: on a GPU a handful of kernels instead of eight per parameter tensor.
void adamw_step(torch::optim::AdamW& opt);
// Gradient-norm clipping as torch::nn::utils::clip_grad_norm_ (2-norm, the same arithmetic),
// with multi-tensor ops and without reading anything back from the device: returns the norm
// before clipping as a 0-dim tensor on the parameters' device. max_norm <= 0: no clipping.
torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace cpusim::model
