// Which GEMM a matmul of CUDA tensors runs: ours (tensor_gemm.h on CUDA cores for float32 /
// float64, the tensor-core GEMM of gemm.h for float16 / bfloat16) or cuBLASLt
// (cublaslt_gemm.h), and why. Asked by the backend before every GEMM and by users:
//
//   fulgur::cuda::GemmChoice c = fulgur::cuda::gemm_choice({DType::BFloat16, 4096, 4096, 4096});
//   std::cout << c.reason;  // "cuBLASLt: nearest measured shape 16-bit 4096x4096x4096 on sm_90 ran ours at 32% ..."
//
// The rule, in order:
//   1. the policy, if forced (set_gemm_policy, or FULGUR_GEMM=ours|cublaslt|auto read once);
//   2. ours on the emulated device (cuBLASLt needs a GPU), for empty products and integer
//      types, and when cuBLASLt cannot be loaded or started (the reason carries its error);
//   3. otherwise the measured table (kMeasuredGemms in gemm_choice.cc, from PERFORMANCE.md):
//      the nearest measured shape of the same dtype family and compute capability decides,
//      ours where it ran at least as fast as cuBLAS there; cuBLASLt where nothing was measured.
// A forced cuBLASLt still falls back to ours where cuBLASLt cannot run (rule 2).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "fulgur/kernels/dtype.h"

namespace fulgur::cuda {

enum class GemmBackend { Ours, CublasLt };
enum class GemmPolicy { Auto, Ours, CublasLt };

struct GemmShape {
  DType dtype = DType::Float32;
  int64_t m = 0, n = 0, k = 0;
  int64_t batch = 1;
};

struct GemmChoice {
  GemmBackend backend = GemmBackend::Ours;
  std::string reason;
};

// What the choice depends on besides the shape; gemm_choice() fills it from this process.
struct GemmSite {
  bool emulated = false;    // the SIMT-emulated device
  int compute_capability = 0;  // major * 10 + minor, e.g. 90 for an H100/H200
  bool cublaslt_ready = false;
  std::string cublaslt_error;  // why not, when !cublaslt_ready
};

// Our GEMM's rate against cuBLAS's, measured at one shape (ratio = ours / cuBLAS TFLOP/s).
struct MeasuredGemm {
  bool sixteen_bit;  // float16 / bfloat16 (one family: same kernel, same rates); else float32/64
  int compute_capability;
  int64_t m, n, k;
  double ours_over_cublas;
};

// The measurements the choice uses (gemm_choice.cc, from docs/PERFORMANCE.md).
std::span<const MeasuredGemm> measured_gemms();

// The policy, process-wide. The default is Auto, or FULGUR_GEMM's value at the first query.
void set_gemm_policy(GemmPolicy policy);
GemmPolicy gemm_policy();

// The decision for `shape` at `site` (pure: no device is touched). A batch counts as that many
// times the rows (m * batch) when shapes are compared.
GemmChoice choose_gemm(const GemmShape& shape, const GemmSite& site, GemmPolicy policy,
                       std::span<const MeasuredGemm> measured = measured_gemms());

// The decision for `shape` on the current CUDA device of this process, as matmuls of CUDA
// tensors make it (loads cuBLASLt on a real GPU the first time). Defined in backend.cc.
GemmSite current_gemm_site();
GemmChoice gemm_choice(const GemmShape& shape);

const char* to_string(GemmBackend backend);

}  // namespace fulgur::cuda
