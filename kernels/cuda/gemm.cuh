// Tensor-core GEMM for sm_80 and later (mma.sync m16n8k16, also used on sm_90a), with the
// epilogue fused: D = act(alpha * op(A) @ op(B) + bias) + residual, batched (see gemm.h).
//
// Algorithm. A block computes a 128 x 128 tile of D with 8 warps laid out 2 (M) x 4 (N), each
// warp a 64 x 32 sub-tile = 4 x 4 mma.m16n8k16 accumulators (64 fp32 registers per thread);
// when that leaves SMs idle (small M x N), 64 x 64 tiles with 4 warps of 32 x 32 instead.
// K advances 64 (small tile: 32) at a time through a 3-stage (4) shared-memory ring filled
// with cp.async (16 bytes per copy, zero-filled past the matrix edges), so the copies of the
// next tiles overlap the mma work on this one; one __syncthreads per K step orders the ring.
// Operands are staged in their global layout (K- or M/N-contiguous rows) and ldmatrix (.trans
// for the M/N-contiguous ones) turns them into mma fragments, so all four transpose
// combinations share one kernel body. Shared rows are padded by 16 bytes: a row stride of
// 16 bytes mod 128 puts the 8 row addresses of one ldmatrix in 8 distinct 4-bank groups
// (strides of 80, 144 and 272 bytes), so it is conflict-free.
// Operands whose rows are not 16-byte aligned (odd leading dimension, K % 8 != 0 packed, ...)
// are loaded element by element instead of with cp.async; the rest of the kernel is the same.
// The epilogue works on the accumulators in registers (alpha, per-column bias, ReLU/GELU,
// residual add, conversion to fp32/bf16/fp16) and stores with bounds checks.
//
// Compiled twice (simt.h): gemm.cu by nvcc, gemm_emulated.cc by the host compiler for the
// SIMT emulator; the kernels live in FULGUR_KERNEL_NS so both builds link into one binary.
#pragma once

#include <cstdint>
#include <string>

#include "fulgur/kernels/cuda/gemm.h"
#include "fulgur/kernels/cuda/gemm_kernel_choice.h"
#include "kernels/cuda/gemm_device.cuh"
#include "kernels/cuda/gemm_epilogue.cuh"
#include "fulgur/kernels/cuda/simt.h"
#include "fulgur/kernels/cuda/simt_ptx.h"
#include "fulgur/kernels/error.h"
#include "fulgur/kernels/cuda/gemm_wgmma.h"

namespace fulgur::cuda {
namespace FULGUR_KERNEL_NS {
namespace gemm_detail {

constexpr int kPad = 8;  // 16-bit elements added to each shared row (see the file comment)

// One block shape: a kBM x kBN tile of D per block, K in steps of kBK through a ring of kStages
// shared buffers, kWarpsM x kWarpsN warps each owning a (kBM/kWarpsM) x (kBN/kWarpsN) tile.
template <int BM, int BN, int BK, int WarpsM, int WarpsN, int Stages, int MinBlocks>
struct Tile {
  static constexpr int kBM = BM, kBN = BN, kBK = BK, kStages = Stages, kMinBlocks = MinBlocks;
  static constexpr int kWarpsM = WarpsM, kWarpsN = WarpsN, kThreads = 32 * WarpsM * WarpsN;
  static constexpr int kWM = BM / WarpsM, kWN = BN / WarpsN;
  static constexpr int kMI = kWM / 16, kNI = kWN / 8;  // mma tiles per warp
  static_assert(kWM % 16 == 0 && kWN % 16 == 0 && BK % 16 == 0, "warp tiles are whole ldmatrix.x4 loads");

  // Operand tiles in shared memory keep their global layout: A is [m][k] or, transposed,
  // [k][m]; B is [k][n] or, transposed, [n][k].
  __host__ __device__ static constexpr int a_rows(bool trans) { return trans ? BK : BM; }
  __host__ __device__ static constexpr int a_cols(bool trans) { return trans ? BM : BK; }
  __host__ __device__ static constexpr int b_rows(bool trans) { return trans ? BN : BK; }
  __host__ __device__ static constexpr int b_cols(bool trans) { return trans ? BK : BN; }
  __host__ __device__ static constexpr int stage_elems(int rows, int cols) { return rows * (cols + kPad); }
  __host__ __device__ static constexpr int smem_bytes(bool trans_a, bool trans_b) {
    return Stages * 2 *
           (stage_elems(a_rows(trans_a), a_cols(trans_a)) + stage_elems(b_rows(trans_b), b_cols(trans_b)));
  }
};

// Most problems: 128 x 128 x 64 (8 warps of 64 x 32), 3 stages = 108 KiB, two blocks per SM.
// (On an H200, 128 x 256 tiles at one block per SM and 128 x 128 x 32 were slower.)
using TileLarge = Tile<128, 128, 64, 2, 4, 3, 2>;
// Few output tiles (small M x N): 64 x 64 x 32 with 4 warps of 32 x 32, to reach more SMs.
using TileSmall = Tile<64, 64, 32, 2, 2, 4, 4>;

struct Params {
  const uint16_t* a;
  const uint16_t* b;
  int64_t lda, ldb;
  int64_t stride_a, stride_b;
  int m, n, k;
  bool vec_a, vec_b;
  EpilogueParams epi;
};

__device__ __forceinline__ int imin(int x, int y) { return x < y ? x : y; }

// Copies the rows x cols tile of a row-major global matrix starting at (row0, col0) into a
// padded shared tile; elements at or past (row_limit, col_limit) read as 0. One 16-byte
// chunk (8 elements of a row) per thread per step.
template <int kThreads, int kRows, int kCols>
__device__ __forceinline__ void load_tile(uint16_t* smem, const uint16_t* g, int64_t ld, int row0, int row_limit,
                                          int col0, int col_limit, bool vec, int tid) {
  constexpr int kChunksPerRow = kCols / 8;
  constexpr int kChunks = kRows * kChunksPerRow;
  static_assert(kChunks % kThreads == 0, "tile chunks must divide among the threads");
FULGUR_UNROLL
  for (int i = 0; i < kChunks / kThreads; ++i) {
    const int c = tid + i * kThreads;
    const int r = c / kChunksPerRow, cc = (c % kChunksPerRow) * 8;
    uint16_t* dst = smem + r * (kCols + kPad) + cc;
    const int gr = row0 + r, gc = col0 + cc;
    const int valid = gr < row_limit && gc < col_limit ? imin(col_limit - gc, 8) : 0;
    const uint16_t* src = valid > 0 ? g + static_cast<int64_t>(gr) * ld + gc : g;
    if (vec) {
      ptx::cp_async_16(dst, src, 2 * valid);
    } else {
      uint32_t w[4];
FULGUR_UNROLL
      for (int e = 0; e < 4; ++e) {
        const uint32_t lo = 2 * e < valid ? src[2 * e] : 0u;
        const uint32_t hi = 2 * e + 1 < valid ? src[2 * e + 1] : 0u;
        w[e] = lo | (hi << 16);
      }
      *reinterpret_cast<uint4*>(dst) = make_uint4(w[0], w[1], w[2], w[3]);
    }
  }
}

template <typename T, bool kTransA, bool kTransB, bool kBf16>
__global__ void __launch_bounds__(T::kThreads, T::kMinBlocks) gemm_kernel(Params p) {
  constexpr int kBM = T::kBM, kBN = T::kBN, kBK = T::kBK, kStages = T::kStages, kThreads = T::kThreads;
  constexpr int kWM = T::kWM, kWN = T::kWN, kMI = T::kMI, kNI = T::kNI, kWarpsN = T::kWarpsN;
  constexpr int kAR = T::a_rows(kTransA), kAC = T::a_cols(kTransA);
  constexpr int kBR = T::b_rows(kTransB), kBC = T::b_cols(kTransB);
  constexpr int kAStage = T::stage_elems(kAR, kAC), kBStage = T::stage_elems(kBR, kBC);
  constexpr int kASt = kAC + kPad, kBSt = kBC + kPad;  // shared row strides (elements)
  FULGUR_DYNAMIC_SHARED(uint16_t, smem);
  uint16_t* s_a = smem;
  uint16_t* s_b = smem + kStages * kAStage;

  const int tid = static_cast<int>(threadIdx.x);
  const int lane = tid % 32, warp = tid / 32;
  const int warp_m = warp / kWarpsN, warp_n = warp % kWarpsN;
  const int m0 = static_cast<int>(blockIdx.y) * kBM, n0 = static_cast<int>(blockIdx.x) * kBN;
  const int64_t batch = blockIdx.z;
  const int k_tiles = (p.k + kBK - 1) / kBK;
  // With K = 0 the operands may be null and are never read.
  const uint16_t* a = k_tiles > 0 ? p.a + batch * p.stride_a : p.a;
  const uint16_t* b = k_tiles > 0 ? p.b + batch * p.stride_b : p.b;

  auto load_stage = [&](int stage, int kt) {
    const int k0 = kt * kBK;
    uint16_t* sa = s_a + stage * kAStage;
    uint16_t* sb = s_b + stage * kBStage;
    if (kTransA) {
      load_tile<kThreads, kAR, kAC>(sa, a, p.lda, k0, p.k, m0, p.m, p.vec_a, tid);
    } else {
      load_tile<kThreads, kAR, kAC>(sa, a, p.lda, m0, p.m, k0, p.k, p.vec_a, tid);
    }
    if (kTransB) {
      load_tile<kThreads, kBR, kBC>(sb, b, p.ldb, n0, p.n, k0, p.k, p.vec_b, tid);
    } else {
      load_tile<kThreads, kBR, kBC>(sb, b, p.ldb, k0, p.k, n0, p.n, p.vec_b, tid);
    }
  };

  float acc[kMI][kNI][4];
FULGUR_UNROLL
  for (int mi = 0; mi < kMI; ++mi) {
FULGUR_UNROLL
    for (int ni = 0; ni < kNI; ++ni) {
FULGUR_UNROLL
      for (int i = 0; i < 4; ++i) acc[mi][ni][i] = 0.0f;
    }
  }

  // Per-lane ldmatrix coordinates: lane l addresses row l % 8 of 8x8 matrix l / 8.
  const int lrow = lane % 8, lmat = lane / 8;

FULGUR_UNROLL
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < k_tiles) load_stage(s, s);
    ptx::cp_async_commit();
  }

  for (int kt = 0; kt < k_tiles; ++kt) {
    ptx::cp_async_wait<kStages - 2>();  // tile kt has landed (this thread's copies) ...
    __syncthreads();                    // ... everyone's, and stage (kt-1) % kStages is free
    const int next = kt + kStages - 1;
    if (next < k_tiles) load_stage(next % kStages, next);
    ptx::cp_async_commit();

    const uint16_t* sa = s_a + (kt % kStages) * kAStage;
    const uint16_t* sb = s_b + (kt % kStages) * kBStage;
FULGUR_UNROLL
    for (int kk = 0; kk < kBK; kk += 16) {
      uint32_t af[kMI][4];
      uint32_t bf[kNI][2];
FULGUR_UNROLL
      for (int mi = 0; mi < kMI; ++mi) {
        const int mb = warp_m * kWM + mi * 16;
        if (kTransA) {  // shared [k][m]: matrices (k0-7,m0-7) (k0-7,m8-15) (k8-15,m0-7) (k8-15,m8-15)
          ptx::ldmatrix_x4_trans(af[mi], sa + (kk + lrow + (lmat >> 1) * 8) * kASt + mb + (lmat & 1) * 8);
        } else {  // shared [m][k]: matrices (m0-7,k0-7) (m8-15,k0-7) (m0-7,k8-15) (m8-15,k8-15)
          ptx::ldmatrix_x4(af[mi], sa + (mb + lrow + (lmat & 1) * 8) * kASt + kk + (lmat >> 1) * 8);
        }
      }
FULGUR_UNROLL
      for (int nj = 0; nj < kNI / 2; ++nj) {
        const int nb = warp_n * kWN + nj * 16;
        uint32_t r[4];
        if (kTransB) {  // shared [n][k]: matrices (n0-7,k0-7) (n0-7,k8-15) (n8-15,k0-7) (n8-15,k8-15)
          ptx::ldmatrix_x4(r, sb + (nb + lrow + (lmat >> 1) * 8) * kBSt + kk + (lmat & 1) * 8);
        } else {  // shared [k][n]: matrices (k0-7,n0-7) (k8-15,n0-7) (k0-7,n8-15) (k8-15,n8-15)
          ptx::ldmatrix_x4_trans(r, sb + (kk + lrow + (lmat & 1) * 8) * kBSt + nb + (lmat >> 1) * 8);
        }
        bf[2 * nj][0] = r[0];
        bf[2 * nj][1] = r[1];
        bf[2 * nj + 1][0] = r[2];
        bf[2 * nj + 1][1] = r[3];
      }
FULGUR_UNROLL
      for (int mi = 0; mi < kMI; ++mi) {
FULGUR_UNROLL
        for (int ni = 0; ni < kNI; ++ni) {
          if (kBf16) {
            ptx::mma_m16n8k16_bf16(acc[mi][ni], af[mi], bf[ni]);
          } else {
            ptx::mma_m16n8k16_f16(acc[mi][ni], af[mi], bf[ni]);
          }
        }
      }
    }
  }
  ptx::cp_async_wait<0>();

  // Epilogue from the accumulator layout: acc[.][.][i] is row g + 8*(i/2), column 2t + i%2.
  const int g = lane >> 2, t = lane & 3;
FULGUR_UNROLL
  for (int mi = 0; mi < kMI; ++mi) {
FULGUR_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int row = m0 + warp_m * kWM + mi * 16 + g + 8 * h;
      if (row >= p.m) continue;
FULGUR_UNROLL
      for (int ni = 0; ni < kNI; ++ni) {
FULGUR_UNROLL
        for (int e = 0; e < 2; ++e) {
          epilogue_store(p.epi, batch, row, n0 + warp_n * kWN + ni * 8 + 2 * t + e, acc[mi][ni][2 * h + e]);
        }
      }
    }
  }
}

inline std::string gemm_shapes(const GemmArgs& g) {
  return "m=" + std::to_string(g.m) + ", n=" + std::to_string(g.n) + ", k=" + std::to_string(g.k) +
         ", batch=" + std::to_string(g.batch) + ", trans_a=" + (g.trans_a ? "true" : "false") +
         ", trans_b=" + (g.trans_b ? "true" : "false") + ", lda=" + std::to_string(g.lda) +
         ", ldb=" + std::to_string(g.ldb) + ", ldd=" + std::to_string(g.ldd);
}

// The rows of an operand can be copied 16 bytes at a time.
inline bool rows_16b_aligned(const void* p, int64_t ld, int64_t stride, int64_t batch) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0 && ld % 8 == 0 && (batch == 1 || stride % 8 == 0);
}

template <typename T, bool kTransA, bool kTransB, bool kBf16>
void launch(const Params& p, int64_t batch, void* stream) {
  constexpr int bytes = T::smem_bytes(kTransA, kTransB);
  const dim3 grid(static_cast<unsigned>((p.n + T::kBN - 1) / T::kBN), static_cast<unsigned>((p.m + T::kBM - 1) / T::kBM),
                  static_cast<unsigned>(batch));
  FULGUR_CHECK(grid.y <= 65535, "gemm", "m=", p.m, " needs ", grid.y, " block rows of ", T::kBM,
               ", more than CUDA's 65535; hint: split M into several calls");
#if !FULGUR_SIMT_EMULATED
  // Above 48 KiB of dynamic shared memory a kernel must opt in.
  const cudaError_t opt_in = reserve_shared_memory<&gemm_kernel<T, kTransA, kTransB, kBf16>>(bytes);
  FULGUR_CHECK(opt_in == cudaSuccess, "gemm", "cannot reserve ", bytes, " bytes of shared memory: ",
               cudaGetErrorString(opt_in), "; hint: the kernel needs an sm_80 or newer GPU");
  gemm_kernel<T, kTransA, kTransB, kBf16><<<grid, T::kThreads, bytes, static_cast<cudaStream_t>(stream)>>>(p);
  const cudaError_t err = cudaGetLastError();
  FULGUR_CHECK(err == cudaSuccess, "gemm", "kernel launch failed: ", cudaGetErrorString(err), " (grid ", grid.x,
               "x", grid.y, "x", grid.z, "); hint: check that the device is sm_80 or newer");
#else
  (void)stream;
  ::fulgur::simt::launch(grid, dim3(T::kThreads), static_cast<size_t>(bytes), &gemm_kernel<T, kTransA, kTransB, kBf16>,
                         p);
#endif
}

template <typename T>
void launch_tile(const Params& p, int64_t batch, void* stream, bool trans_a, bool trans_b, bool bf16) {
  // Eight kernels per tile shape: transposes and input dtype are compile-time (they pick the
  // ldmatrix flavour and the mma instruction); everything else is a kernel argument.
  if (trans_a) {
    if (trans_b) {
      bf16 ? launch<T, true, true, true>(p, batch, stream) : launch<T, true, true, false>(p, batch, stream);
    } else {
      bf16 ? launch<T, true, false, true>(p, batch, stream) : launch<T, true, false, false>(p, batch, stream);
    }
  } else {
    if (trans_b) {
      bf16 ? launch<T, false, true, true>(p, batch, stream) : launch<T, false, true, false>(p, batch, stream);
    } else {
      bf16 ? launch<T, false, false, true>(p, batch, stream) : launch<T, false, false, false>(p, batch, stream);
    }
  }
}

// The large tile when it still gives every SM a block, else the small one.
inline GemmTiles choose_tiles(const GemmArgs& g) {
  if (g.tiles != GemmTiles::Auto) return g.tiles;
  const auto blocks = [&](int64_t bm, int64_t bn) { return (g.m + bm - 1) / bm * ((g.n + bn - 1) / bn) * g.batch; };
  return blocks(TileLarge::kBM, TileLarge::kBN) >= sm_count() ? GemmTiles::Large : GemmTiles::Small;
}

}  // namespace gemm_detail
}  // namespace FULGUR_KERNEL_NS

template <>
GemmKernelChoice gemm_kernel_for<FULGUR_EXEC>(const GemmArgs& args) {
  using namespace FULGUR_KERNEL_NS::gemm_detail;
  GemmKernelChoice c = choose_gemm_kernel(args, compute_capability());
#if !FULGUR_SIMT_EMULATED
  std::string why;
  if (c.kernel == GemmKernel::Wgmma && !wgmma_kernel_loaded(&why)) c = {GemmKernel::MmaSync, "mma.sync: " + why};
#endif
  return c;
}

template <>
void gemm<FULGUR_EXEC>(const GemmArgs& args, void* stream) {
  using namespace FULGUR_KERNEL_NS::gemm_detail;
  GemmArgs g = args;
  const auto shapes = [&] { return gemm_shapes(args); };
  FULGUR_CHECK(g.m >= 0 && g.n >= 0 && g.k >= 0 && g.batch >= 0, "gemm", "negative size (", shapes(),
               "); hint: sizes are element counts >= 0");
  FULGUR_CHECK(g.input_dtype != GemmDtype::Float32, "gemm", "A and B are float32 (", shapes(),
               "); hint: the tensor-core GEMM takes bfloat16 or float16 inputs");
  // Sizes are ints in the kernel; one grid layer per batch (CUDA's grid.z limit).
  constexpr int64_t kMaxSize = INT32_MAX - 256;
  FULGUR_CHECK(g.m <= kMaxSize && g.n <= kMaxSize && g.k <= kMaxSize && g.batch <= 65535, "gemm", "too large (",
               shapes(), "); hint: m, n, k < 2^31 - 256 and batch <= 65535; split the work");
  g = with_leading_dimensions(g);
  FULGUR_CHECK(g.lda >= (g.trans_a ? g.m : g.k), "gemm", "lda=", g.lda, " is less than the row length ",
               g.trans_a ? g.m : g.k, " of A (", shapes(), "); hint: lda >= (trans_a ? m : k), or 0 for packed");
  FULGUR_CHECK(g.ldb >= (g.trans_b ? g.k : g.n), "gemm", "ldb=", g.ldb, " is less than the row length ",
               g.trans_b ? g.k : g.n, " of B (", shapes(), "); hint: ldb >= (trans_b ? k : n), or 0 for packed");
  FULGUR_CHECK(g.ldd >= g.n && g.ld_residual >= g.n, "gemm", "ldd=", g.ldd, ", ld_residual=", g.ld_residual,
               " less than n (", shapes(), "); hint: 0 means packed");
  if (g.m == 0 || g.n == 0 || g.batch == 0) return;
  FULGUR_CHECK(g.d != nullptr, "gemm", "D is null (", shapes(), ")");
  FULGUR_CHECK(g.k == 0 || (g.a != nullptr && g.b != nullptr), "gemm", "A or B is null (", shapes(), ")");
  FULGUR_CHECK(g.batch == 1 || g.stride_d != 0, "gemm", "stride_d=0 with several batches writes every batch to "
               "the same D (", shapes(), "); hint: stride_d = m * ldd for packed batches");

  // The Hopper kernel when asked for or by default, where it can run (gemm_kernel_choice.h);
  // it declines, launching nothing, when the driver cannot describe an operand to TMA.
  if (g.kernel != GemmKernel::MmaSync && choose_gemm_kernel(g, compute_capability()).kernel == GemmKernel::Wgmma &&
      gemm_wgmma<FULGUR_EXEC>(g, stream, nullptr)) {
    return;
  }

  Params p{};
  p.a = static_cast<const uint16_t*>(g.a);
  p.b = static_cast<const uint16_t*>(g.b);
  p.lda = g.lda;
  p.ldb = g.ldb;
  p.stride_a = g.stride_a;
  p.stride_b = g.stride_b;
  p.m = static_cast<int>(g.m);
  p.n = static_cast<int>(g.n);
  p.k = static_cast<int>(g.k);
  p.epi = epilogue_params(g);
  p.vec_a = rows_16b_aligned(g.a, g.lda, g.stride_a, g.batch);
  p.vec_b = rows_16b_aligned(g.b, g.ldb, g.stride_b, g.batch);

  const bool bf16 = g.input_dtype == GemmDtype::BFloat16;
  switch (choose_tiles(g)) {
    case GemmTiles::Large:
      launch_tile<TileLarge>(p, g.batch, stream, g.trans_a, g.trans_b, bf16);
      break;
    default:
      launch_tile<TileSmall>(p, g.batch, stream, g.trans_a, g.trans_b, bf16);
      break;
  }
}

}  // namespace fulgur::cuda
