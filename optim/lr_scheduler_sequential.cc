// SequentialLR: PyTorch 1.13's construction (reset, replay) and milestone switching.
#include "fulgur/optim/lr_scheduler_sequential.h"

#include <algorithm>

namespace fulgur::optim {

SequentialLR::SequentialLR(Optimizer& optimizer, SequentialLROptions o)
    : LRScheduler(optimizer, Bare{}, "SequentialLR"),
      schedulers_(std::move(o.schedulers)),
      milestones_(std::move(o.milestones)) {
  const char* op = "SequentialLR";
  FULGUR_CHECK(!schedulers_.empty(), op, "needs at least one scheduler");
  for (size_t i = 0; i < schedulers_.size(); ++i) {
    FULGUR_CHECK(schedulers_[i] != nullptr, op, "scheduler ", i, " is null");
    FULGUR_CHECK(&schedulers_[i]->optimizer() == &optimizer, op, "Sequential Schedulers expects all schedulers to "
                 "belong to the same optimizer, but got schedulers at index ", i,
                 " to be different than the optimizer passed in");
  }
  FULGUR_CHECK(milestones_.size() + 1 == schedulers_.size(), op, "Sequential Schedulers expects number of "
               "schedulers provided to be one more than the number of milestone points, but got number of "
               "schedulers ", schedulers_.size(), " and the number of milestones to be equal to ", milestones_.size());
  last_epoch_ = o.last_epoch + 1;
  auto& groups = optimizer.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    const Value* initial = groups[i].options.find("initial_lr");
    FULGUR_CHECK(initial && initial->is_number(), op, "param_groups[", i, "] has no 'initial_lr'");
    groups[i].set_lr(initial->to_double());
  }
  for (auto& s : schedulers_) shift_last_epoch(*s, -1);
  run_initial_step(*schedulers_[0]);
  last_lr_ = schedulers_[0]->get_last_lr();
}

void SequentialLR::step() {
  last_epoch_ += 1;
  const size_t idx = static_cast<size_t>(
      std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin());
  LRScheduler& s = *schedulers_[idx];
  if (idx > 0 && milestones_[idx - 1] == last_epoch_) {
    s.step(0.0);
  } else {
    s.step();
  }
  last_lr_ = s.get_last_lr();
}

void SequentialLR::step(double epoch) {
  FULGUR_FAIL("SequentialLR", "step(epoch) is not supported (got epoch ", epoch, "); hint: call step()");
}

Value SequentialLR::state_dict() const {
  Value milestones = Value::list();
  for (int64_t m : milestones_) milestones.push_back(m);
  Value children = Value::list();
  for (const auto& s : schedulers_) children.push_back(s->state_dict());
  return Value::dict({{"_milestones", std::move(milestones)},
                      {"last_epoch", last_epoch_},
                      {"_last_lr", detail::doubles_value(last_lr_)},
                      {"_schedulers", std::move(children)}});
}

void SequentialLR::load_state_dict(const Value& sd) {
  const std::string op = "SequentialLR::load_state_dict";
  FULGUR_CHECK(sd.is_dict(), op.c_str(), "expected a dict, got ", sd.type_name());
  const Value* children = sd.find("_schedulers");
  if (children) {
    FULGUR_CHECK(children->is_sequence() && children->size() == schedulers_.size(), op.c_str(),
                 "'_schedulers' must list the state of each of the ", schedulers_.size(), " schedulers, got ",
                 children->repr());
  }
  if (const Value* m = sd.find("_milestones")) {
    FULGUR_CHECK(m->is_sequence(), op.c_str(), "'_milestones' must be a list, got ", m->type_name());
    std::vector<int64_t> milestones;
    for (const Value& x : m->elements()) {
      FULGUR_CHECK(x.is_int(), op.c_str(), "'_milestones' must hold ints, got ", x.repr());
      milestones.push_back(x.as_int());
    }
    milestones_ = std::move(milestones);
  }
  detail::load_int(sd, "last_epoch", &last_epoch_, op);
  detail::load_doubles(sd, "_last_lr", &last_lr_, op);
  if (children) {
    for (size_t i = 0; i < schedulers_.size(); ++i) schedulers_[i]->load_state_dict((*children)[i]);
  }
}

}  // namespace fulgur::optim
