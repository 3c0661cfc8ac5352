#include "fulgur/kernels/cuda/tensor_gemm_16bit.h"

#include <cstdint>

#include "fulgur/kernels/cuda/gemm.h"
#include "fulgur/kernels/cuda/gemm_layout.h"
#include "fulgur/kernels/error.h"

namespace fulgur::cuda {

template <Exec E>
void tensor_gemm_16bit(const kernels::GemmArgs& g, void* stream) {
  FULGUR_CHECK(g.dtype == DType::Float16 || g.dtype == DType::BFloat16, "matmul",
               "internal: the tensor-core path takes float16 or bfloat16, got ", g.dtype);
  require_16bit_beta(g);
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
