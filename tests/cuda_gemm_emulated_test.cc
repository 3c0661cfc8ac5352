// The tensor-core GEMM (kernels/cuda/gemm.cuh) on the SIMT emulator, against the double
// reference of cuda_gemm_reference.h; and first the emulated PTX instructions it is built on
// (kernels/cuda/simt_ptx.h), on one warp, against the register layouts of the PTX ISA and a
// plain matrix product.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "fulgur/kernels/cuda/gemm.h"
#include "fulgur/kernels/cuda/simt.h"
#include "fulgur/kernels/cuda/simt_ptx.h"
#include "fulgur/kernels/error.h"
#include "fulgur/kernels/half.h"
#include "fulgur/tests/cuda_gemm_reference.h"

namespace {

using fulgur::cuda::Exec;
using fulgur::cuda::GemmArgs;
using fulgur::cuda::GemmDtype;
using fulgur::cuda::GemmTiles;
namespace ref = fulgur::testing::gemm;
using ref::fresh_rng;

// Unused dynamic shared memory: with 0 bytes the emulator memsets a null arena, which UBSan
// reports (simt_emulator.cc, reset_block); the GEMM itself always asks for some.
constexpr size_t kDynamicBytes = 16;

uint32_t pack(uint16_t lo, uint16_t hi) { return static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16); }

// Fragments built by the PTX ISA formulas (m16n8k16, .f16/.bf16): A row-major 16x16, B as
// 16(k) x 8(n) row-major, C/D 16x8 row-major.
__global__ void mma_by_formula(const uint16_t* A, const uint16_t* B, const float* C, float* D, bool bf16) {
  const int lane = static_cast<int>(threadIdx.x), g = lane >> 2, t = lane & 3;
  uint32_t a[4], b[2];
  float d[4];
  for (int r = 0; r < 4; ++r) {
    const int row = g + 8 * (r & 1), col = 2 * t + 8 * (r >> 1);
    a[r] = pack(A[row * 16 + col], A[row * 16 + col + 1]);
  }
  for (int r = 0; r < 2; ++r) {
    const int k = 2 * t + 8 * r;
    b[r] = pack(B[k * 8 + g], B[(k + 1) * 8 + g]);
  }
  for (int i = 0; i < 4; ++i) d[i] = C[(g + 8 * (i >> 1)) * 8 + 2 * t + (i & 1)];
  if (bf16) {
    fulgur::ptx::mma_m16n8k16_bf16(d, a, b);
  } else {
    fulgur::ptx::mma_m16n8k16_f16(d, a, b);
  }
  for (int i = 0; i < 4; ++i) D[(g + 8 * (i >> 1)) * 8 + 2 * t + (i & 1)] = d[i];
}

// ldmatrix .x4/.x2, plain and .trans, from four 8x8 matrices stacked as 32 rows in shared
// memory (row stride 16 elements); lane l addresses row l. out[lane][0..3] x4, [4..7] x4.trans,
// [8..9] x2, [10..11] x2.trans.
__global__ void ldmatrix_all(const uint16_t* M, uint32_t* out) {
  FULGUR_SHARED(uint16_t, s, [32][16]);
  const int lane = static_cast<int>(threadIdx.x);
  for (int c = 0; c < 16; ++c) s[lane][c] = M[lane * 16 + c];
  __syncthreads();
  uint32_t r4[4], r2[2];
  fulgur::ptx::ldmatrix_x4(r4, &s[lane][0]);
  for (int i = 0; i < 4; ++i) out[lane * 12 + i] = r4[i];
  fulgur::ptx::ldmatrix_x4_trans(r4, &s[lane][0]);
  for (int i = 0; i < 4; ++i) out[lane * 12 + 4 + i] = r4[i];
  fulgur::ptx::ldmatrix_x2(r2, &s[lane % 16][0]);
  for (int i = 0; i < 2; ++i) out[lane * 12 + 8 + i] = r2[i];
  fulgur::ptx::ldmatrix_x2_trans(r2, &s[lane % 16][0]);
  for (int i = 0; i < 2; ++i) out[lane * 12 + 10 + i] = r2[i];
}

// ldmatrix -> mma -> D as the GEMM kernel does it: A row-major 16x16 (x4), B either as
// [n][k] (x2) or as [k][n] (x2.trans).
__global__ void ldmatrix_mma(const uint16_t* A, const uint16_t* B, bool b_is_nk, bool bf16, float* D) {
  FULGUR_SHARED(uint16_t, sa, [16][24]);  // padded rows (48 bytes, 16-byte aligned)
  FULGUR_SHARED(uint16_t, sb, [16][24]);
  const int lane = static_cast<int>(threadIdx.x);
  for (int i = lane; i < 256; i += 32) sa[i / 16][i % 16] = A[i];
  for (int i = lane; i < 128; i += 32) {
    if (b_is_nk) {
      sb[i / 16][i % 16] = B[i];  // 8 rows (n) of 16 (k)
    } else {
      sb[i / 8][i % 8] = B[i];  // 16 rows (k) of 8 (n)
    }
  }
  __syncthreads();
  const int lrow = lane % 8, lmat = lane / 8;
  uint32_t a[4], b[2];
  fulgur::ptx::ldmatrix_x4(a, &sa[lrow + (lmat & 1) * 8][(lmat >> 1) * 8]);
  if (b_is_nk) {
    fulgur::ptx::ldmatrix_x2(b, &sb[lrow][(lmat & 1) * 8]);
  } else {
    fulgur::ptx::ldmatrix_x2_trans(b, &sb[lrow + (lmat & 1) * 8][0]);
  }
  float d[4] = {0, 0, 0, 0};
  if (bf16) {
    fulgur::ptx::mma_m16n8k16_bf16(d, a, b);
  } else {
    fulgur::ptx::mma_m16n8k16_f16(d, a, b);
  }
  const int g = lane >> 2, t = lane & 3;
  for (int i = 0; i < 4; ++i) D[(g + 8 * (i >> 1)) * 8 + 2 * t + (i & 1)] = d[i];
}

std::vector<uint16_t> random16(size_t n, GemmDtype t, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = ref::to_16(normal(rng), t);
  return v;
}

}  // namespace

TEST_CASE("emulated mma.m16n8k16 follows the PTX fragment layout") {
  std::mt19937 rng = fresh_rng();
  for (GemmDtype t : {GemmDtype::BFloat16, GemmDtype::Float16}) {
    const auto A = random16(256, t, rng), B = random16(128, t, rng);
    std::vector<float> C(128), D(128, NAN);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (auto& c : C) c = normal(rng);
    FULGUR_LAUNCH(mma_by_formula, dim3(1), dim3(32), kDynamicBytes, nullptr, A.data(), B.data(), C.data(), D.data(),
                  t == GemmDtype::BFloat16);
    for (int i = 0; i < 16; ++i) {
      for (int j = 0; j < 8; ++j) {
        double want = C[static_cast<size_t>(i * 8 + j)], mag = std::fabs(want);
        for (int k = 0; k < 16; ++k) {
          const double p = ref::from_16(A[static_cast<size_t>(i * 16 + k)], t) * ref::from_16(B[static_cast<size_t>(k * 8 + j)], t);
          want += p;
          mag += std::fabs(p);
        }
        INFO("D[" << i << "][" << j << "]");
        CHECK(std::fabs(D[static_cast<size_t>(i * 8 + j)] - want) <= 1e-6 * mag + 1e-7);
      }
    }
  }
}

TEST_CASE("emulated ldmatrix x4/x2 and .trans follow the PTX layout") {
  std::mt19937 rng = fresh_rng();
  std::vector<uint16_t> M(32 * 16);
  for (auto& x : M) x = static_cast<uint16_t>(rng());
  std::vector<uint32_t> out(32 * 12);
  FULGUR_LAUNCH(ldmatrix_all, dim3(1), dim3(32), kDynamicBytes, nullptr, M.data(), out.data());
  auto at = [&](int row, int col) { return M[static_cast<size_t>(row * 16 + col)]; };
  for (int l = 0; l < 32; ++l) {
    const int q = l % 4, r = l / 4;
    for (int i = 0; i < 4; ++i) {
      CHECK(out[static_cast<size_t>(l * 12 + i)] == pack(at(8 * i + r, 2 * q), at(8 * i + r, 2 * q + 1)));
      CHECK(out[static_cast<size_t>(l * 12 + 4 + i)] == pack(at(8 * i + 2 * q, r), at(8 * i + 2 * q + 1, r)));
    }
    for (int i = 0; i < 2; ++i) {
      CHECK(out[static_cast<size_t>(l * 12 + 8 + i)] == pack(at(8 * i + r, 2 * q), at(8 * i + r, 2 * q + 1)));
      CHECK(out[static_cast<size_t>(l * 12 + 10 + i)] == pack(at(8 * i + 2 * q, r), at(8 * i + 2 * q + 1, r)));
    }
  }
}

TEST_CASE("emulated ldmatrix + mma compute a plain 16x16 @ 16x8 product") {
  std::mt19937 rng = fresh_rng();
  for (GemmDtype t : {GemmDtype::BFloat16, GemmDtype::Float16}) {
    for (bool b_is_nk : {false, true}) {
      const auto A = random16(256, t, rng), B = random16(128, t, rng);
      std::vector<float> D(128, NAN);
      FULGUR_LAUNCH(ldmatrix_mma, dim3(1), dim3(32), kDynamicBytes, nullptr, A.data(), B.data(), b_is_nk,
                    t == GemmDtype::BFloat16, D.data());
      for (int i = 0; i < 16; ++i) {
        for (int j = 0; j < 8; ++j) {
          double want = 0, mag = 0;
          for (int k = 0; k < 16; ++k) {
            const size_t bi = static_cast<size_t>(b_is_nk ? j * 16 + k : k * 8 + j);
            const double p = ref::from_16(A[static_cast<size_t>(i * 16 + k)], t) * ref::from_16(B[bi], t);
            want += p;
            mag += std::fabs(p);
          }
          INFO("D[" << i << "][" << j << "] b_is_nk=" << b_is_nk);
          CHECK(std::fabs(D[static_cast<size_t>(i * 8 + j)] - want) <= 1e-6 * mag + 1e-7);
        }
      }
    }
  }
}

TEST_CASE("emulated GEMM matches the double reference on every edge case, with every tile shape") {
  std::mt19937 rng = fresh_rng();
  for (GemmTiles tiles : {GemmTiles::Small, GemmTiles::Large}) {
    double total_ms = 0;
    for (const ref::Case& c : ref::standard_cases()) {
      ref::Problem p = ref::make_problem(c, rng);
      p.args.tiles = tiles;
      const auto t0 = std::chrono::steady_clock::now();
      fulgur::cuda::gemm<Exec::Emulated>(p.args);
      total_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      INFO("tiles " << static_cast<int>(tiles));
      ref::check_verdict(p, ref::verify(p, p.d));
    }
    MESSAGE("tiles " << static_cast<int>(tiles) << ": " << ref::standard_cases().size() << " cases in " << total_ms
                     << " ms");
  }
}

TEST_CASE("GEMM with an empty M, N or batch launches nothing and leaves D alone") {
  std::mt19937 rng = fresh_rng();
  for (int which = 0; which < 3; ++which) {
    ref::Case c;
    c.m = 4, c.n = 4, c.k = 8;
    ref::Problem p = ref::make_problem(c, rng);
    if (which == 0) p.args.m = 0;
    if (which == 1) p.args.n = 0;
    if (which == 2) p.args.batch = 0;
    fulgur::cuda::gemm<Exec::Emulated>(p.args);
    for (uint8_t byte : p.d) CHECK(byte == 0xFF);
  }
}

TEST_CASE("GEMM rejects invalid arguments with fulgur::Error") {
  std::mt19937 rng = fresh_rng();
  ref::Case c;
  c.m = 4, c.n = 4, c.k = 8;
  ref::Problem p = ref::make_problem(c, rng);
  GemmArgs g = p.args;
  g.lda = 3;  // < k
  CHECK_THROWS_WITH_AS(fulgur::cuda::gemm<Exec::Emulated>(g), doctest::Contains("lda=3"), fulgur::Error);
  g = p.args;
  g.input_dtype = GemmDtype::Float32;
  CHECK_THROWS_WITH_AS(fulgur::cuda::gemm<Exec::Emulated>(g), doctest::Contains("bfloat16 or float16"), fulgur::Error);
  g = p.args;
  g.k = -1;
  CHECK_THROWS_AS(fulgur::cuda::gemm<Exec::Emulated>(g), fulgur::Error);
  g = p.args;
  g.batch = 2;
  g.stride_d = 0;
  CHECK_THROWS_WITH_AS(fulgur::cuda::gemm<Exec::Emulated>(g), doctest::Contains("stride_d"), fulgur::Error);
  g = p.args;
  g.a = nullptr;
  CHECK_THROWS_AS(fulgur::cuda::gemm<Exec::Emulated>(g), fulgur::Error);
}
