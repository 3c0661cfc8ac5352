#include "fulgur/kernels/cuda/cublaslt_gemm.h"

#include "fulgur/kernels/error.h"

#if FULGUR_WITH_CUDA
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

#include "fulgur/kernels/cuda/cuda_check.h"
#include "fulgur/kernels/cuda/gemm_layout.h"
#include "fulgur/kernels/cuda/loaded_library.h"
#include "fulgur/kernels/cuda/stream_workspace.h"
#endif

namespace fulgur::cuda {

#if FULGUR_WITH_CUDA
namespace {

// The entry points used, looked up once. Typed from the header, so a changed signature is a
// compile error here rather than a crash there.
struct Api {
  decltype(&cublasLtCreate) create = nullptr;
  decltype(&cublasLtGetStatusString) status_string = nullptr;
  decltype(&cublasLtMatmulDescCreate) desc_create = nullptr;
  decltype(&cublasLtMatmulDescDestroy) desc_destroy = nullptr;
  decltype(&cublasLtMatmulDescSetAttribute) desc_set = nullptr;
  decltype(&cublasLtMatrixLayoutCreate) layout_create = nullptr;
  decltype(&cublasLtMatrixLayoutDestroy) layout_destroy = nullptr;
  decltype(&cublasLtMatrixLayoutSetAttribute) layout_set = nullptr;
  decltype(&cublasLtMatmulPreferenceCreate) pref_create = nullptr;
  decltype(&cublasLtMatmulPreferenceDestroy) pref_destroy = nullptr;
  decltype(&cublasLtMatmulPreferenceSetAttribute) pref_set = nullptr;
  decltype(&cublasLtMatmulAlgoGetHeuristic) heuristic = nullptr;
  decltype(&cublasLtMatmul) matmul = nullptr;
  std::string error;  // why the library is unusable; "" when loaded
};

#define FULGUR_STR2(x) #x
#define FULGUR_STR(x) FULGUR_STR2(x)
constexpr const char* kLibrary = "libcublasLt.so." FULGUR_STR(CUBLAS_VER_MAJOR);

const Api& api() {
  static const Api loaded = [] {
    Api a;
    LoadedLibrary lib(kLibrary);
    lib.bind(a.create, "cublasLtCreate");
    lib.bind(a.status_string, "cublasLtGetStatusString");
    lib.bind(a.desc_create, "cublasLtMatmulDescCreate");
    lib.bind(a.desc_destroy, "cublasLtMatmulDescDestroy");
    lib.bind(a.desc_set, "cublasLtMatmulDescSetAttribute");
    lib.bind(a.layout_create, "cublasLtMatrixLayoutCreate");
    lib.bind(a.layout_destroy, "cublasLtMatrixLayoutDestroy");
    lib.bind(a.layout_set, "cublasLtMatrixLayoutSetAttribute");
    lib.bind(a.pref_create, "cublasLtMatmulPreferenceCreate");
    lib.bind(a.pref_destroy, "cublasLtMatmulPreferenceDestroy");
    lib.bind(a.pref_set, "cublasLtMatmulPreferenceSetAttribute");
    lib.bind(a.heuristic, "cublasLtMatmulAlgoGetHeuristic");
    lib.bind(a.matmul, "cublasLtMatmul");
    a.error = lib.error();
    return a;  // the library stays loaded for the process
  }();
  return loaded;
}

void check(cublasStatus_t s, const char* call, const std::string& context = "") {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  FULGUR_FAIL("matmul", call, " failed: ", api().status_string(s), " (status ", static_cast<int>(s), ")",
              context.empty() ? "" : "; ", context);
}

DeviceHandles<cublasLtHandle_t> g_handles;  // one per device (cuBLASLt handles are thread-safe)
std::mutex g_mutex;                          // the algorithm cache

// The device's handle (the library loaded), or null with the reason in *why.
cublasLtHandle_t handle_of(int device, std::string* why) {
  const Api& a = api();
  return g_handles.get(device, a.error, [&](cublasLtHandle_t* h) -> std::string {
    const cublasStatus_t s = a.create(h);
    return s == CUBLAS_STATUS_SUCCESS ? "" : std::string("cublasLtCreate failed: ") + a.status_string(s);
  }, why);
}

// Hopper's large-tile kernels want more workspace than older GPUs' (PyTorch uses 32 MiB
// there, 1-4 MiB elsewhere).
size_t workspace_bytes(int device) {
  int major = 0;
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
  return major >= 9 ? (size_t{32} << 20) : (size_t{4} << 20);
}

// RAII for the descriptors of one call.
template <typename T, auto Destroy>
struct Owned {
  T value = nullptr;
  ~Owned() {
    if (value != nullptr) (api().*Destroy)(value);
  }
};

struct Types {
  cudaDataType_t data;
  cublasComputeType_t compute;
  cudaDataType_t scale;
  int64_t element_size;
};

Types types_of(DType d) {
  switch (d) {
    case DType::Float32: return {CUDA_R_32F, CUBLAS_COMPUTE_32F, CUDA_R_32F, 4};
    case DType::Float64: return {CUDA_R_64F, CUBLAS_COMPUTE_64F, CUDA_R_64F, 8};
    case DType::Float16: return {CUDA_R_16F, CUBLAS_COMPUTE_32F, CUDA_R_32F, 2};
    case DType::BFloat16: return {CUDA_R_16BF, CUBLAS_COMPUTE_32F, CUDA_R_32F, 2};
    default: break;
  }
  FULGUR_FAIL("matmul", "internal: cuBLASLt path got ", d, "; hint: float32, float64, float16 or bfloat16");
}

// The largest power of two (at most 256) dividing the address and every batch step: what
// cuBLASLt may assume about each matrix it reads or writes.
uint32_t alignment(const void* p, int64_t stride_bytes) {
  uint64_t bits = reinterpret_cast<uintptr_t>(p) | static_cast<uint64_t>(stride_bytes) | 256;
  return static_cast<uint32_t>(bits & (~bits + 1));
}

// One cuBLASLt problem: everything the algorithm choice depends on.
struct Problem {
  DType dtype;
  bool trans_a, trans_b;  // of our row-major A and B
  int64_t m, n, k, lda, ldb, ldc;
  int32_t batch;
  int64_t stride_a, stride_b, stride_c;  // elements
  uint32_t align_a, align_b, align_c;
  int device;
  auto key() const {
    return std::make_tuple(static_cast<int>(dtype), trans_a, trans_b, m, n, k, lda, ldb, ldc, batch, stride_a, stride_b,
                           stride_c, align_a, align_b, align_c, device);
  }
};

// The heuristic's pick per problem, or that it had none (asked once either way).
struct CachedAlgo {
  bool found = false;
  cublasLtMatmulAlgo_t algo{};
};
std::map<decltype(std::declval<Problem>().key()), CachedAlgo> g_algos;

cublasLtMatrixLayout_t layout(cudaDataType_t type, int64_t rows, int64_t cols, int64_t ld, int32_t batch,
                              int64_t stride) {
  const Api& a = api();
  cublasLtMatrixLayout_t l = nullptr;
  check(a.layout_create(&l, type, static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), ld),
        "cublasLtMatrixLayoutCreate", std::to_string(rows) + " x " + std::to_string(cols) + ", ld " + std::to_string(ld));
  if (batch > 1) {
    check(a.layout_set(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof(batch)), "cublasLtMatrixLayoutSetAttribute");
    check(a.layout_set(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)),
          "cublasLtMatrixLayoutSetAttribute");
  }
  return l;
}

// Queues one problem; false when cuBLASLt has no algorithm for it (nothing queued).
bool run(const Problem& p, const void* a_ptr, const void* b_ptr, void* c_ptr, double alpha, double beta, void* stream) {
  const Api& a = api();
  const Types t = types_of(p.dtype);
  const cublasLtHandle_t handle = handle_of(p.device, nullptr);
  // C^T (n x m, column-major) = op(B)^T (n x k) @ op(A)^T (k x m): our B is cuBLASLt's A.
  Owned<cublasLtMatmulDesc_t, &Api::desc_destroy> desc;
  check(a.desc_create(&desc.value, t.compute, t.scale), "cublasLtMatmulDescCreate");
  const cublasOperation_t op_first = p.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_second = p.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  check(a.desc_set(desc.value, CUBLASLT_MATMUL_DESC_TRANSA, &op_first, sizeof(op_first)),
        "cublasLtMatmulDescSetAttribute");
  check(a.desc_set(desc.value, CUBLASLT_MATMUL_DESC_TRANSB, &op_second, sizeof(op_second)),
        "cublasLtMatmulDescSetAttribute");
  Owned<cublasLtMatrixLayout_t, &Api::layout_destroy> first, second, out;
  first.value = p.trans_b ? layout(t.data, p.k, p.n, p.ldb, p.batch, p.stride_b)
                          : layout(t.data, p.n, p.k, p.ldb, p.batch, p.stride_b);
  second.value = p.trans_a ? layout(t.data, p.m, p.k, p.lda, p.batch, p.stride_a)
                           : layout(t.data, p.k, p.m, p.lda, p.batch, p.stride_a);
  out.value = layout(t.data, p.n, p.m, p.ldc, p.batch, p.stride_c);

  const StreamWorkspace ws(p.device, workspace_bytes(p.device), stream);
  CachedAlgo chosen;
  bool cached = false;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_algos.find(p.key());
    if (it != g_algos.end()) chosen = it->second, cached = true;
  }
  if (!cached) {
    Owned<cublasLtMatmulPreference_t, &Api::pref_destroy> pref;
    check(a.pref_create(&pref.value), "cublasLtMatmulPreferenceCreate");
    const uint64_t max_ws = ws.bytes();
    // Split-K partial sums in the compute type (float32 for fp16/bf16): INPLACE would add them
    // in the output buffer's type. No split (scheme 0) is always allowed.
    const uint32_t schemes = t.compute == CUBLAS_COMPUTE_32F && t.data != CUDA_R_32F
                                 ? CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE
                                 : CUBLASLT_REDUCTION_SCHEME_INPLACE | CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
    const auto set = [&](cublasLtMatmulPreferenceAttributes_t attr, const auto& value) {
      check(a.pref_set(pref.value, attr, &value, sizeof(value)), "cublasLtMatmulPreferenceSetAttribute");
    };
    set(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, max_ws);
    set(CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, schemes);
    set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, p.align_b);  // cuBLASLt's A is our B
    set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, p.align_a);
    set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, p.align_c);
    set(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, p.align_c);
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t status = a.heuristic(handle, desc.value, first.value, second.value, out.value, out.value,
                                              pref.value, 1, &result, &found);
    if (status != CUBLAS_STATUS_NOT_SUPPORTED) check(status, "cublasLtMatmulAlgoGetHeuristic");
    chosen.found = status == CUBLAS_STATUS_SUCCESS && found > 0;
    chosen.algo = result.algo;
    std::lock_guard<std::mutex> lock(g_mutex);
    g_algos.emplace(p.key(), chosen);
  }
  if (!chosen.found) return false;  // the caller runs this problem on our GEMM
  const cublasLtMatmulAlgo_t algo = chosen.algo;
  const float alpha_f = static_cast<float>(alpha), beta_f = static_cast<float>(beta);
  const bool wide = t.scale == CUDA_R_64F;
  check(a.matmul(handle, desc.value, wide ? static_cast<const void*>(&alpha) : &alpha_f, b_ptr, first.value, a_ptr,
                 second.value, wide ? static_cast<const void*>(&beta) : &beta_f, c_ptr, out.value, c_ptr, out.value, &algo,
                 ws.data(), ws.bytes(), static_cast<cudaStream_t>(stream)),
        "cublasLtMatmul");
  return true;
}

}  // namespace

bool cublaslt_ready(int device, std::string* why) { return handle_of(device, why) != nullptr; }

void cublaslt_gemm(const kernels::GemmArgs& g, void* stream, const GemmFallback& fallback) {
  require_16bit_beta(g);
  if (g.m == 0 || g.n == 0 || g.batch == 0) return;
  const Types t = types_of(g.dtype);
  Problem p{};
  p.dtype = g.dtype;
  p.m = g.m;
  p.n = g.n;
  p.k = g.k;
  cuda_check(cudaGetDevice(&p.device), "cudaGetDevice", "matmul on cuBLASLt");
  std::string why;
  FULGUR_CHECK(cublaslt_ready(p.device, &why), "matmul", "cuBLASLt is unavailable on device ", p.device, ": ", why,
               "; hint: FULGUR_GEMM=ours");
  operand_layout(g.m, g.k, g.a_rs, g.a_cs, "A", &p.trans_a, &p.lda);
  operand_layout(g.k, g.n, g.b_rs, g.b_cs, "B", &p.trans_b, &p.ldb);
  p.ldc = g.m <= 1 ? std::max(g.c_rs, g.n) : g.c_rs;
  const int64_t es = t.element_size;
  BatchStrides strides;
  const bool uniform = uniform_batch_strides(g, es, INT32_MAX, &strides);
  const auto call = [&](const char* a, const char* b, char* c, int64_t batch) {
    p.batch = static_cast<int32_t>(batch);
    p.align_a = alignment(a, p.stride_a * es);
    p.align_b = alignment(b, p.stride_b * es);
    p.align_c = alignment(c, p.stride_c * es);
    return run(p, a, b, c, g.alpha, g.beta, stream);
  };
  if (uniform) {
    p.stride_a = strides.a;
    p.stride_b = strides.b;
    p.stride_c = strides.c;
    if (!call(g.a, g.b, g.c, g.batch)) fallback(g);
    return;
  }
  for (int64_t b = 0; b < g.batch; ++b) {
    const char* a = g.a + g.a_offsets[b];
    const char* bb = g.b + g.b_offsets[b];
    char* c = g.c + g.c_offsets[b];
    if (call(a, bb, c, 1)) continue;
    kernels::GemmArgs one = g;  // this batch alone, on our GEMM
    one.a = a;
    one.b = bb;
    one.c = c;
    one.batch = 1;
    one.a_offsets = one.b_offsets = one.c_offsets = nullptr;
    fallback(one);
  }
}

#else  // !FULGUR_WITH_CUDA

bool cublaslt_ready(int, std::string* why) {
  if (why) *why = "built without CUDA";
  return false;
}

void cublaslt_gemm(const kernels::GemmArgs&, void*, const GemmFallback&) {
  FULGUR_FAIL("matmul", "cuBLASLt: built without CUDA");
}

#endif

}  // namespace fulgur::cuda
