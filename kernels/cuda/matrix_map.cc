#include "fulgur/kernels/cuda/matrix_map.h"

namespace fulgur::cuda {

bool tma_addressable(const void* base, int64_t ld, int64_t batch_stride, int64_t batch) {
  return reinterpret_cast<uintptr_t>(base) % 16 == 0 && ld % 8 == 0 &&
         (batch <= 1 || batch_stride == 0 || batch_stride % 8 == 0);
}

int64_t matrix_map_batches(const MatrixMapArgs& a) { return a.batch <= 1 || a.batch_stride == 0 ? 1 : a.batch; }

int64_t matrix_map_batch_bytes(const MatrixMapArgs& a) {
  return matrix_map_batches(a) == 1 ? a.ld * 2 * a.rows : a.batch_stride * 2;
}

std::string matrix_map_problem(const MatrixMapArgs& a) {
  if (reinterpret_cast<uintptr_t>(a.base) % 16 != 0) return "the operand is not 16-byte aligned";
  if (a.ld % 8 != 0) return "the leading dimension is not a multiple of 8 elements";
  if (!tma_addressable(a.base, a.ld, a.batch_stride, a.batch)) return "the batch stride is not a multiple of 8 elements";
  if (a.rows <= 0 || a.cols <= 0 || a.rows > (int64_t{1} << 32) || a.cols > (int64_t{1} << 32))
    return "a dimension is empty or above 2^32";
  if (a.box_cols * 2 > 128 || a.box_rows > 256 || a.box_cols <= 0 || a.box_rows <= 0)
    return "the box does not fit the 128-byte swizzle";
  if (a.ld * 2 >= (int64_t{1} << 40) || matrix_map_batch_bytes(a) >= (int64_t{1} << 40))
    return "a stride is 2^40 bytes or more";
  return {};
}

}  // namespace fulgur::cuda
