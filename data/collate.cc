#include "fulgur/data/collate.h"

#include <string>

#include "fulgur/kernels/error.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::data {
namespace {

constexpr const char* kOp = "default_collate";

// "batch" for the root, else the position in Python's subscript notation.
std::string where(const std::string& path) { return path.empty() ? "the examples" : path; }

Value collate_numbers(const std::vector<Value>& batch, const std::string& path) {
  bool any_double = false;
  bool any_int = false;
  for (size_t i = 0; i < batch.size(); ++i) {
    const Value& v = batch[i];
    FULGUR_CHECK(v.is_number() || v.is_bool(), kOp, "at ", where(path), ": example 0 is ",
                 batch[0].type_name(), " but example ", i, " is ", v.type_name(),
                 "; hint: every example must have the same structure, or pass a collate_fn");
    any_double |= v.is_double();
    any_int |= v.is_int();
  }
  const size_t n = batch.size();
  // Python floats are float64 (PyTorch passes dtype=float64); otherwise torch.tensor's
  // inference: any float makes the default float32, any int int64, else bool.
  if (batch[0].is_double() || any_double) {
    std::vector<double> values(n);
    for (size_t i = 0; i < n; ++i) {
      values[i] = batch[i].is_bool() ? (batch[i].as_bool() ? 1.0 : 0.0) : batch[i].to_double();
    }
    const Tensor t = from_vector(values);
    return batch[0].is_double() ? t : t.to(DType::Float32);
  }
  if (any_int) {
    std::vector<int64_t> values(n);
    for (size_t i = 0; i < n; ++i) {
      values[i] = batch[i].is_bool() ? int64_t{batch[i].as_bool()} : batch[i].as_int();
    }
    return from_vector(values);
  }
  std::vector<bool> values(n);
  for (size_t i = 0; i < n; ++i) values[i] = batch[i].as_bool();
  return from_vector(values);
}

// `from_sequence`: the examples are one position of list/tuple examples. PyTorch transposes
// those with zip(), so strings there come back as a tuple, elsewhere as a list.
Value collate_at(const std::vector<Value>& batch, const std::string& path, bool from_sequence);

Value collate_tensors(const std::vector<Value>& batch, const std::string& path) {
  std::vector<Tensor> tensors;
  tensors.reserve(batch.size());
  const Tensor& first = batch[0].as_tensor();
  for (size_t i = 0; i < batch.size(); ++i) {
    FULGUR_CHECK(batch[i].is_tensor(), kOp, "at ", where(path), ": example 0 is a Tensor but example ",
                 i, " is ", batch[i].type_name(),
                 "; hint: every example must have the same structure, or pass a collate_fn");
    const Tensor& t = batch[i].as_tensor();
    FULGUR_CHECK(t.sizes() == first.sizes(), kOp, "at ", where(path),
                 ": stack expects each tensor to be equal size, but got ", shape_str(first.sizes()),
                 " at example 0 and ", shape_str(t.sizes()), " at example ", i,
                 "; hint: resize or pad the examples (a transform), or pass a collate_fn that pads");
    tensors.push_back(t);
  }
  return stack(tensors, 0);
}

Value collate_sequences(const std::vector<Value>& batch, const std::string& path) {
  const size_t length = batch[0].elements().size();
  for (size_t i = 0; i < batch.size(); ++i) {
    FULGUR_CHECK(batch[i].is_sequence(), kOp, "at ", where(path), ": example 0 is a ",
                 batch[0].type_name(), " but example ", i, " is ", batch[i].type_name(),
                 "; hint: every example must have the same structure, or pass a collate_fn");
    FULGUR_CHECK(batch[i].elements().size() == length, kOp, "at ", where(path),
                 ": each element in list of batch should be of equal size, but example 0 has ",
                 length, " elements and example ", i, " has ", batch[i].elements().size());
  }
  std::vector<Value> out;
  out.reserve(length);
  std::vector<Value> column(batch.size());
  for (size_t pos = 0; pos < length; ++pos) {
    for (size_t i = 0; i < batch.size(); ++i) column[i] = batch[i].elements()[pos];
    out.push_back(collate_at(column, path + "[" + std::to_string(pos) + "]", true));
  }
  return Value::list(std::move(out));
}

Value collate_dicts(const std::vector<Value>& batch, const std::string& path) {
  std::vector<Value::Item> out;
  std::vector<Value> column(batch.size());
  for (const auto& [key, first_value] : batch[0].items()) {
    const std::string key_path = path + "[" + key.repr() + "]";
    for (size_t i = 0; i < batch.size(); ++i) {
      FULGUR_CHECK(batch[i].is_dict(), kOp, "at ", where(path), ": example 0 is a dict but example ",
                   i, " is ", batch[i].type_name(),
                   "; hint: every example must have the same structure, or pass a collate_fn");
      const Value* v = batch[i].find(key);
      FULGUR_CHECK(v != nullptr, kOp, "at ", where(path), ": example ", i, " has no key ",
                   key.repr(), " (example 0 has it); hint: every example must have the same keys");
      column[i] = *v;
    }
    out.emplace_back(key, collate_at(column, key_path, false));
  }
  return Value::dict(std::move(out));
}

Value collate_at(const std::vector<Value>& batch, const std::string& path, bool from_sequence) {
  const Value& first = batch[0];
  switch (first.kind()) {
    case Value::Kind::Tensor:
      return collate_tensors(batch, path);
    case Value::Kind::Bool:
    case Value::Kind::Int:
    case Value::Kind::Double:
      return collate_numbers(batch, path);
    case Value::Kind::String:
      return from_sequence ? Value::tuple(batch) : Value::list(batch);
    case Value::Kind::List:
    case Value::Kind::Tuple:
      return collate_sequences(batch, path);
    case Value::Kind::Dict:
      return collate_dicts(batch, path);
    case Value::Kind::None:
      break;
  }
  FULGUR_FAIL(kOp, "at ", where(path),
              ": batch must contain tensors, numbers, dicts or lists; found ", first.type_name(),
              "; hint: return a tensor or a number instead of None, or pass a collate_fn");
}

}  // namespace

Value default_collate(const std::vector<Value>& batch) {
  FULGUR_CHECK(!batch.empty(), kOp, "got an empty batch (no examples)");
  return collate_at(batch, "", false);
}

}  // namespace fulgur::data
