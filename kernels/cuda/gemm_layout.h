// How the kernel table's GemmArgs (element strides, per-batch byte offsets) map onto a GEMM
// library's operands: a transpose flag and a leading dimension per operand, and one batch
// stride when the offsets are evenly spaced. Shared by the tensor-core GEMM of CUDA tensors
// (tensor_gemm_16bit.cc) and the cuBLASLt path (cublaslt_gemm.cc), so both read the same
// layouts and refuse the same arguments. Host code only.
#pragma once

#include <cstdint>

#include "fulgur/kernels/error.h"
#include "fulgur/kernels/kernel_args.h"

namespace fulgur::cuda {

// One row-major operand of rows x cols with element strides (rs, cs): stored as is
// (*trans = false, *ld = row stride) or stored transposed (*trans = true, *ld = column
// stride). A dimension of size 1 may carry any stride; it is not the unit one then.
inline void operand_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, const char* name, bool* trans,
                           int64_t* ld) {
  if (cs == 1 || cols <= 1) {
    if (rows <= 1 || rs >= cols) {
      *trans = false;
      *ld = rows <= 1 ? cols : rs;
      return;
    }
  }
  if (rs == 1 || rows <= 1) {
    if (cols <= 1 || cs >= rows) {
      *trans = true;
      *ld = cols <= 1 ? rows : cs;
      return;
    }
  }
  FULGUR_FAIL("matmul", "internal: operand ", name, " of ", rows, " x ", cols, " has strides (", rs, ", ", cs,
              ") with no unit stride a GEMM library can read; hint: make it contiguous first");
}

// Evenly spaced batch offsets (bytes, starting at 0) as an element stride, or false.
inline bool uniform_stride(const int64_t* offsets, int64_t batch, int64_t element_size, int64_t* stride) {
  if (offsets == nullptr || batch <= 1) {
    *stride = 0;
    return true;
  }
  const int64_t step = offsets[1] - offsets[0];
  if (offsets[0] != 0 || step % element_size != 0) return false;
  for (int64_t b = 2; b < batch; ++b)
    if (offsets[b] - offsets[b - 1] != step) return false;
  *stride = step / element_size;
  return true;
}

// The batch strides (elements) of A, B and C when the whole batch can be one strided call:
// every operand's offsets evenly spaced, C's batches distinct, at most max_batch batches (the
// library's or the launch's limit). Otherwise false: call batch by batch.
struct BatchStrides {
  int64_t a = 0, b = 0, c = 0;
};
inline bool uniform_batch_strides(const kernels::GemmArgs& g, int64_t element_size, int64_t max_batch,
                                  BatchStrides* s) {
  return uniform_stride(g.a_offsets, g.batch, element_size, &s->a) &&
         uniform_stride(g.b_offsets, g.batch, element_size, &s->b) &&
         uniform_stride(g.c_offsets, g.batch, element_size, &s->c) && (g.batch == 1 || s->c != 0) &&
         g.batch <= max_batch;
}

// fp16 / bf16 GEMMs of CUDA tensors add C unscaled (the tensor-core epilogue's residual), so
// beta must be 0 or 1 whichever GEMM runs: one behaviour on every device and policy.
inline void require_16bit_beta(const kernels::GemmArgs& g) {
  if (g.dtype != DType::Float16 && g.dtype != DType::BFloat16) return;
  FULGUR_CHECK(g.beta == 0.0 || g.beta == 1.0, "addmm", "beta=", g.beta, " on ", g.dtype,
               " CUDA tensors is not supported (the tensor-core GEMM adds C unscaled); hint: beta 0 or 1, or "
               "compute in float32");
}

}  // namespace fulgur::cuda
