#include <cstring>
#include <mutex>

#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/kernel_table.h"

namespace fulgur::kernels::cpu {
namespace {

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) {
  FULGUR_CHECK(dst_device.is_cpu() && src_device.is_cpu(), "copy",
               "the CPU backend copies only between host buffers, got ", src_device, " -> ",
               dst_device);
  if (nbytes) std::memcpy(dst, src, nbytes);
}

}  // namespace

void register_cpu_backend() {
  static std::once_flag once;
  std::call_once(once, [] {
    KernelTable t;
    t.unary = &unary;
    t.binary = &binary;
    t.where = &where;
    t.clamp = &clamp;
    t.copy = &copy;
    t.fill = &fill;
    t.reduce = &reduce;
    t.gemm = &gemm;
    t.gather = &gather;
    t.scatter = &scatter;
    t.sort = &sort;
    t.random = &random;
    t.sequence = &sequence;
    t.nonzero = &nonzero;
    t.copy_bytes = &copy_bytes;
    t.im2col = &im2col;
    t.col2im = &col2im;
    t.max_pool = &max_pool;
    t.softmax = &softmax;
    register_kernels(DeviceType::CPU, t);
    register_allocator(DeviceType::CPU, &host_allocator());
  });
}

}  // namespace fulgur::kernels::cpu
