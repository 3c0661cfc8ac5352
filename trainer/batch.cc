#include "fulgur/trainer/batch.h"

#include "fulgur/kernels/error.h"

namespace fulgur::lightning {

const Tensor& Batch::tensor(size_t i) const {
  if (value_.is_tensor()) {
    FULGUR_CHECK(i == 0, "Batch", "the batch is one tensor, element ", i, " does not exist");
    return value_.as_tensor();
  }
  FULGUR_CHECK(value_.is_sequence(), "Batch", "expected a tensor or a list/tuple of tensors, got a ",
               value_.type_name(), "; hint: read other batches through batch.value()");
  FULGUR_CHECK(i < value_.elements().size(), "Batch", "element ", i, " of a batch of ", value_.elements().size());
  const Value& e = value_.elements()[i];
  FULGUR_CHECK(e.is_tensor(), "Batch", "element ", i, " is a ", e.type_name(), ", not a tensor");
  return e.as_tensor();
}

size_t Batch::size() const {
  if (value_.is_sequence() || value_.is_dict()) return value_.size();
  return value_.is_none() ? 0 : 1;
}

void Batch::check_unpack(size_t n) const {
  if (n == 1 && value_.is_tensor()) return;
  FULGUR_CHECK(value_.is_sequence() && value_.elements().size() >= n, "Batch.unpack",
               "cannot unpack ", n, " tensors from a batch that is a ", value_.type_name(),
               value_.is_sequence() ? " of " + std::to_string(value_.elements().size()) : std::string(),
               "; hint: the dataset's examples decide the batch's structure");
}

namespace {
bool find_batch_size(const Value& v, int64_t* out) {
  if (v.is_tensor()) {
    const Tensor& t = v.as_tensor();
    *out = t.dim() == 0 ? 1 : t.size(0);
    return true;
  }
  if (v.is_sequence()) {
    for (const Value& e : v.elements()) {
      if (find_batch_size(e, out)) return true;
    }
  }
  if (v.is_dict()) {
    for (const Value::Item& item : v.items()) {
      if (find_batch_size(item.second, out)) return true;
    }
  }
  return false;
}
}  // namespace

int64_t Batch::batch_size() const {
  int64_t n = 1;
  find_batch_size(value_, &n);
  return n;
}

StepOutput::StepOutput(std::initializer_list<std::pair<std::string, Value>> items) : value_(Value::dict()) {
  for (const auto& [k, v] : items) value_.set(k, v);
}

StepOutput StepOutput::from_value(Value v) {
  FULGUR_CHECK(v.is_none() || v.is_tensor() || v.is_dict(), "training_step",
               "In automatic optimization, `training_step` must return a Tensor, a dict, or None (where the "
               "step will be skipped); got a ", v.type_name());
  StepOutput out;
  out.value_ = std::move(v);
  return out;
}

bool StepOutput::has_loss() const { return value_.is_tensor() || (value_.is_dict() && value_.contains("loss")); }

Tensor StepOutput::loss() const {
  if (value_.is_tensor()) return value_.as_tensor();
  FULGUR_CHECK(value_.is_dict() && value_.contains("loss"), "training_step",
               "In automatic_optimization, when `training_step` returns a dict, the 'loss' key needs to be present",
               value_.is_dict() ? " (keys: " + value_.repr() + ")" : std::string());
  const Value& l = value_.at("loss");
  FULGUR_CHECK(l.is_tensor(), "training_step", "the 'loss' of the returned dict must be a tensor, got a ",
               l.type_name());
  return l.as_tensor();
}

Value StepOutput::as_dict() const {
  if (value_.is_dict()) return value_;
  if (value_.is_tensor()) return Value::dict({{"loss", value_}});
  return Value::dict();
}

}  // namespace fulgur::lightning
