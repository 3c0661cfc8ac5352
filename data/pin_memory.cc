#include "fulgur/data/pin_memory.h"

#include <utility>
#include <vector>

#include "fulgur/kernels/allocator.h"
#include "fulgur/kernels/backends.h"

namespace fulgur::data {
namespace {

Value pinned(const Value& v) {
  if (v.is_tensor()) return v.as_tensor().device().is_cpu() ? Value(v.as_tensor().pin_memory()) : v;
  if (v.is_list() || v.is_tuple()) {
    std::vector<Value> items;
    for (const Value& e : v.elements()) items.push_back(pinned(e));
    return v.is_list() ? Value::list(std::move(items)) : Value::tuple(std::move(items));
  }
  if (v.is_dict()) {
    Value out = Value::dict();
    for (const Value::Item& item : v.items()) out.set(item.first, pinned(item.second));
    return out;
  }
  return v;
}

}  // namespace

Value pin_memory(Value batch) {
  kernels::ensure_backends_registered();
  if (pinned_host_allocator() == nullptr) return batch;  // no CUDA device: nothing to pin for
  return pinned(batch);
}

}  // namespace fulgur::data
