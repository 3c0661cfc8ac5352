#include "fulgur/data/pin_memory.h"

#include "fulgur/kernels/allocator.h"
#include "fulgur/kernels/backends.h"

namespace fulgur::data {

Value pin_memory(Value batch) {
  kernels::ensure_backends_registered();
  if (pinned_host_allocator() == nullptr) return batch;  // no CUDA device: nothing to pin for
  return map_tensors(batch, [](const Tensor& t) { return t.device().is_cpu() ? t.pin_memory() : t; });
}

}  // namespace fulgur::data
