// The CUDA softmax kernels (kernels/cuda/softmax.cuh) run through the SIMT emulator against a
// double-precision reference and against the CPU backend, on shapes that take every kernel
// variant: warp per row with every per-lane count, block per row with and without 16-byte
// vector access, 1-row / 1-column / empty matrices, misaligned pointers, NaN and -inf rows.
#include <doctest/doctest.h>

#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "fulgur/kernels/cuda/softmax.h"
#include "fulgur/tests/test_util.h"
#include "tests/cuda_reference.h"

using fulgur::cuda::Exec;
using fulgur::testing::compare;

namespace {

// float32 arithmetic against a double reference: rows of up to ~5000 terms.
constexpr double kRtol = 2e-5, kAtol = 1e-6;

struct Shape {
  int64_t rows, cols;
};

// Then few very long rows cut into chunks (multi-block, 16-byte and scalar access); the last
// has enough rows for one cluster per row again: 64 x 32772 takes clusters of 4 (forward) and 8
// (backward). Every cluster size is forced on small shapes below.
const Shape kShapes[] = {{1, 1},    {3, 5},     {5, 32},    {4, 33},    {9, 64},    {2, 100},
                         {5, 256},  {3, 511},   {2, 1000},  {2, 1024},  {2, 1025},  {3, 4096},
                         {2, 4099}, {1, 5000},  {2, 12000}, {1, 20000}, {1, 20002}, {1, 40000},
                         {3, 65536}, {2, 40002}, {64, 32772}};

}  // namespace

TEST_CASE("cuda softmax (emulated): forward and backward against a double reference") {
  std::mt19937 rng(7);
  for (const Shape s : kShapes) {
    for (bool log : {false, true}) {
      CAPTURE(s.rows);
      CAPTURE(s.cols);
      CAPTURE(log);
      CAPTURE(fulgur::cuda::softmax_kernel_name(s.rows, s.cols, false, true));
      const auto n = static_cast<size_t>(s.rows * s.cols);
      const auto x = fulgur::testing::random_floats(n, rng, -8.0f, 8.0f);
      std::vector<float> y(n, std::numeric_limits<float>::quiet_NaN());
      fulgur::cuda::softmax_forward<Exec::Emulated>(x.data(), y.data(), s.rows, s.cols, log, nullptr);
      CHECK(compare(y, fulgur::testing::softmax_reference(x, s.rows, s.cols, log), kRtol, kAtol) == "");

      const auto dy = fulgur::testing::random_floats(n, rng, -1.0f, 1.0f);
      std::vector<float> dx(n, std::numeric_limits<float>::quiet_NaN());
      fulgur::cuda::softmax_backward<Exec::Emulated>(y.data(), dy.data(), dx.data(), s.rows, s.cols, log, nullptr);
      CHECK(compare(dx, fulgur::testing::softmax_backward_reference(y, dy, s.rows, s.cols, log), 1e-4, 1e-5) == "");
    }
  }
}

TEST_CASE("cuda softmax (emulated): the shapes above take every kernel, multi-block and clusters included") {
  REQUIRE(fulgur::cuda::softmax_cluster_kernels_run<Exec::Emulated>());
  std::set<std::string> forward, backward;
  for (const Shape s : kShapes) {
    forward.insert(fulgur::cuda::softmax_kernel_name(s.rows, s.cols, false, true));
    backward.insert(fulgur::cuda::softmax_kernel_name(s.rows, s.cols, true, true));
  }
  const std::set<std::string> all{"warp-per-row", "block-per-row", "multi-block-per-row", "cluster-per-row"};
  CHECK(forward == all);
  CHECK(backward == all);
  // A GPU without clusters (or kernels built for sm_80) runs those rows a block each.
  CHECK(std::string(fulgur::cuda::softmax_kernel_name(64, 32772, false, true)) == "cluster-per-row");
  CHECK(std::string(fulgur::cuda::softmax_kernel_name(64, 32772, false, false)) == "block-per-row");
  CHECK(std::string(fulgur::cuda::softmax_kernel_name(3, 65536, false, false)) == "multi-block-per-row");
  CHECK(fulgur::cuda::softmax_row_cluster(64, 32772, false) == 4);
  CHECK(fulgur::cuda::softmax_row_cluster(64, 32772, true) == 8);
  CHECK(fulgur::cuda::softmax_row_cluster(64, 20000, true) == 4);
  CHECK(fulgur::cuda::softmax_row_cluster(64, 65536, true) == 8);   // 64 KiB of y and dy per block
  CHECK(fulgur::cuda::softmax_row_cluster(64, 131072, true) == 0);  // 128 KiB: block-per-row (measured faster)
  CHECK(fulgur::cuda::softmax_row_cluster(64, 131072, false) == 8);
  CHECK(fulgur::cuda::softmax_row_cluster(64, 20000, false) == 0);  // one block's shared memory holds it
  CHECK(fulgur::cuda::softmax_row_cluster(64, 32770, false) == 0);  // cols % 4 != 0
  CHECK(fulgur::cuda::softmax_row_cluster(4, 32772, false) == 0);   // few rows: cut into chunks instead
  CHECK(fulgur::cuda::softmax_row_splits(3, 65536) == 16);  // 86 wanted, 16 chunks of 4096 at most
  CHECK(fulgur::cuda::softmax_row_splits(1, 40000) == 9);
  CHECK(fulgur::cuda::softmax_row_splits(64, 1 << 20) == 1);  // enough rows: one block each
  CHECK(fulgur::cuda::softmax_row_splits(2, 32768) == 1);     // short enough for the smem kernel
}

TEST_CASE("cuda softmax (emulated): agrees with the CPU backend, NaN and -inf rows included") {
  std::mt19937 rng(11);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t cols : {7, 300, 2048, 3001, 12000, 20000, 40000}) {
    const int64_t rows = 4;
    auto x = fulgur::testing::random_floats(static_cast<size_t>(rows * cols), rng);
    x[static_cast<size_t>(cols + 2)] = nan;                                               // row 1: a NaN
    for (int64_t c = 0; c < cols; ++c) x[static_cast<size_t>(2 * cols + c)] = -inf;         // row 2: all -inf
    x[static_cast<size_t>(3 * cols)] = -inf;                                               // row 3: one -inf
    for (bool log : {false, true}) {
      CAPTURE(cols);
      CAPTURE(log);
      std::vector<float> y(x.size());
      fulgur::cuda::softmax_forward<Exec::Emulated>(x.data(), y.data(), rows, cols, log, nullptr);
      const fulgur::Tensor t = fulgur::from_vector(x, fulgur::Shape{rows, cols});
      const fulgur::Tensor cpu = log ? t.log_softmax(1) : t.softmax(1);
      const auto expected = fulgur::testing::values(cpu);
      CHECK(compare(y, expected, kRtol, kAtol) == "");
    }
  }
}

TEST_CASE("cuda softmax (emulated): misaligned rows take the scalar path, empty shapes do nothing") {
  std::mt19937 rng(3);
  for (const int64_t cols : {2048, 40000}) {  // one block per row; multi-block
    CAPTURE(cols);
    const int64_t rows = 2;
    auto storage = fulgur::testing::random_floats(static_cast<size_t>(rows * cols + 1), rng);
    std::vector<float> out(storage.size(), 0.0f);
    const std::vector<float> x(storage.begin() + 1, storage.end());
    fulgur::cuda::softmax_forward<Exec::Emulated>(storage.data() + 1, out.data() + 1, rows, cols, false, nullptr);
    CHECK(compare(std::vector<float>(out.begin() + 1, out.end()),
                  fulgur::testing::softmax_reference(x, rows, cols, false), kRtol, kAtol) == "");
    CHECK(out[0] == 0.0f);  // nothing written before the output
  }

  std::vector<float> none(4, 1.0f);
  fulgur::cuda::softmax_forward<Exec::Emulated>(none.data(), none.data(), 0, 4, false, nullptr);
  fulgur::cuda::softmax_forward<Exec::Emulated>(none.data(), none.data(), 4, 0, true, nullptr);
  CHECK(none == std::vector<float>(4, 1.0f));
  CHECK_THROWS_AS(fulgur::cuda::softmax_forward<Exec::Emulated>(none.data(), none.data(), -1, 4, false, nullptr),
                  fulgur::Error);
}

TEST_CASE("cuda softmax (emulated): cluster sizes follow the chunk limits") {
  using fulgur::cuda::softmax_cluster_blocks;
  // Forward stages x: 64 KiB chunks are 16384 columns, 128 KiB ones (8 blocks only) 32768.
  CHECK(softmax_cluster_blocks(32772, 1) == 4);
  CHECK(softmax_cluster_blocks(65536, 1) == 4);
  CHECK(softmax_cluster_blocks(65540, 1) == 8);
  CHECK(softmax_cluster_blocks(131072, 1) == 8);
  CHECK(softmax_cluster_blocks(262144, 1) == 8);
  CHECK(softmax_cluster_blocks(262148, 1) == 0);
  // Backward stages y and dy: half as many columns per chunk.
  CHECK(softmax_cluster_blocks(16384, 2) == 2);
  CHECK(softmax_cluster_blocks(16388, 2) == 4);
  CHECK(softmax_cluster_blocks(32772, 2) == 8);
  CHECK(softmax_cluster_blocks(131072, 2) == 8);
  CHECK(softmax_cluster_blocks(131076, 2) == 0);
}

TEST_CASE("cuda softmax (emulated): the cluster kernels at every cluster size, short and empty chunks included") {
  std::mt19937 rng(5);
  // 36 columns in 8 blocks: chunks of 8, the last three blocks empty; 4100 in 8: a short last one.
  for (const int64_t cols : {36, 4100}) {
    for (const int64_t blocks : {1, 2, 4, 8}) {
      for (bool log : {false, true}) {
        CAPTURE(cols);
        CAPTURE(blocks);
        CAPTURE(log);
        const int64_t rows = 3;
        const auto n = static_cast<size_t>(rows * cols);
        const auto x = fulgur::testing::random_floats(n, rng, -8.0f, 8.0f);
        std::vector<float> y(n, std::numeric_limits<float>::quiet_NaN());
        fulgur::cuda::softmax_forward_in_clusters<Exec::Emulated>(x.data(), y.data(), rows, cols, log, blocks, nullptr);
        CHECK(compare(y, fulgur::testing::softmax_reference(x, rows, cols, log), kRtol, kAtol) == "");
        const auto dy = fulgur::testing::random_floats(n, rng, -1.0f, 1.0f);
        std::vector<float> dx(n, std::numeric_limits<float>::quiet_NaN());
        fulgur::cuda::softmax_backward_in_clusters<Exec::Emulated>(y.data(), dy.data(), dx.data(), rows, cols, log,
                                                                   blocks, nullptr);
        CHECK(compare(dx, fulgur::testing::softmax_backward_reference(y, dy, rows, cols, log), 1e-4, 1e-5) == "");
      }
    }
  }
}

TEST_CASE("cuda softmax (emulated): the cluster kernels keep NaN and -inf rows as the CPU backend does") {
  std::mt19937 rng(13);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const int64_t rows = 4, cols = 4100;
  auto x = fulgur::testing::random_floats(static_cast<size_t>(rows * cols), rng);
  x[static_cast<size_t>(cols + 3000)] = nan;                                       // row 1: a NaN in block 5 of 8
  for (int64_t c = 0; c < cols; ++c) x[static_cast<size_t>(2 * cols + c)] = -inf;  // row 2: all -inf
  x[static_cast<size_t>(3 * cols + 4099)] = -inf;                                  // row 3: one -inf, last block
  const fulgur::Tensor t = fulgur::from_vector(x, fulgur::Shape{rows, cols});
  for (bool log : {false, true}) {
    CAPTURE(log);
    std::vector<float> y(x.size());
    fulgur::cuda::softmax_forward_in_clusters<Exec::Emulated>(x.data(), y.data(), rows, cols, log, 8, nullptr);
    CHECK(compare(y, fulgur::testing::values(log ? t.log_softmax(1) : t.softmax(1)), kRtol, kAtol) == "");
  }
}

TEST_CASE("cuda softmax (emulated): a forced cluster launch checks what the kernels need") {
  std::vector<float> buf(2 * 300000 + 4, 0.5f);
  float* p = buf.data();
  auto forward = [&](const float* x, int64_t cols, int64_t blocks) {
    fulgur::cuda::softmax_forward_in_clusters<Exec::Emulated>(x, p, 1, cols, false, blocks, nullptr);
  };
  CHECK_THROWS_AS(forward(p, 4098, 2), fulgur::Error);      // cols % 4 != 0
  CHECK_THROWS_AS(forward(p + 1, 4096, 2), fulgur::Error);  // misaligned
  CHECK_THROWS_AS(forward(p, 4096, 9), fulgur::Error);      // more than 8 blocks
  CHECK_THROWS_AS(forward(p, 4096, 0), fulgur::Error);
  CHECK_THROWS_AS(forward(p, 262148, 8), fulgur::Error);    // chunks of more than 128 KiB
  CHECK_NOTHROW(forward(p, 262144, 8));
  CHECK_THROWS_AS(fulgur::cuda::softmax_backward_in_clusters<Exec::Emulated>(p, p, p + 300000, 1, 131076, false, 8,
                                                                             nullptr),
                  fulgur::Error);                             // y and dy: 128 KiB per block at most
}
