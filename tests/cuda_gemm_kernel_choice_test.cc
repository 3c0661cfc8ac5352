// Which of our tensor-core GEMM kernels runs (kernels/cuda/gemm_kernel_choice.h): the rule
// that sends a call to the Hopper wgmma/TMA kernel or to the mma.sync kernel, and how the wgmma
// kernel lays its blocks over D (gemm_wgmma_tiles.h), checked without a GPU (the rules are
// pure; the kernels themselves are checked by cuda_gemm_emulated_test and, on a GPU,
// tests/gpu/cuda_gemm_gpu_test).
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fulgur/kernels/cuda/gemm_kernel_choice.h"
#include "fulgur/kernels/cuda/gemm_wgmma.h"
#include "fulgur/kernels/cuda/gemm_wgmma_tiles.h"
#include "fulgur/tests/cuda_gemm_reference.h"

namespace {

using fulgur::cuda::choose_gemm_kernel;
using fulgur::cuda::GemmArgs;
using fulgur::cuda::GemmKernel;

const void* address(uintptr_t a) { return reinterpret_cast<const void*>(a); }

// A packed, aligned bf16 problem that asks for wgmma (never dereferenced: the rule is pure).
GemmArgs wgmma_args(int64_t m, int64_t n, int64_t k) {
  GemmArgs g;
  g.m = m, g.n = n, g.k = k;
  g.a = address(0x10000);
  g.b = address(0x20000);
  g.kernel = GemmKernel::Wgmma;
  return g;
}

bool contains(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("the wgmma kernel is the default on sm_90; mma.sync when asked for") {
  GemmArgs g = wgmma_args(256, 256, 64);
  const auto asked = choose_gemm_kernel(g, 90);
  CHECK(asked.kernel == GemmKernel::Wgmma);
  CHECK(contains(asked.why, "wgmma: asked for"));
  g.kernel = GemmKernel::Auto;
  const auto automatic = choose_gemm_kernel(g, 90);
  CHECK(automatic.kernel == GemmKernel::Wgmma);
  CHECK(contains(automatic.why, "wgmma: the default"));
  CHECK(choose_gemm_kernel(g, 80).kernel == GemmKernel::MmaSync);
  g.a = address(0x10002);  // where TMA cannot read A, the default falls back
  CHECK(choose_gemm_kernel(g, 90).kernel == GemmKernel::MmaSync);
  g.a = address(0x10000);
  g.kernel = GemmKernel::MmaSync;
  CHECK(choose_gemm_kernel(g, 90).kernel == GemmKernel::MmaSync);
}

TEST_CASE("the wgmma kernel needs compute capability 9.0") {
  const GemmArgs g = wgmma_args(256, 256, 64);
  for (int cc : {80, 86, 89, 100, 120}) {
    const auto c = choose_gemm_kernel(g, cc);
    CHECK(c.kernel == GemmKernel::MmaSync);
    CHECK(contains(c.why, "9.0"));
  }
}

TEST_CASE("the wgmma kernel takes only operands TMA can describe") {
  GemmArgs g = wgmma_args(256, 256, 64);
  SUBCASE("K = 0") {
    g.k = 0;
    CHECK(choose_gemm_kernel(g, 90).kernel == GemmKernel::MmaSync);
  }
  SUBCASE("A 2 bytes off 16-byte alignment") {
    g.a = address(0x10002);
    const auto c = choose_gemm_kernel(g, 90);
    CHECK(c.kernel == GemmKernel::MmaSync);
    CHECK(contains(c.why, "A is not"));
  }
  SUBCASE("B 8 bytes off") {
    g.b = address(0x20008);
    const auto c = choose_gemm_kernel(g, 90);
    CHECK(c.kernel == GemmKernel::MmaSync);
    CHECK(contains(c.why, "B is not"));
  }
  SUBCASE("packed leading dimensions: K (A) and N (B) must be multiples of 8") {
    g.k = 20;  // lda = 20
    CHECK(choose_gemm_kernel(g, 90).kernel == GemmKernel::MmaSync);
    g.k = 24;
    CHECK(choose_gemm_kernel(g, 90).kernel == GemmKernel::Wgmma);
    g.n = 100;  // ldb = 100 (B is K x N)
    CHECK(choose_gemm_kernel(g, 90).kernel == GemmKernel::MmaSync);
    g.trans_b = true;  // B is N x K: ldb = K = 24
    CHECK(choose_gemm_kernel(g, 90).kernel == GemmKernel::Wgmma);
    g.trans_a = true;  // A is K x M: lda = M = 256
    CHECK(choose_gemm_kernel(g, 90).kernel == GemmKernel::Wgmma);
    g.m = 250;
    CHECK(choose_gemm_kernel(g, 90).kernel == GemmKernel::MmaSync);
  }
  SUBCASE("explicit leading dimensions") {
    g.lda = 72;
    g.ldb = 264;
    CHECK(choose_gemm_kernel(g, 90).kernel == GemmKernel::Wgmma);
    g.ldb = 260;
    CHECK(choose_gemm_kernel(g, 90).kernel == GemmKernel::MmaSync);
  }
  SUBCASE("batch strides matter only when batched") {
    g.stride_a = 5;
    CHECK(choose_gemm_kernel(g, 90).kernel == GemmKernel::Wgmma);  // batch 1
    g.batch = 4;
    CHECK(choose_gemm_kernel(g, 90).kernel == GemmKernel::MmaSync);
    g.stride_a = 256 * 64;
    g.stride_b = 0;  // B broadcast to every batch
    CHECK(choose_gemm_kernel(g, 90).kernel == GemmKernel::Wgmma);
  }
}

TEST_CASE("the wgmma kernel takes at most 2^30 tiles over all batches") {
  GemmArgs g = wgmma_args(128 * 1023, 128 * 1024, 64);  // (1023 + 1) x 1024 tiles: 2^20
  g.batch = 1024;
  CHECK(choose_gemm_kernel(g, 90).kernel == GemmKernel::Wgmma);  // 2^30 exactly
  g.batch = 1025;
  const auto c = choose_gemm_kernel(g, 90);
  CHECK(c.kernel == GemmKernel::MmaSync);
  CHECK(contains(c.why, "too many tiles"));
  g.batch = 1, g.m = int64_t{128} * (1 << 20);  // one batch of 2^20 x 1024 tiles
  CHECK(choose_gemm_kernel(g, 90).kernel == GemmKernel::MmaSync);
}

TEST_CASE("with_leading_dimensions fills in the packed ones only") {
  GemmArgs g = wgmma_args(5, 7, 9);
  g.trans_a = true;
  g.ldb = 40;
  const GemmArgs f = fulgur::cuda::with_leading_dimensions(g);
  CHECK(f.lda == 5);   // A is K x M
  CHECK(f.ldb == 40);  // given
  CHECK(f.ldd == 7);
  CHECK(f.ld_residual == 7);
}

TEST_CASE("the emulated GEMM runs the wgmma kernel when asked for, and mma.sync where TMA cannot read an operand") {
  namespace ref = fulgur::testing::gemm;
  std::mt19937 rng(7);
  ref::Case c;
  c.m = 40, c.n = 24, c.k = 32, c.trans_b = true, c.bias = true, c.act = ref::GemmActivation::Relu;
  ref::Problem p = ref::make_problem(c, rng);
  p.args.kernel = GemmKernel::Wgmma;
  const auto used = fulgur::cuda::gemm_kernel_for<fulgur::cuda::Exec::Emulated>(p.args);
  CHECK(used.kernel == GemmKernel::Wgmma);
  std::string why;  // the kernel itself, which says when it declines (gemm() would fall back)
  REQUIRE(fulgur::cuda::gemm_wgmma<fulgur::cuda::Exec::Emulated>(fulgur::cuda::with_leading_dimensions(p.args),
                                                                  nullptr, &why));
  ref::check_verdict(p, ref::verify(p, p.d));

  c.pad_a = 1;  // lda = 33: rows TMA cannot address, so mma.sync runs, with the same results
  p = ref::make_problem(c, rng);
  p.args.kernel = GemmKernel::Wgmma;
  const auto fallback = fulgur::cuda::gemm_kernel_for<fulgur::cuda::Exec::Emulated>(p.args);
  CHECK(fallback.kernel == GemmKernel::MmaSync);
  CHECK(contains(fallback.why, "multiple of 8"));
  fulgur::cuda::gemm<fulgur::cuda::Exec::Emulated>(p.args);
  ref::check_verdict(p, ref::verify(p, p.d));
}

TEST_CASE("the wgmma kernel's blocks cover every tile once, and a cluster's blocks share a tile column") {
  using fulgur::cuda::wgmma_tile;
  // Tile rows (already a multiple of the cluster size) x tile columns, with L2 groups of 16 tile
  // rows: whole groups, a partial last group, one row, one column.
  for (const int cluster : {1, 2}) {
    for (const auto& [rows, cols] : std::vector<std::pair<int, int>>{{32, 16}, {18, 9}, {2, 1}, {64, 32}, {34, 3}}) {
      const int tiles_m = cluster == 1 ? rows - 1 : rows;  // alone: an odd count too
      INFO("cluster " << cluster << ", " << tiles_m << " x " << cols << " tiles");
      std::set<std::pair<int, int>> seen;
      for (int tile = 0; tile < tiles_m * cols; ++tile) {
        const auto t = wgmma_tile(tile, tiles_m, cols, cluster);
        REQUIRE(t.tm >= 0);
        REQUIRE(t.tm < tiles_m);
        REQUIRE(t.tn >= 0);
        REQUIRE(t.tn < cols);
        CHECK(t.rank == tile % cluster);
        CHECK(seen.insert({t.tm, t.tn}).second);
        if (t.rank > 0) {  // the cluster's previous block: the tile row above, same column
          const auto first = wgmma_tile(tile - t.rank, tiles_m, cols, cluster);
          CHECK(first.tn == t.tn);
          CHECK(first.tm + t.rank == t.tm);
        }
      }
      CHECK(seen.size() == static_cast<size_t>(tiles_m * cols));
      // Blocks go 16 tile rows at a time (all columns of those rows, then the next 16), so that
      // the blocks running together share panels of A and B in L2.
      for (int tile = 0; tile < tiles_m * cols; ++tile) {
        CHECK(wgmma_tile(tile, tiles_m, cols, cluster).tm / 16 == tile / (16 * cols));
      }
    }
  }
}

TEST_CASE("the wgmma kernel's tile width, cluster size and grid") {
  using fulgur::cuda::GemmCluster;
  using fulgur::cuda::GemmTiles;
  using fulgur::cuda::wgmma_cluster_size;
  using fulgur::cuda::wgmma_launched_tile_rows;
  using fulgur::cuda::wgmma_tile_width;
  GemmArgs g = wgmma_args(4096, 4096, 4096);
  CHECK(wgmma_tile_width(g, 132) == 256);  // 32 x 16 wide tiles fill 132 SMs
  const float bias[1] = {0.0f};
  g.bias = bias;
  CHECK(wgmma_tile_width(g, 132) == 128);  // not with a bias (nor an activation or residual)
  g.bias = nullptr, g.activation = fulgur::cuda::GemmActivation::Gelu;
  CHECK(wgmma_tile_width(g, 132) == 128);
  g.activation = fulgur::cuda::GemmActivation::None, g.m = 512;
  CHECK(wgmma_tile_width(g, 132) == 128);  // 4 x 16 wide tiles would not fill them
  g.n = 128, g.m = 8192;
  CHECK(wgmma_tile_width(g, 132) == 128);  // N fits one narrow tile
  g.tiles = GemmTiles::Large;
  CHECK(wgmma_tile_width(g, 132) == 256);
  g.tiles = GemmTiles::Small, g.n = 8192;
  CHECK(wgmma_tile_width(g, 132) == 128);

  g = wgmma_args(129, 64, 64);  // two tile rows: pairs
  CHECK(wgmma_cluster_size(g) == 2);
  g.m = 128;  // one tile row: alone
  CHECK(wgmma_cluster_size(g) == 1);
  g.cluster = GemmCluster::Pairs;
  CHECK(wgmma_cluster_size(g) == 2);
  g.m = 4096, g.cluster = GemmCluster::Off;
  CHECK(wgmma_cluster_size(g) == 1);

  CHECK(wgmma_launched_tile_rows(128, 2) == 2);   // a partner past M
  CHECK(wgmma_launched_tile_rows(300, 2) == 4);   // 3 rows, rounded up to pairs
  CHECK(wgmma_launched_tile_rows(300, 1) == 3);
  CHECK(wgmma_launched_tile_rows(4096, 2) == 32);

  // Grids: a cluster per unit, or (persistent, the default) no more than fit at once.
  using fulgur::cuda::GemmGrid;
  using fulgur::cuda::wgmma_grid_clusters;
  CHECK(wgmma_grid_clusters(1000, 66, GemmGrid::PerTile) == 1000);
  CHECK(wgmma_grid_clusters(1000, 66, GemmGrid::Persistent) == 66);
  CHECK(wgmma_grid_clusters(1000, 66, GemmGrid::Auto) == 66);
  CHECK(wgmma_grid_clusters(40, 66, GemmGrid::Persistent) == 40);  // fewer units than slots
  CHECK(wgmma_grid_clusters(40, 0, GemmGrid::Persistent) == 40);   // occupancy unknown
}
