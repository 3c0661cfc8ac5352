// LambdaLR (PyTorch 1.13): lr = base lr * lr_lambda(epoch), one function for every group or
// one per group. The functions are not part of state_dict() (saved as None, as PyTorch does
// for plain functions); rebuild the scheduler with the same functions before loading.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "fulgur/optim/lr_scheduler.h"

namespace fulgur::optim {

using LRLambda = std::function<double(int64_t epoch)>;

// optim::LambdaLR(opt, {.lr_lambda = [](int64_t e) { return std::pow(0.95, e); }})
// Set exactly one of lr_lambda (all groups) and lr_lambdas (one per group).
struct LambdaLROptions {
  LRLambda lr_lambda;
  std::vector<LRLambda> lr_lambdas;
  int64_t last_epoch = -1;
};

class LambdaLR : public LRScheduler {
 public:
  LambdaLR(Optimizer& optimizer, LambdaLROptions options);
  Value state_dict() const override;
  void load_state_dict(const Value& state_dict) override;

 protected:
  std::vector<double> get_lr() override;

 private:
  std::vector<LRLambda> lambdas_;
};

}  // namespace fulgur::optim
