// How the Hopper GEMM (gemm_wgmma.cuh) lays its blocks over D: the tile width, the cluster size
// and which tile each block computes. Plain C++ (usable in device code), so that CI tests the
// layout without a GPU (tests/cuda_gemm_kernel_choice_test.cc).
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/gemm.h"

#if defined(__CUDACC__)
#define FULGUR_WGMMA_TILES_HD __host__ __device__
#else
#define FULGUR_WGMMA_TILES_HD
#endif

namespace fulgur::cuda {

constexpr int kWgmmaTileRows = 128;     // every tile is 128 rows of D
constexpr int kWgmmaGroupTileRows = 16;  // tiles are visited 16 tile rows at a time (L2 reuse)

// 256 columns when the epilogue is alpha alone (no bias, activation or residual), N > 128 and
// such tiles still give every SM a block; else 128. GemmTiles forces one (Small: 128, Large:
// 256). On an H200 (2026-11-30, docs/PERFORMANCE.md "The third GPU run"), with the paired
// epilogue, the wide tile ran at 90% of cuBLAS at 4096^3 against the narrow one's 81%; with a
// bias + GELU epilogue it ran at 0.6x the narrow one's rate (its unrolled epilogue over 128
// accumulators overflows the instruction cache).
inline int wgmma_tile_width(const GemmArgs& g, int sm_count) {
  if (g.tiles == GemmTiles::Small) return 128;
  if (g.tiles == GemmTiles::Large) return 256;
  const bool plain = g.bias == nullptr && g.residual == nullptr && g.activation == GemmActivation::None;
  const int64_t tiles_m = (g.m + kWgmmaTileRows - 1) / kWgmmaTileRows;
  const int64_t wide_tiles = tiles_m * ((g.n + 255) / 256) * g.batch;
  return plain && g.n > 128 && wide_tiles >= sm_count ? 256 : 128;
}

// Blocks per cluster: 2 (pairs sharing B) wherever there are two tile rows to pair, else 1;
// GemmCluster forces one (a lone tile row then gets a partner past M).
inline int wgmma_cluster_size(const GemmArgs& g) {
  if (g.cluster == GemmCluster::Off) return 1;
  if (g.cluster == GemmCluster::Pairs) return 2;
  return (g.m + kWgmmaTileRows - 1) / kWgmmaTileRows >= 2 ? 2 : 1;
}

// Clusters launched for `units` clusters' worth of tiles (all batches) when `resident` clusters
// fit on the GPU at once: a cluster per unit (PerTile), or at most one per resident slot, each
// taking units c, c + clusters, ... (Persistent, Auto).
inline int64_t wgmma_grid_clusters(int64_t units, int64_t resident, GemmGrid grid) {
  if (grid == GemmGrid::PerTile || resident <= 0) return units;
  return units < resident ? units : resident;
}

// Tile rows launched: M's, rounded up to a multiple of the cluster size.
inline int64_t wgmma_launched_tile_rows(int64_t m, int cluster) {
  const int64_t rows = (m + kWgmmaTileRows - 1) / kWgmmaTileRows;
  return (rows + cluster - 1) / cluster * cluster;
}

struct WgmmaTile {
  int tm, tn;  // tile row and column of D
  int rank;    // the block's rank in its cluster
};

// The tile of block `tile` (blockIdx.x) among tiles_m x tiles_n (tiles_m a multiple of cluster).
// A cluster's blocks are consecutive and take consecutive tile rows of one tile column (so they
// share B); clusters are visited kWgmmaGroupTileRows tile rows at a time, down the rows first.
FULGUR_WGMMA_TILES_HD inline WgmmaTile wgmma_tile(int tile, int tiles_m, int tiles_n, int cluster) {
  const int rank = tile % cluster;
  const int unit = tile / cluster;
  const int group_units = kWgmmaGroupTileRows / cluster;
  const int units_m = tiles_m / cluster;
  const int per_group = group_units * tiles_n;
  const int first_unit = unit / per_group * group_units;
  const int left = units_m - first_unit;
  const int group_rows = left < group_units ? left : group_units;
  return {(first_unit + (unit % per_group) % group_rows) * cluster + rank, (unit % per_group) / group_rows, rank};
}

}  // namespace fulgur::cuda
