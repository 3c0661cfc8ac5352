// Batched tensor-core GEMM with a fused epilogue (kernels in gemm.cuh):
//   D[b] = act(alpha * op(A[b]) @ op(B[b]) + bias) + residual[b]
// A, B: bf16 or fp16 (16-bit patterns in memory), accumulated in fp32; D and residual: fp32,
// bf16 or fp16. Row-major with leading dimensions: op(A) is M x K, stored as M x K (lda >= K)
// or, with trans_a, as K x M (lda >= M); op(B) is K x N, stored as K x N (ldb >= N) or, with
// trans_b, as N x K (ldb >= K). A leading dimension of 0 means packed. Batch b starts at
// pointer + b * stride (in elements; a stride of 0 broadcasts A, B, bias-free operands).
//
// Plain C++: the same declaration serves the nvcc build (Exec::Gpu, the kernel runs on the
// current device and `stream`, a cudaStream_t or nullptr) and the emulated build
// (Exec::Emulated, the kernel runs on the CPU through the SIMT emulator; `stream` ignored).
// Invalid arguments throw fulgur::Error before anything is launched.
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/exec.h"

namespace fulgur::cuda {

enum class GemmDtype { BFloat16, Float16, Float32 };
enum class GemmActivation { None, Relu, Gelu };  // Gelu: the erf form, PyTorch's default
// Block tile of D: Auto takes Large (128x128, 8 warps) when that gives every SM a block, else
// Small (64x64, 4 warps); tests force each. For the wgmma kernel: Large is 128x256, Small 128x128,
// and Auto takes Large only for an epilogue of alpha alone (gemm_wgmma_tiles.h says why).
enum class GemmTiles { Auto, Small, Large };
// Which of our two kernels runs (gemm_kernel_choice.h has the rule and says why):
//   MmaSync: mma.sync m16n8k16 with cp.async (gemm.cuh; sm_80 and later, and the emulator);
//   Wgmma:   Hopper wgmma fed by TMA, warp-specialised (gemm_wgmma.cuh; sm_90 only, and the
//            emulator) where its operand rules hold, else MmaSync;
//   Auto:    Wgmma where it can run (sm_90: 1.7-2.9x the mma.sync kernel's rate at large shapes
//            on an H200, 2026-11-30, docs/PERFORMANCE.md), else MmaSync.
enum class GemmKernel { Auto, MmaSync, Wgmma };
// wgmma kernel only: Pairs runs blocks in clusters of two along M that share each stage of B
// through TMA multicast (half the L2 traffic for B); Off runs one block per tile; Auto takes
// Pairs wherever there are two or more tile rows. For tests and benchmarks.
enum class GemmCluster { Auto, Off, Pairs };
// wgmma kernel only: PerTile launches a block (or pair) per tile; Persistent launches as many
// as fit on the GPU at once, each walking the tiles in turn, so that a block's producer fills
// the ring for its next tile while its consumers run the last one's epilogue, and no block
// waits for a new launch wave. Auto: Persistent. For tests and benchmarks.
enum class GemmGrid { Auto, PerTile, Persistent };

struct GemmArgs {
  int64_t m = 0, n = 0, k = 0;
  int64_t batch = 1;
  GemmDtype input_dtype = GemmDtype::BFloat16;  // A and B (bf16 or fp16)

  const void* a = nullptr;
  int64_t lda = 0;
  int64_t stride_a = 0;
  bool trans_a = false;

  const void* b = nullptr;
  int64_t ldb = 0;
  int64_t stride_b = 0;
  bool trans_b = false;

  void* d = nullptr;
  GemmDtype out_dtype = GemmDtype::Float32;
  int64_t ldd = 0;
  int64_t stride_d = 0;

  float alpha = 1.0f;
  const float* bias = nullptr;  // n floats, added per column (same for every batch)
  GemmActivation activation = GemmActivation::None;
  const void* residual = nullptr;  // out_dtype, M x N per batch
  int64_t ld_residual = 0;
  int64_t stride_residual = 0;

  GemmTiles tiles = GemmTiles::Auto;
  GemmKernel kernel = GemmKernel::Auto;
  GemmCluster cluster = GemmCluster::Auto;
  GemmGrid grid = GemmGrid::Auto;
};

// Launches the GEMM (nothing for an empty M, N or batch; K = 0 gives D = epilogue(0)).
// Alignment is never required: operands whose rows are 16-byte aligned (pointer, leading
// dimension and batch stride multiples of 8 elements) take the cp.async path, others a
// slower element-wise load path.
template <Exec E>
void gemm(const GemmArgs& args, void* stream = nullptr);

template <>
void gemm<Exec::Gpu>(const GemmArgs& args, void* stream);
template <>
void gemm<Exec::Emulated>(const GemmArgs& args, void* stream);

}  // namespace fulgur::cuda
