// Hopper GEMM (sm_90a): wgmma.mma_async fed by TMA, warp-specialised, with gemm.h's fused
// epilogue. D = act(alpha * op(A) @ op(B) + bias) + residual, bf16/fp16 in, fp32 accumulation.
//
// Algorithm. A block of 3 warpgroups computes a 128 x BN tile of D (BN = 256 or 128, below). Warpgroup 0 is the producer: one thread issues TMA
// copies of the next K-slices (64 deep) of A and B into a ring of shared-memory stages
// (4 of 48 KiB for BN = 256, 6 of 32 KiB for BN = 128) and gives its registers away
// (setmaxnreg). Warpgroups 1 and 2 are consumers, each owning 64 rows of the tile: per stage
// they issue four wgmma m64nBNk16 straight from shared memory, keep one stage's wgmma group
// in flight while waiting for the previous one, and then free that previous stage.
// Synchronisation is two mbarriers per stage: `full` (the producer's arrival plus the TMA
// bytes) and `empty` (lane 0 of each consumer warp). The accumulators (BN/2 fp32 registers
// per thread) go through gemm_epilogue.cuh straight from registers: two columns per store
// without bounds checks for tiles inside D, element by element with checks at the edges.
//
// Clusters (kCluster = 2, GemmCluster): the two blocks of a cluster compute vertically adjacent
// tiles, so they need the same B. Each producer copies its own A and half of each B stage, and
// multicasts that half into both blocks' rings; each block's `full` barrier still expects the
// whole stage's bytes. A stage may be refilled only when both blocks' consumers have freed it,
// so consumers arrive on `empty` in both blocks (16 arrivals per phase). This halves the L2
// traffic for B: a 128 x 256 tile alone reads 0.0117 bytes of operands per flop, which at
// Hopper's tensor-core rate is more than L2 delivers. The blocks meet at a cluster barrier after
// the barriers are initialised and before either exits. tiles_m is rounded up to even; a block
// past M computes zeros that the epilogue drops, but still supplies its half of B.
//
// Layouts. TMA writes every box with the 128-byte swizzle, rows of 64 elements (128 bytes):
//   A not transposed (M x K, K-major): one box of 128 rows (m) x 64 k; consumer c reads rows
//     64c.. at byte offset 8 KiB * c; the wgmma descriptor is K-major, stride 1024 bytes per
//     8 rows, and each k16 step moves the start 32 bytes along the swizzled row.
//   A transposed (K x M, M-major): two boxes of 64 k-rows x 64 m, one per consumer; the
//     descriptor is MN-major (trans-a = 1), 1024 bytes per 8 k-rows, a k16 step is 2 KiB.
//   B transposed (N x K, K-major, as nn.Linear stores W): one box of BN rows x 64 k.
//   B not transposed (K x N, N-major): BN/64 boxes of 64 k-rows x 64 n, 8 KiB apart, which
//     is the descriptor's leading-dimension offset (trans-b = 1).
// Edges: boxes past M, N or K are zero-filled by TMA (and still count their full bytes toward
// the barrier), so the edge tiles need no special path; the epilogue skips rows and columns
// past M x N. Tiles are visited in groups of 16 tile rows, so that the blocks running at one
// time share panels of A and B in L2.
//
// Tile width (gemm_wgmma_tiles.h): 256 for an epilogue of alpha alone when such tiles still give
// every SM a block, else 128; GemmTiles forces one (Small = 128, Large = 256). With bias,
// activation or residual, the 256-wide tile's element-by-element epilogue over 128 accumulators
// overflows the instruction cache (Nsight Compute on an H200: instruction fetch the leading
// stall; 0.6-0.8x the narrow tile's rate), docs/PERFORMANCE.md, "The third GPU run".
//
// Persistent grid (GemmGrid::Persistent, the default): as many clusters as fit on the GPU at
// once (cudaOccupancyMaxActiveClusters), each walking units (a cluster's worth of tiles) c,
// c + clusters, ... over all batches. The ring runs on across tiles: the producer counts its
// fills over the whole walk (stage = fill % stages, phase = fill / stages) and starts the next
// tile's loads as soon as stages free up, and consumers free a tile's last stage before its
// epilogue, so the loads of tile t + 1 overlap the epilogue of tile t and no block waits for a
// new launch wave (4096^3 with 128 x 256 tiles is 3.9 waves of 132 SMs). GemmGrid::PerTile
// launches a cluster per unit instead, each walking one.
//
// Two builds, like every kernel source here: nvcc (gemm_wgmma.cu, sm_90a) and the SIMT
// emulator (gemm_wgmma_emulated.cc), whose models of mbarriers, TMA and wgmma (simt_hopper.h)
// run the same source in CI; tests/gpu/cuda_gemm_gpu_test.cc checks it on a GPU.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "fulgur/kernels/cuda/gemm_wgmma.h"
#include "fulgur/kernels/cuda/gemm_wgmma_tiles.h"
#include "fulgur/kernels/cuda/simt.h"
#include "fulgur/kernels/error.h"
#include "kernels/cuda/cluster.cuh"
#include "kernels/cuda/gemm_device.cuh"
#include "kernels/cuda/gemm_epilogue.cuh"
#include "kernels/cuda/hopper_ptx.cuh"
#if FULGUR_SIMT_EMULATED
#include "fulgur/kernels/cuda/tensor_map_emulated.h"
#else
#include "fulgur/kernels/cuda/tensor_map.h"
#endif

namespace fulgur::cuda {
namespace FULGUR_KERNEL_NS {
namespace gemm_detail {
namespace wgmma {

namespace hp = ::fulgur::ptx::hopper;
#if !FULGUR_SIMT_EMULATED
using ::fulgur::FULGUR_KERNEL_NS::cluster_launch_config;  // cluster.cuh
#endif

constexpr int kBM = 128, kBK = 64;
static_assert(kBM == kWgmmaTileRows, "gemm_wgmma_tiles.h lays out tiles of kBM rows");
constexpr int kThreads = 384;           // producer warpgroup + 2 consumer warpgroups
[[maybe_unused]] constexpr int kBoxBytes = 64 * 128;    // 64 rows of one 128-byte swizzle span
[[maybe_unused]] constexpr int kProducerRegs = 40, kConsumerRegs = 232;

template <int BN>
struct Shape {
  static constexpr int kStages = BN == 256 ? 4 : 6;
  static constexpr int kABytes = kBM * kBK * 2;
  static constexpr int kBBytes = BN * kBK * 2;
  static constexpr int kStageBytes = kABytes + kBBytes;
  // Stages, then 2 barriers per stage, plus 1 KiB to align the start to the swizzle's 1024 bytes.
  static constexpr int kSmemBytes = kStages * kStageBytes + 2 * kStages * 8 + 1024;
  static_assert(kABytes % 1024 == 0 && kBBytes % 1024 == 0, "stages must keep 1024-byte alignment");
};

struct WgmmaParams {
  int m, n, k;
  int tiles_m, tiles_n;  // tiles_m rounded up to a multiple of the cluster size
  int units;             // clusters' worth of tiles over all batches: tiles_m / cluster * tiles_n * batch
  bool broadcast_a, broadcast_b;  // batch stride 0: every batch reads batch 0
  EpilogueParams epi;
};

// Where a unit puts this block: its tile's first row and column of D, and its batch.
struct TileOrigin {
  int m0, n0, batch;
};

template <int BN, int kCluster>
__device__ __forceinline__ TileOrigin tile_origin(const WgmmaParams& p, int unit, int rank) {
  const int per_batch = p.tiles_m / kCluster * p.tiles_n;
  // gemm_wgmma_tiles.h's order within a batch: a cluster's blocks, consecutive, take
  // consecutive tile rows of one tile column.
  const WgmmaTile t = wgmma_tile(unit % per_batch * kCluster + rank, p.tiles_m, p.tiles_n, kCluster);
  return {t.tm * kBM, t.tn * BN, unit / per_batch};
}

// Arrivals each `empty` barrier waits for per phase: lane 0 of each of the 8 consumer warps of
// every block of the cluster (each block's consumers free the stage in all of them, since the
// producers' multicast writes it in all of them).
template <int kCluster>
constexpr int kEmptyArrivals = 8 * kCluster;

// A box of B's stage: into this block alone, or (clusters) multicast into the same offset of
// every block of the cluster, each block's `full` barrier counting its bytes. With a cluster of
// one, rank 0 copies the whole stage: the same boxes as a block alone.
template <int kCluster>
__device__ __forceinline__ void load_b_box(uint8_t* dst, const hp::TensorMap* map, uint64_t* full, int c0, int c1,
                                           int c2) {
  if constexpr (kCluster == 1) {
    hp::tma_load_3d(dst, map, full, c0, c1, c2);
  } else {
    hp::tma_load_3d_multicast(dst, map, full, c0, c1, c2, static_cast<uint16_t>((1u << kCluster) - 1));
  }
}

// The producer's single thread: TMA copies of each K-slice into the ring, a stage at a time
// once the consumers (of every block of the cluster) have freed it. A is this block's own; B
// is shared by the cluster's blocks (same tile column), so with kCluster = 2 each block copies
// half of B's stage and multicasts it into both blocks' rings.
template <int BN, int kCluster, bool kTransA, bool kTransB>
__device__ __forceinline__ void produce(const hp::TensorMap& map_a, const hp::TensorMap& map_b, const WgmmaParams& p,
                                        uint8_t* s_a, uint8_t* s_b, uint64_t* full, uint64_t* empty, int first_unit,
                                        int unit_stride, int k_tiles, int rank) {
  using S = Shape<BN>;
  constexpr int kStages = S::kStages;
  constexpr int kBoxesB = BN / 64;  // N-major B: 64 x 64 boxes per stage
  constexpr int kBoxesPerBlock = kBoxesB / kCluster;
  hp::prefetch_tensor_map(&map_a);
  hp::prefetch_tensor_map(&map_b);
  int fill = 0;  // stages filled so far, over every tile of this block: the ring runs on across tiles
  for (int unit = first_unit; unit < p.units; unit += unit_stride) {
    const TileOrigin t = tile_origin<BN, kCluster>(p, unit, rank);
    const int m0 = t.m0, n0 = t.n0;
    const int batch_a = p.broadcast_a ? 0 : t.batch, batch_b = p.broadcast_b ? 0 : t.batch;
    for (int kt = 0; kt < k_tiles; ++kt, ++fill) {
      const int s = fill % kStages;
      if (fill >= kStages) hp::mbarrier_wait(&empty[s], ((fill / kStages) - 1) & 1);
      // The whole stage's bytes, A and all of B, whichever block copies them; full boxes even
      // past the edges (TMA zero-fills and still counts them).
      hp::mbarrier_arrive_expect_tx(&full[s], S::kStageBytes);
      const int k0 = kt * kBK;
      uint8_t* a_dst = s_a + s * S::kABytes;
      uint8_t* b_dst = s_b + s * S::kBBytes;
      if (kTransA) {
        hp::tma_load_3d(a_dst, &map_a, &full[s], m0, k0, batch_a);
        hp::tma_load_3d(a_dst + kBoxBytes, &map_a, &full[s], m0 + 64, k0, batch_a);
      } else {
        hp::tma_load_3d(a_dst, &map_a, &full[s], k0, m0, batch_a);
      }
      if (kTransB) {
        // The map's box is BN / kCluster rows of N: this block's share, at its rows of the stage.
        constexpr int kRows = BN / kCluster;
        load_b_box<kCluster>(b_dst + rank * kRows * 128, &map_b, &full[s], k0, n0 + rank * kRows, batch_b);
      } else {
        FULGUR_UNROLL
        for (int i = 0; i < kBoxesPerBlock; ++i) {
          const int j = rank * kBoxesPerBlock + i;
          load_b_box<kCluster>(b_dst + j * kBoxBytes, &map_b, &full[s], n0 + 64 * j, k0, batch_b);
        }
      }
    }
  }
}

// Frees a stage for the producers: lane 0 of each consumer warp arrives on the stage's `empty`
// barrier in every block of the cluster (after wgmma.wait_group, which all lanes passed together).
template <int kCluster>
__device__ __forceinline__ void release_stage(uint64_t* empty, int lane, int rank) {
  __syncwarp();
  if (lane != 0) return;
  if constexpr (kCluster == 1) {
    (void)rank;
    hp::mbarrier_arrive(empty);
  } else {
    FULGUR_UNROLL
    for (int c = 0; c < kCluster; ++c) hp::mbarrier_arrive_cluster(empty, static_cast<uint32_t>(c));
  }
}

// The four accumulators of column group I (columns 8I + 2q + {0, 1}, rows g and g + 8).
template <int I, int N>
__device__ __forceinline__ void store_column_group(const EpilogueParams& e, int batch, int row, int col,
                                                   const float (&acc)[N]) {
  epilogue_store(e, batch, row, col, acc[4 * I]);
  epilogue_store(e, batch, row, col + 1, acc[4 * I + 1]);
  epilogue_store(e, batch, row + 8, col, acc[4 * I + 2]);
  epilogue_store(e, batch, row + 8, col + 1, acc[4 * I + 3]);
}

// One consumer warpgroup: 64 rows of each of the block's tiles, wgmma over the ring, then the
// epilogue, while the producer already fills the ring for the next tile.
template <int BN, int kCluster, bool kBf16, bool kTransA, bool kTransB>
__device__ __forceinline__ void consume(const WgmmaParams& p, const uint8_t* s_a, const uint8_t* s_b, uint64_t* full,
                                        uint64_t* empty, int first_unit, int unit_stride, int k_tiles, int consumer,
                                        int tid, int rank) {
  using S = Shape<BN>;
  constexpr int kStages = S::kStages;
  int fill = 0;  // the producer's count: stage fill % kStages, phase fill / kStages
  for (int unit = first_unit; unit < p.units; unit += unit_stride) {
    const TileOrigin t = tile_origin<BN, kCluster>(p, unit, rank);
    // Not zeroed: the first wgmma overwrites it (scale-d = 0), which also keeps the array in
    // registers (a zeroing loop made NVVM place 128 floats in local memory).
    float acc[BN / 2];

    for (int kt = 0; kt < k_tiles; ++kt, ++fill) {
      const int s = fill % kStages;
      hp::mbarrier_wait(&full[s], (fill / kStages) & 1);
      const uint8_t* a_tile = s_a + s * S::kABytes + consumer * kBoxBytes;
      const uint8_t* b_tile = s_b + s * S::kBBytes;
      hp::fence_registers(acc);
      hp::wgmma_fence();
      FULGUR_UNROLL
      for (int kk = 0; kk < kBK / 16; ++kk) {
        const uint64_t desc_a = kTransA ? hp::sw128_descriptor(a_tile + kk * 2048, kBoxBytes, 1024)
                                        : hp::sw128_descriptor(a_tile + kk * 32, 16, 1024);
        const uint64_t desc_b = kTransB ? hp::sw128_descriptor(b_tile + kk * 32, 16, 1024)
                                        : hp::sw128_descriptor(b_tile + kk * 2048, kBoxBytes, 1024);
        hp::wgmma_ss<BN, kBf16, kTransA ? 1 : 0, kTransB ? 0 : 1>(acc, desc_a, desc_b, kt > 0 || kk > 0 ? 1u : 0u);
      }
      hp::wgmma_commit();
      hp::wgmma_wait<1>();  // the previous stage's wgmma group has finished reading ...
      hp::fence_registers(acc);
      // ... so it may be refilled
      if (kt > 0) release_stage<kCluster>(&empty[(fill - 1) % kStages], tid % 32, rank);
    }
    hp::wgmma_wait<0>();
    hp::fence_registers(acc);
    // The tile's last stage too, so that the producer refills it during the epilogue.
    release_stage<kCluster>(&empty[(fill - 1) % kStages], tid % 32, rank);

    // Accumulator layout (PTX ISA, wgmma D fragment for m64nNk16): warp w of the warpgroup
    // holds rows 16w..16w+15; acc[4i + 2h + e] is row g + 8h, column 8i + 2q + e (g = lane / 4,
    // q = lane % 4).
    const int lane = tid % 32, warp = (tid % 128) / 32;
    const int g = lane / 4, q = lane % 4;
    const int row0 = t.m0 + consumer * 64 + warp * 16 + g;
    const int col0 = t.n0 + 2 * q;
    // Expanded at compile time (folds over the column groups), not loops: left to the unroller,
    // the 128-accumulator version stayed a loop, indexed acc at run time and so put it in local
    // memory. A tile inside M x N with aligned pairs and an epilogue of alpha alone stores two
    // columns at once, D's dtype decided once per tile; other tiles and epilogues go element by
    // element with bounds checks.
    const EpilogueParams& e = p.epi;
    const bool plain =
        e.bias == nullptr && e.residual == nullptr && e.activation == static_cast<int>(GemmActivation::None);
    if (plain && tile_inside(e, t.m0, t.n0, kBM, BN) && pairs_aligned(e)) {
      const auto pairs = [&]<int... I>(auto store, std::integer_sequence<int, I...>) {
        ((store(row0, col0 + 8 * I, acc[4 * I], acc[4 * I + 1]),
          store(row0 + 8, col0 + 8 * I, acc[4 * I + 2], acc[4 * I + 3])),
         ...);
      };
      constexpr auto groups = std::make_integer_sequence<int, BN / 8>{};
      if (e.out_dtype == static_cast<int>(GemmDtype::BFloat16)) {
        pairs([&](int r, int c, float a0, float a1) {
          store_pair_plain<GemmDtype::BFloat16>(e, t.batch, r, c, a0, a1);
        }, groups);
      } else if (e.out_dtype == static_cast<int>(GemmDtype::Float16)) {
        pairs([&](int r, int c, float a0, float a1) {
          store_pair_plain<GemmDtype::Float16>(e, t.batch, r, c, a0, a1);
        }, groups);
      } else {
        pairs([&](int r, int c, float a0, float a1) {
          store_pair_plain<GemmDtype::Float32>(e, t.batch, r, c, a0, a1);
        }, groups);
      }
    } else {
      [&]<int... I>(std::integer_sequence<int, I...>) {
        (store_column_group<I>(e, t.batch, row0, col0 + 8 * I, acc), ...);
      }(std::make_integer_sequence<int, BN / 8>{});
    }
  }
}

template <int BN, int kCluster, bool kBf16, bool kTransA, bool kTransB>
__global__ void __launch_bounds__(kThreads, 1)
    gemm_wgmma_kernel(const __grid_constant__ hp::TensorMap map_a, const __grid_constant__ hp::TensorMap map_b,
                      WgmmaParams p) {
#if FULGUR_HOPPER_RUNS
  using S = Shape<BN>;
  constexpr int kStages = S::kStages;
  // Dynamic shared memory is only 16-byte aligned: the ring starts at the next 1024 bytes.
  FULGUR_DYNAMIC_SHARED(uint8_t, smem_raw);
  uint8_t* smem = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t{1023});
  uint8_t* s_a = smem;
  uint8_t* s_b = smem + kStages * S::kABytes;
  uint64_t* full = reinterpret_cast<uint64_t*>(s_b + kStages * S::kBBytes);
  uint64_t* empty = full + kStages;

  // Which tiles: cluster c of the grid takes units c, c + clusters, ... (one each when the grid
  // has a cluster per unit; persistent grids have fewer); rank = %cluster_ctarank for clusters
  // of kCluster x 1 x 1, and picks the block's tile row of each unit.
  const int rank = static_cast<int>(blockIdx.x) % kCluster;
  const int first_unit = static_cast<int>(blockIdx.x) / kCluster;
  const int unit_stride = static_cast<int>(gridDim.x) / kCluster;
  const int k_tiles = (p.k + kBK - 1) / kBK;

  const int tid = static_cast<int>(threadIdx.x);
  if (tid == 0) {
    for (int s = 0; s < kStages; ++s) {
      hp::mbarrier_init(&full[s], 1);
      hp::mbarrier_init(&empty[s], kEmptyArrivals<kCluster>);
    }
    hp::fence_barrier_init();
  }
  // With a cluster, the other block's producer multicasts into this block's ring and its
  // consumers arrive on this block's barriers: both wait for the barriers to exist.
  if constexpr (kCluster > 1) {
    hp::cluster_sync();
  } else {
    __syncthreads();
  }

  // The two roles are the two branches of one if/else, so that ptxas applies setmaxnreg.
  const int warpgroup = tid / 128;
  if (warpgroup == 0) {
    hp::setmaxnreg_dec<kProducerRegs>();
    if (tid == 0) {
      produce<BN, kCluster, kTransA, kTransB>(map_a, map_b, p, s_a, s_b, full, empty, first_unit, unit_stride, k_tiles,
                                              rank);
    }
  } else {
    hp::setmaxnreg_inc<kConsumerRegs>();
    consume<BN, kCluster, kBf16, kTransA, kTransB>(p, s_a, s_b, full, empty, first_unit, unit_stride, k_tiles,
                                                   warpgroup - 1, tid, rank);
  }
  // No block may exit while the other still arrives on its barriers or multicasts into its ring.
  if constexpr (kCluster > 1) hp::cluster_sync();
#else
  (void)map_a, (void)map_b, (void)p;
  __trap();
#endif
}

// Clusters of kernel that fit on the GPU at once (a persistent grid's size). The emulator
// answers 3, whatever its notional SM count: it runs clusters one after another anyway, and a
// small grid makes blocks walk several tiles (wherever there are more than 3 units), the path
// a persistent grid adds.
template <auto kKernel, int kCluster>
int resident_clusters(int bytes) {
#if FULGUR_SIMT_EMULATED
  (void)bytes;
  return 3;
#else
  // Once per kernel and device (one block per SM: __launch_bounds__(.., 1) and ~200 KiB of
  // shared memory; clusters of 2 also need SMs that pair up within a GPC).
  static ::fulgur::cuda::detail::PerDevice<int> clusters;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return sm_count() / kCluster;
  return clusters.get(device, [bytes] {
    cudaLaunchAttribute cluster;
    cudaLaunchConfig_t config =
        cluster_launch_config(dim3(kCluster), dim3(kThreads), bytes, nullptr, kCluster, &cluster);
    config.numAttrs = 1;  // the query wants the cluster shape, even of one block
    int n = 0;
    if (cudaOccupancyMaxActiveClusters(&n, kKernel, &config) != cudaSuccess || n <= 0) {
      cudaGetLastError();  // clear it; fall back to one cluster per kCluster SMs
      n = sm_count() / kCluster;
    }
    return n;
  });
#endif
}

template <int BN, int kCluster, bool kBf16, bool kTransA, bool kTransB>
void launch(const hp::TensorMap& map_a, const hp::TensorMap& map_b, const WgmmaParams& p, GemmGrid grid_kind,
            void* stream) {
  constexpr int bytes = Shape<BN>::kSmemBytes;
  constexpr auto kernel = &gemm_wgmma_kernel<BN, kCluster, kBf16, kTransA, kTransB>;
#if !FULGUR_SIMT_EMULATED
  const cudaError_t opt_in = reserve_shared_memory<kernel>(bytes);
  FULGUR_CHECK(opt_in == cudaSuccess, "gemm", "cannot reserve ", bytes,
               " bytes of shared memory for the wgmma kernel: ", cudaGetErrorString(opt_in),
               "; hint: the wgmma kernel needs an sm_90 GPU (GemmKernel::MmaSync runs elsewhere)");
#endif
  const int64_t clusters = wgmma_grid_clusters(p.units, resident_clusters<kernel, kCluster>(bytes), grid_kind);
  const dim3 grid(static_cast<unsigned>(clusters * kCluster));
#if FULGUR_SIMT_EMULATED
  (void)stream;
  ::fulgur::simt::launch_cluster(kCluster, grid, dim3(kThreads), bytes, kernel, map_a, map_b, p);
#else
  cudaLaunchAttribute cluster;  // grid.x is a multiple of kCluster
  const cudaLaunchConfig_t config = cluster_launch_config(grid, dim3(kThreads), bytes, stream, kCluster, &cluster);
  const cudaError_t err = cudaLaunchKernelEx(&config, kernel, map_a, map_b, p);
  FULGUR_CHECK(err == cudaSuccess, "gemm", "wgmma kernel launch failed: ", cudaGetErrorString(err), " (grid ", grid.x,
               " blocks, clusters of ", kCluster, ", ", bytes,
               " bytes of shared memory); hint: GemmKernel::MmaSync avoids this kernel");
#endif
}

template <int BN, int kCluster>
void launch_variant(const hp::TensorMap& a, const hp::TensorMap& b, const WgmmaParams& p, GemmGrid grid, void* stream,
                    bool bf16, bool trans_a, bool trans_b) {
  // Thirty-two kernels in all: tile width, cluster size, input dtype and both transposes pick
  // the TMA boxes, the descriptors and the instruction, so they are compile-time.
  if (bf16) {
    if (trans_a) {
      trans_b ? launch<BN, kCluster, true, true, true>(a, b, p, grid, stream)
              : launch<BN, kCluster, true, true, false>(a, b, p, grid, stream);
    } else {
      trans_b ? launch<BN, kCluster, true, false, true>(a, b, p, grid, stream)
              : launch<BN, kCluster, true, false, false>(a, b, p, grid, stream);
    }
  } else {
    if (trans_a) {
      trans_b ? launch<BN, kCluster, false, true, true>(a, b, p, grid, stream)
              : launch<BN, kCluster, false, true, false>(a, b, p, grid, stream);
    } else {
      trans_b ? launch<BN, kCluster, false, false, true>(a, b, p, grid, stream)
              : launch<BN, kCluster, false, false, false>(a, b, p, grid, stream);
    }
  }
}

// The TMA map of one operand: boxes of box_rows x 64 elements (128 bytes, the swizzle span).
inline MatrixMapArgs operand_map(const void* base, bool bf16, int64_t rows, int64_t cols, int64_t ld,
                                 int64_t batch, int64_t batch_stride, int box_rows) {
  MatrixMapArgs m;
  m.base = base;
  m.bf16 = bf16;
  m.rows = rows;
  m.cols = cols;
  m.ld = ld;
  m.batch = batch;
  m.batch_stride = batch_stride;
  m.box_rows = box_rows;
  m.box_cols = 64;
  return m;
}

}  // namespace wgmma
}  // namespace gemm_detail
}  // namespace FULGUR_KERNEL_NS

template <>
bool gemm_wgmma<FULGUR_EXEC>(const GemmArgs& g, void* stream, std::string* why) {
  using namespace FULGUR_KERNEL_NS::gemm_detail;
  using namespace FULGUR_KERNEL_NS::gemm_detail::wgmma;
  const bool bf16 = g.input_dtype == GemmDtype::BFloat16;
#if !FULGUR_SIMT_EMULATED
  if (!wgmma_kernel_loaded(why)) return false;
#endif
  const int bn = wgmma_tile_width(g, sm_count());
  const int cluster = wgmma_cluster_size(g);

  // A is m x k (k x m transposed) and B is k x n (n x k transposed), cols the contiguous side.
  const MatrixMapArgs a = operand_map(g.a, bf16, g.trans_a ? g.k : g.m, g.trans_a ? g.m : g.k, g.lda, g.batch,
                                      g.stride_a, g.trans_a ? kBK : kBM);
  // K-major B: each block of a cluster copies its share of the tile's columns.
  const MatrixMapArgs b = operand_map(g.b, bf16, g.trans_b ? g.n : g.k, g.trans_b ? g.k : g.n, g.ldb, g.batch,
                                      g.stride_b, g.trans_b ? bn / cluster : kBK);
  hp::TensorMap map_a{}, map_b{};
  if (!encode_matrix_map(a, &map_a, why) || !encode_matrix_map(b, &map_b, why)) return false;

  WgmmaParams p{};
  p.m = static_cast<int>(g.m);
  p.n = static_cast<int>(g.n);
  p.k = static_cast<int>(g.k);
  p.tiles_m = static_cast<int>(wgmma_launched_tile_rows(g.m, cluster));
  p.tiles_n = static_cast<int>((g.n + bn - 1) / bn);
  p.broadcast_a = g.batch <= 1 || g.stride_a == 0;
  p.broadcast_b = g.batch <= 1 || g.stride_b == 0;
  p.epi = epilogue_params(g);
  const int64_t units = p.tiles_m / cluster * int64_t{p.tiles_n} * g.batch;
  FULGUR_CHECK(units < (int64_t{1} << 31), "gemm", "the wgmma kernel's ", units, " tiles (m=", g.m, " n=", g.n,
               " batch=", g.batch, ") do not fit an int; hint: GemmKernel::MmaSync, or split the batch");
  p.units = static_cast<int>(units);
  if (bn == 256) {
    cluster == 2 ? launch_variant<256, 2>(map_a, map_b, p, g.grid, stream, bf16, g.trans_a, g.trans_b)
                 : launch_variant<256, 1>(map_a, map_b, p, g.grid, stream, bf16, g.trans_a, g.trans_b);
  } else {
    cluster == 2 ? launch_variant<128, 2>(map_a, map_b, p, g.grid, stream, bf16, g.trans_a, g.trans_b)
                 : launch_variant<128, 1>(map_a, map_b, p, g.grid, stream, bf16, g.trans_a, g.trans_b);
  }
  return true;
}

}  // namespace fulgur::cuda
