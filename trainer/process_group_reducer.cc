#include "fulgur/trainer/process_group_reducer.h"

#include <cstring>

#include "fulgur/kernels/error.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::lightning {

Tensor ProcessGroupReducer::all_reduce(const Tensor& t, Op op) const {
  Tensor out = t.detach().to(device_).contiguous().clone();
  const distributed::ReduceOp r = op == Op::Sum   ? distributed::ReduceOp::Sum
                                  : op == Op::Max ? distributed::ReduceOp::Max
                                                  : distributed::ReduceOp::Min;
  group_->all_reduce(out, r);
  return out.to(t.device());
}

std::vector<Tensor> ProcessGroupReducer::all_gather(const Tensor& t) const {
  const Tensor local = t.detach().to(kCPU).contiguous();
  // Header: ndim, then the sizes; then the raw elements (same dtype on every rank).
  std::string bytes;
  const int64_t ndim = local.dim();
  bytes.append(reinterpret_cast<const char*>(&ndim), sizeof ndim);
  for (int64_t d = 0; d < ndim; ++d) {
    const int64_t s = local.size(d);
    bytes.append(reinterpret_cast<const char*>(&s), sizeof s);
  }
  bytes.append(static_cast<const char*>(local.data_ptr()), local.numel() * element_size(local.dtype()));
  std::vector<Tensor> out;
  for (const std::string& b : group_->all_gather_bytes(bytes)) {
    int64_t n = 0;
    FULGUR_CHECK(b.size() >= sizeof n, "metrics sync", "a rank sent a malformed state");
    std::memcpy(&n, b.data(), sizeof n);
    std::vector<int64_t> sizes(static_cast<size_t>(n));
    std::memcpy(sizes.data(), b.data() + sizeof n, sizes.size() * sizeof(int64_t));
    Tensor r = empty(sizes, {.dtype = local.dtype()});
    const size_t header = sizeof n * (1 + sizes.size());
    FULGUR_CHECK(b.size() - header == static_cast<size_t>(r.numel()) * element_size(local.dtype()), "metrics sync",
                 "a rank's state does not match its shape (different dtypes across ranks?)");
    std::memcpy(r.data_ptr(), b.data() + header, b.size() - header);
    out.push_back(r.to(t.device()));
  }
  return out;
}

}  // namespace fulgur::lightning
