#include "fulgur/kernels/kernel_table.h"

#include <array>

#include "fulgur/kernels/error.h"

namespace fulgur::kernels {

namespace {
std::array<KernelTable, kNumDeviceTypes>& tables() {
  static std::array<KernelTable, kNumDeviceTypes> all{};
  return all;
}
[[noreturn]] void missing(const char* family) {
  const LaunchContext& c = launch_context();
  FULGUR_FAIL(c.op, "the ", family, " kernels are not available on ", c.device,
              " yet (docs/CUDA.md lists the families each device has); hint: run this op on the CPU, "
              "e.g. x.to(Device::cpu())");
}

// Every null family of `t` becomes a call to missing().
void report_missing_families(KernelTable& t) {
  if (!t.unary) t.unary = [](UnaryOp, const ElementwiseArgs&) { missing("unary"); };
  if (!t.binary) t.binary = [](BinaryOp, const ElementwiseArgs&) { missing("binary"); };
  if (!t.where) t.where = [](const ElementwiseArgs&) { missing("where"); };
  if (!t.clamp) t.clamp = [](const ElementwiseArgs&) { missing("clamp"); };
  if (!t.copy) t.copy = [](const ElementwiseArgs&) { missing("copy"); };
  if (!t.fill) t.fill = [](const ElementwiseArgs&, const Scalar&) { missing("fill"); };
  if (!t.reduce) t.reduce = [](const ReduceArgs&) { missing("reduce"); };
  if (!t.gemm) t.gemm = [](const GemmArgs&) { missing("gemm (matmul)"); };
  if (!t.gather) t.gather = [](const IndexArgs&) { missing("gather"); };
  if (!t.scatter) t.scatter = [](const IndexArgs&, ScatterMode) { missing("scatter"); };
  if (!t.sort) t.sort = [](const SortArgs&) { missing("sort"); };
  if (!t.random) t.random = [](const RandomArgs&) { missing("random"); };
  if (!t.sequence) t.sequence = [](const SequenceArgs&) { missing("sequence"); };
  if (!t.nonzero) t.nonzero = [](const bool*, int64_t, int64_t*) -> int64_t { missing("nonzero"); };
  if (!t.copy_bytes) t.copy_bytes = [](void*, Device, const void*, Device, size_t) { missing("copy_bytes"); };
  if (!t.im2col) t.im2col = [](const Im2colArgs&) { missing("im2col"); };
  if (!t.col2im) t.col2im = [](const Im2colArgs&) { missing("col2im"); };
  if (!t.max_pool) t.max_pool = [](const MaxPoolArgs&) { missing("max_pool"); };
  if (!t.softmax) t.softmax = [](const SoftmaxArgs&) { missing("softmax"); };
}

}  // namespace

LaunchContext& launch_context() {
  thread_local LaunchContext context;
  return context;
}

const KernelTable& kernels_for(DeviceType type) { return tables()[static_cast<size_t>(type)]; }

void register_kernels(DeviceType type, const KernelTable& table) {
  KernelTable complete = table;
  report_missing_families(complete);
  tables()[static_cast<size_t>(type)] = complete;
}

}  // namespace fulgur::kernels
