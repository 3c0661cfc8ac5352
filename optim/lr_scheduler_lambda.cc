// LambdaLR: base lr times a user function of the epoch.
#include "fulgur/optim/lr_scheduler_lambda.h"

namespace fulgur::optim {

LambdaLR::LambdaLR(Optimizer& optimizer, LambdaLROptions o) : LRScheduler(optimizer, o.last_epoch, "LambdaLR") {
  FULGUR_CHECK(static_cast<bool>(o.lr_lambda) != !o.lr_lambdas.empty(), "LambdaLR",
               "set exactly one of lr_lambda (all groups) and lr_lambdas (one per group)");
  if (o.lr_lambda) {
    lambdas_.assign(num_groups(), o.lr_lambda);
  } else {
    FULGUR_CHECK(o.lr_lambdas.size() == num_groups(), "LambdaLR", "Expected ", num_groups(), " lr_lambdas, but got ",
                 o.lr_lambdas.size());
    for (const auto& f : o.lr_lambdas) FULGUR_CHECK(static_cast<bool>(f), "LambdaLR", "an lr_lambda is empty");
    lambdas_ = std::move(o.lr_lambdas);
  }
  initial_step();
}

std::vector<double> LambdaLR::get_lr() {
  std::vector<double> lrs;
  for (size_t i = 0; i < lambdas_.size() && i < base_lrs_.size(); ++i)
    lrs.push_back(base_lrs_[i] * lambdas_[i](last_epoch_));
  return lrs;
}

Value LambdaLR::state_dict() const {
  Value out = Value::dict();
  append_base_state(out);
  out.set("lr_lambdas", Value::list(std::vector<Value>(lambdas_.size())));  // functions are not saved
  return out;
}

void LambdaLR::load_state_dict(const Value& sd) { load_base_state(sd); }

}  // namespace fulgur::optim
