// model/optim.cpp: AdamW and gradient clipping as libtorch computes them, applied to all
// parameters at once with multi-tensor ops, and gradients dropped between steps.
#include "model/optim.h"

#include <cmath>
#include <map>

#include "model/compat.h"

namespace cpusim::model {

void clear_grads(const std::vector<torch::Tensor>& params) {
  for (auto p : params) p.mutable_grad().reset();
}

void adamw_step(torch::optim::AdamW& opt) {
  torch::NoGradGuard ng;
  auto& state = opt.state();
  for (auto& group : opt.param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    TORCH_CHECK(!o.amsgrad(), "adamw_step: amsgrad is not supported");
    // Parameters with a gradient, grouped by their step count (all equal in a normal run).
    struct Group {
      std::vector<torch::Tensor> params, grads, exp_avg, exp_avg_sq;
    };
    std::map<int64_t, Group> by_step;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto key = compat::state_key(state, p);
      auto it = state.find(key);
      if (it == state.end()) {
        auto st = std::make_unique<torch::optim::AdamWParamState>();
        st->step(0);
        st->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        st->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        it = state.insert({key, std::move(st)}).first;
      }
      auto& st = static_cast<torch::optim::AdamWParamState&>(*it->second);
      Group& g = by_step[st.step()];
      st.step(st.step() + 1);
      g.params.push_back(p);
      g.grads.push_back(p.grad());
      g.exp_avg.push_back(st.exp_avg());
      g.exp_avg_sq.push_back(st.exp_avg_sq());
    }
    for (auto& [step0, g] : by_step) {
      auto &ps = g.params, &gs = g.grads, &m = g.exp_avg, &v = g.exp_avg_sq;
      const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
      const double bc1 = 1 - std::pow(beta1, double(step0 + 1)),
                   bc2 = 1 - std::pow(beta2, double(step0 + 1));
      if (o.weight_decay() != 0) at::_foreach_mul_(ps, c10::Scalar(1 - o.lr() * o.weight_decay()));
      at::_foreach_mul_(m, c10::Scalar(beta1));
      at::_foreach_add_(m, gs, c10::Scalar(1 - beta1));
      at::_foreach_mul_(v, c10::Scalar(beta2));
      at::_foreach_addcmul_(v, gs, gs, c10::Scalar(1 - beta2));
      auto denom = at::_foreach_sqrt(v);
      at::_foreach_div_(denom, c10::Scalar(std::sqrt(bc2)));
      at::_foreach_add_(denom, c10::Scalar(o.eps()));
      at::_foreach_addcdiv_(ps, m, denom, c10::Scalar(-o.lr() / bc1));
    }
  }
}

torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return torch::zeros({});
  const auto norms = at::_foreach_norm(grads, c10::Scalar(2.0));
  const auto total = torch::stack(norms).norm(2);
  // The factor as clip_grad_norm_ computes it (in the gradients' precision), applied on the
  // device: a factor of 1 leaves the gradients as they are.
  if (max_norm > 0) compat::foreach_mul_(grads, (max_norm / (total + 1e-6)).clamp_max(1.0));
  return total;
}

}  // namespace cpusim::model
