#include "fulgur/kernels/cuda/tensor_map.h"

#include <cuda_runtime.h>
#include <cudaTypedefs.h>

namespace fulgur::cuda {
namespace {

struct Encoder {
  PFN_cuTensorMapEncodeTiled_v12000 encode = nullptr;
  std::string error;
};

const Encoder& encoder() {
  static const Encoder e = [] {
    Encoder r;
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    const cudaError_t err =
        cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found);
    if (err != cudaSuccess || found != cudaDriverEntryPointSuccess || fn == nullptr) {
      r.error = std::string("the driver has no cuTensorMapEncodeTiled (") +
                (err != cudaSuccess ? cudaGetErrorString(err) : "symbol not found") + ")";
    } else {
      r.encode = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
    }
    return r;
  }();
  return e;
}

bool fail(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
  return false;
}

}  // namespace

bool tensor_maps_available(std::string* why) {
  const Encoder& e = encoder();
  if (e.encode != nullptr) return true;
  return fail(why, e.error);
}

bool encode_matrix_map(const MatrixMapArgs& a, CUtensorMap* map, std::string* why) {
  if (std::string problem = matrix_map_problem(a); !problem.empty()) return fail(why, std::move(problem));
  const Encoder& e = encoder();
  if (e.encode == nullptr) return fail(why, e.error);

  const cuuint64_t dims[3] = {static_cast<cuuint64_t>(a.cols), static_cast<cuuint64_t>(a.rows),
                              static_cast<cuuint64_t>(matrix_map_batches(a))};
  const cuuint64_t strides[2] = {static_cast<cuuint64_t>(a.ld * 2),
                                 static_cast<cuuint64_t>(matrix_map_batch_bytes(a))};
  const cuuint32_t box[3] = {static_cast<cuuint32_t>(a.box_cols), static_cast<cuuint32_t>(a.box_rows), 1};
  const cuuint32_t element_strides[3] = {1, 1, 1};
  const CUresult r = e.encode(map, a.bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 3,
                              const_cast<void*>(a.base), dims, strides, box, element_strides,
                              CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                              CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) return fail(why, "cuTensorMapEncodeTiled failed with CUresult " + std::to_string(static_cast<int>(r)));
  return true;
}

}  // namespace fulgur::cuda
