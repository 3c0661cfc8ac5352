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
  BatchStrides strides;
  const bool uniform = uniform_batch_strides(g, /*element_size=*/2, /*max_batch=*/65535, &strides);
  const auto run = [&](const char* a, const char* b, char* c, int64_t batch) {
    t.a = a;
    t.b = b;
    t.d = c;
    t.residual = g.beta == 1.0 ? c : nullptr;
    t.batch = batch;
    gemm<E>(t, stream);
  };
  if (uniform) {
    t.stride_a = strides.a;
    t.stride_b = strides.b;
    t.stride_d = strides.c;
    t.stride_residual = strides.c;
    return run(g.a, g.b, g.c, g.batch);
  }
  for (int64_t b = 0; b < g.batch; ++b) run(g.a + g.a_offsets[b], g.b + g.b_offsets[b], g.c + g.c_offsets[b], 1);
}

template void tensor_gemm_16bit<Exec::Emulated>(const kernels::GemmArgs&, void*);
#if FULGUR_WITH_CUDA
template void tensor_gemm_16bit<Exec::Gpu>(const kernels::GemmArgs&, void*);
#endif

}  // namespace fulgur::cuda
