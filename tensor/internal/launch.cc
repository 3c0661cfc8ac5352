#include "fulgur/tensor/internal/launch.h"

#include <algorithm>

namespace fulgur::internal {

void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    if (!first) {
      first = t;
      continue;
    }
    FULGUR_CHECK(t->device() == first->device(), op,
                 "expected all tensors on the same device, but found ", first->device(), " and ",
                 t->device(), "; hint: move them with .to(device)");
  }
}

Shape broadcast_strides(const Tensor& t, IntArrayRef shape) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  const int64_t td = t.dim();
  Shape strides(shape.size(), 0);
  for (int64_t i = 0; i < td; ++i) {
    const int64_t d = nd - td + i;
    const int64_t size = t.sizes()[i];
    strides[d] = size == 1 && shape[d] != 1 ? 0 : t.strides()[i];
  }
  return strides;
}

kernels::ElementwiseArgs elementwise_args(const Tensor& out, std::initializer_list<Tensor> inputs,
                                          const char* op) {
  kernels::ElementwiseArgs args;
  const IntArrayRef shape = out.sizes();
  const int nops = static_cast<int>(inputs.size()) + 1;
  args.num_operands = nops;
  // Byte strides of every operand over the full shape, then coalesce.
  std::vector<Shape> strides;
  strides.reserve(nops);
  {
    Shape s = out.strides().vec();
    for (auto& x : s) x *= static_cast<int64_t>(out.element_size());
    strides.push_back(std::move(s));
  }
  int i = 1;
  for (const Tensor& in : inputs) {
    FULGUR_CHECK(in.dim() <= out.dim(), op, "input of shape ", shape_str(in.sizes()),
                 " cannot be broadcast to the output shape ", shape_str(shape));
    Shape s = broadcast_strides(in, shape);
    for (int64_t d = 0; d < in.dim(); ++d) {
      const int64_t size = in.sizes()[d];
      const int64_t target = shape[shape.size() - in.dim() + d];
      FULGUR_CHECK(size == target || size == 1, op, "input of shape ", shape_str(in.sizes()),
                   " cannot be broadcast to the output shape ", shape_str(shape));
    }
    for (auto& x : s) x *= static_cast<int64_t>(in.element_size());
    strides.push_back(std::move(s));
    args.op[i].data = static_cast<char*>(in.data_ptr());
    args.op[i].dtype = in.dtype();
    ++i;
  }
  args.op[0].data = static_cast<char*>(out.data_ptr());
  args.op[0].dtype = out.dtype();

  // Drop size-1 dims, then merge neighbours that are contiguous for every operand.
  std::vector<int64_t> sizes;
  std::vector<std::vector<int64_t>> kept(nops);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !sizes.empty();
    if (merge) {
      for (int o = 0; o < nops; ++o) {
        if (kept[o].back() != strides[o][d] * shape[d]) {
          merge = false;
          break;
        }
      }
    }
    if (merge) {
      sizes.back() *= shape[d];
      for (int o = 0; o < nops; ++o) kept[o].back() = strides[o][d];
    } else {
      sizes.push_back(shape[d]);
      for (int o = 0; o < nops; ++o) kept[o].push_back(strides[o][d]);
    }
  }
  FULGUR_CHECK(static_cast<int>(sizes.size()) <= kernels::kMaxDims, op, "tensors with ",
               sizes.size(), " non-mergeable dimensions exceed the kernel limit of ",
               kernels::kMaxDims, "; hint: call .contiguous() first");
  args.ndim = static_cast<int>(sizes.size());
  for (int d = 0; d < args.ndim; ++d) {
    args.sizes[d] = sizes[d];
    for (int o = 0; o < nops; ++o) args.op[o].strides[d] = kept[o][d];
  }
  return args;
}

const kernels::KernelTable& table(const Tensor& t, const char* op) {
  return kernels::kernels_for_device(t.device(), op);
}

void check_no_internal_overlap(const Tensor& t, const char* op) {
  for (int64_t d = 0; d < t.dim(); ++d) {
    FULGUR_CHECK(!(t.strides()[d] == 0 && t.sizes()[d] > 1), op,
                 "unsupported operation: more than one element of the written-to tensor refers "
                 "to a single memory location (shape ", shape_str(t.sizes()), ", strides ",
                 shape_str(t.strides()), "); hint: call .clone() before the in-place op");
  }
}

bool may_overlap(const Tensor& a, const Tensor& b) {
  if (a.storage() != b.storage() || a.numel() == 0 || b.numel() == 0) return false;
  auto extent = [](const Tensor& t) {
    int64_t lo = t.storage_offset(), hi = t.storage_offset();
    for (int64_t d = 0; d < t.dim(); ++d) {
      const int64_t span = (t.sizes()[d] - 1) * t.strides()[d];
      if (span < 0) lo += span; else hi += span;
    }
    return std::pair<int64_t, int64_t>{lo * static_cast<int64_t>(t.element_size()),
                                       (hi + 1) * static_cast<int64_t>(t.element_size())};
  };
  const auto [alo, ahi] = extent(a);
  const auto [blo, bhi] = extent(b);
  return alo < bhi && blo < ahi;
}

}  // namespace fulgur::internal
