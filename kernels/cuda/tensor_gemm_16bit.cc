#include "fulgur/kernels/cuda/tensor_gemm_16bit.h"

#include <cstdint>

#include "fulgur/kernels/cuda/gemm.h"
#include "fulgur/kernels/error.h"

namespace fulgur::cuda {
namespace {

// One operand of rows x cols with element strides (rs, cs): transposed or not, and its
// leading dimension. A dimension of size 1 may carry any stride; it is not the unit one then.
void operand_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, const char* name, bool* trans,
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
              ") with no unit stride the tensor-core GEMM can read; hint: make it contiguous first");
}

// Evenly spaced offsets (bytes) as an element stride, or false.
bool uniform_stride(const int64_t* offsets, int64_t batch, int64_t element_size, int64_t* stride) {
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

}  // namespace

template <Exec E>
void tensor_gemm_16bit(const kernels::GemmArgs& g, void* stream) {
  FULGUR_CHECK(g.dtype == DType::Float16 || g.dtype == DType::BFloat16, "matmul",
               "internal: the tensor-core path takes float16 or bfloat16, got ", g.dtype);
  FULGUR_CHECK(g.beta == 0.0 || g.beta == 1.0, "addmm", "beta=", g.beta, " on ", g.dtype,
               " CUDA tensors is not supported (the tensor-core GEMM adds C unscaled); hint: beta 0 or 1, or "
               "compute in float32");
  if (g.m == 0 || g.n == 0 || g.batch == 0) return;
  GemmArgs t;
  t.m = g.m;
  t.n = g.n;
  t.k = g.k;
  t.input_dtype = g.dtype == DType::Float16 ? GemmDtype::Float16 : GemmDtype::BFloat16;
  t.out_dtype = t.input_dtype;
  operand_layout(g.m, g.k, g.a_rs, g.a_cs, "A", &t.trans_a, &t.lda);
  operand_layout(g.k, g.n, g.b_rs, g.b_cs, "B", &t.trans_b, &t.ldb);
  t.ldd = g.c_rs;
  t.ld_residual = g.c_rs;
  t.alpha = static_cast<float>(g.alpha);
  const int64_t es = 2;
  int64_t sa = 0, sb = 0, sc = 0;
  const bool uniform = uniform_stride(g.a_offsets, g.batch, es, &sa) && uniform_stride(g.b_offsets, g.batch, es, &sb) &&
                       uniform_stride(g.c_offsets, g.batch, es, &sc) && (g.batch == 1 || sc != 0) &&
                       g.batch <= 65535;
  const auto run = [&](const char* a, const char* b, char* c, int64_t batch) {
    t.a = a;
    t.b = b;
    t.d = c;
    t.residual = g.beta == 1.0 ? c : nullptr;
    t.batch = batch;
    gemm<E>(t, stream);
  };
  if (uniform) {
    t.stride_a = sa;
    t.stride_b = sb;
    t.stride_d = sc;
    t.stride_residual = sc;
    return run(g.a, g.b, g.c, g.batch);
  }
  for (int64_t b = 0; b < g.batch; ++b) run(g.a + g.a_offsets[b], g.b + g.b_offsets[b], g.c + g.c_offsets[b], 1);
}

template void tensor_gemm_16bit<Exec::Emulated>(const kernels::GemmArgs&, void*);
#if FULGUR_WITH_CUDA
template void tensor_gemm_16bit<Exec::Gpu>(const kernels::GemmArgs&, void*);
#endif

}  // namespace fulgur::cuda
