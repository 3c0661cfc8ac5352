// The Hopper wgmma/TMA GEMM (kernels/cuda/gemm_wgmma.cuh) on the SIMT emulator's models of
// mbarriers, TMA and wgmma (kernels/cuda/simt_hopper.h): first the instructions alone, on one
// warpgroup, against a plain matrix product (both operand layouts, TMA's zero fill, and the
// emulator reading operands only when the wgmma is waited for); then the whole kernel, with
// both tile widths, alone and in pairs sharing B by multicast, on the shapes of the GPU test
// shrunk for the CPU, against the double reference of cuda_gemm_reference.h.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fulgur/kernels/cuda/gemm.h"
#include "fulgur/kernels/cuda/gemm_kernel_choice.h"
#include "fulgur/kernels/cuda/gemm_wgmma.h"
#include "fulgur/kernels/cuda/simt.h"
#include "fulgur/kernels/cuda/tensor_map_emulated.h"
#include "fulgur/tests/cuda_gemm_reference.h"
#include "kernels/cuda/hopper_ptx.cuh"

namespace {

namespace ref = fulgur::testing::gemm;
using ref::fresh_rng;
namespace hp = fulgur::ptx::hopper;
using fulgur::cuda::Exec;
using fulgur::cuda::GemmKernel;

// ---- one warpgroup, one 64-deep K slice: D[64 x 128] = A[64 x 64] B[64 x 128] ----

enum class Mode {
  KMajorB,      // B stored N x K (as nn.Linear's weight): one box of 128 rows
  MnMajorB,     // B stored K x N: two boxes of 64 k-rows x 64 n, 8 KiB apart
  ZeroBEarly,   // KMajorB, but B's tile is zeroed after the wgmmas are issued, before the wait
};

constexpr int kM = 64, kN = 128, kK = 64;
constexpr int kABytes = kM * kK * 2, kBBytes = kN * kK * 2;
constexpr size_t kSharedBytes = kABytes + kBBytes + 64 + 1024;

__global__ void one_k_slice(const hp::TensorMap map_a, const hp::TensorMap map_b, float* out, Mode mode) {
  FULGUR_DYNAMIC_SHARED(uint8_t, raw);
  uint8_t* smem = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(raw) + 1023) & ~uintptr_t{1023});
  uint8_t* a = smem;
  uint8_t* b = smem + kABytes;
  auto* bar = reinterpret_cast<uint64_t*>(b + kBBytes);
  const int tid = static_cast<int>(threadIdx.x);
  if (tid == 0) hp::mbarrier_init(bar, 1);
  __syncthreads();
  if (tid == 0) {
    hp::mbarrier_arrive_expect_tx(bar, kABytes + kBBytes);
    hp::tma_load_3d(a, &map_a, bar, 0, 0, 0);
    if (mode == Mode::MnMajorB) {
      hp::tma_load_3d(b, &map_b, bar, 0, 0, 0);
      hp::tma_load_3d(b + 8192, &map_b, bar, 64, 0, 0);
    } else {
      hp::tma_load_3d(b, &map_b, bar, 0, 0, 0);
    }
  }
  hp::mbarrier_wait(bar, 0);
  float acc[kN / 2];
  for (int kk = 0; kk < kK / 16; ++kk) {
    const uint64_t desc_a = hp::sw128_descriptor(a + kk * 32, 16, 1024);
    const uint32_t scale = kk > 0 ? 1u : 0u;
    if (mode == Mode::MnMajorB) {
      hp::wgmma_ss<kN, true, 0, 1>(acc, desc_a, hp::sw128_descriptor(b + kk * 2048, 8192, 1024), scale);
    } else {
      hp::wgmma_ss<kN, true, 0, 0>(acc, desc_a, hp::sw128_descriptor(b + kk * 32, 16, 1024), scale);
    }
  }
  hp::wgmma_commit();
  if (mode == Mode::ZeroBEarly) {
    __syncthreads();
    if (tid == 0) std::memset(b, 0, kBBytes);
    __syncthreads();
  }
  hp::wgmma_wait<0>();
  const int warp = tid / 32, lane = tid % 32, g = lane / 4, q = lane % 4;
  for (int i = 0; i < kN / 8; ++i)
    for (int h = 0; h < 2; ++h)
      for (int e = 0; e < 2; ++e) out[(16 * warp + g + 8 * h) * kN + 8 * i + 2 * q + e] = acc[4 * i + 2 * h + e];
}

// A is rows_a x cols_a of a 64 x 64 box (K-major), B its layout's matrix with k_b valid k:
// TMA fills the rest of the boxes with zeros, and the reference treats them as zeros.
void check_one_k_slice(Mode mode, int rows_a, int k_valid, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<uint16_t> A(static_cast<size_t>(rows_a) * kK), B(static_cast<size_t>(kN) * kK);
  for (auto& v : A) v = ref::to_16(normal(rng), ref::GemmDtype::BFloat16);
  for (auto& v : B) v = ref::to_16(normal(rng), ref::GemmDtype::BFloat16);
  const bool mn_major = mode == Mode::MnMajorB;
  fulgur::cuda::MatrixMapArgs ma;
  ma.base = A.data(), ma.rows = rows_a, ma.cols = k_valid, ma.ld = kK, ma.box_rows = 64, ma.box_cols = 64;
  fulgur::cuda::MatrixMapArgs mb;
  mb.base = B.data();
  mb.rows = mn_major ? k_valid : kN, mb.cols = mn_major ? kN : k_valid, mb.ld = mn_major ? kN : kK;
  mb.box_rows = mn_major ? 64 : kN, mb.box_cols = 64;
  fulgur::simt::TensorMap map_a, map_b;
  std::string why;
  REQUIRE(fulgur::cuda::encode_matrix_map(ma, &map_a, &why));
  REQUIRE(fulgur::cuda::encode_matrix_map(mb, &map_b, &why));
  std::vector<float> out(static_cast<size_t>(kM) * kN, std::nanf(""));
  FULGUR_LAUNCH(one_k_slice, dim3(1), dim3(128), kSharedBytes, nullptr, map_a, map_b, out.data(), mode);
  int failures = 0;
  std::string first_failure;
  for (int i = 0; i < kM; ++i) {
    for (int j = 0; j < kN; ++j) {
      double want = 0, magnitude = 0;
      if (mode != Mode::ZeroBEarly) {
        for (int k = 0; i < rows_a && k < k_valid; ++k) {
          const double bv = ref::from_16(mn_major ? B[static_cast<size_t>(k) * kN + j] : B[static_cast<size_t>(j) * kK + k],
                                         ref::GemmDtype::BFloat16);
          const double p = ref::from_16(A[static_cast<size_t>(i) * kK + k], ref::GemmDtype::BFloat16) * bv;
          want += p;
          magnitude += std::fabs(p);
        }
      }
      const double got = out[static_cast<size_t>(i) * kN + j];
      if (!(std::fabs(got - want) <= 1e-5 * magnitude + 1e-6) && failures++ == 0) {
        std::ostringstream os;
        os << "(" << i << ", " << j << "): " << got << " vs " << want;
        first_failure = os.str();
      }
    }
  }
  INFO("first failure " << first_failure);
  CHECK(failures == 0);
}

// ---- the whole kernel ----

// D through the wgmma kernel itself (gemm() would fall back to mma.sync if it declined).
void run_wgmma(ref::Problem& p) {
  std::string why;
  const bool ran = fulgur::cuda::gemm_wgmma<Exec::Emulated>(fulgur::cuda::with_leading_dimensions(p.args), nullptr, &why);
  INFO(why);
  REQUIRE(ran);
}

}  // namespace

TEST_CASE("emulated wgmma and TMA compute one K slice from either layout of B, with TMA's zero fill") {
  std::mt19937 rng = fresh_rng();
  SUBCASE("B K-major, whole boxes") { check_one_k_slice(Mode::KMajorB, 64, 64, rng); }
  SUBCASE("B MN-major, whole boxes") { check_one_k_slice(Mode::MnMajorB, 64, 64, rng); }
  SUBCASE("rows of A and K past the matrices read as zeros") {
    check_one_k_slice(Mode::KMajorB, 50, 40, rng);
    check_one_k_slice(Mode::MnMajorB, 50, 40, rng);
  }
}

TEST_CASE("emulated wgmma reads its operands when the group is waited for, not when issued") {
  // A kernel that frees or refills an operand's stage before wgmma.wait_group returns has a
  // race on the GPU; the emulator makes it lose every time: here D comes out all zero.
  std::mt19937 rng = fresh_rng();
  check_one_k_slice(Mode::ZeroBEarly, 64, 64, rng);
}

TEST_CASE("emulated wgmma GEMM matches the double reference, with both tile widths, alone and in pairs") {
  std::mt19937 rng = fresh_rng();
  ref::for_each_wgmma_run(ref::wgmma_cases(ref::WgmmaScale::Emulator), rng, [](ref::Problem& p) {
    REQUIRE(fulgur::cuda::gemm_kernel_for<Exec::Emulated>(p.args).kernel == GemmKernel::Wgmma);
    run_wgmma(p);
    ref::check_verdict(p, ref::verify(p, p.d));
  });
}

TEST_CASE("emulated wgmma GEMM through gemm(), with the tiles, clusters and grid left to it") {
  std::mt19937 rng = fresh_rng();
  ref::Case c;
  c.m = 300, c.n = 200, c.k = 136, c.trans_b = true, c.bias = true, c.act = ref::GemmActivation::Gelu;
  ref::Problem p = ref::make_problem(c, rng);
  p.args.kernel = GemmKernel::Wgmma;
  // gemm() would run mma.sync, silently, if the wgmma kernel declined this call: it must not.
  ref::Problem direct = p;
  direct.args.d = direct.d.data();
  run_wgmma(direct);
  ref::check_verdict(direct, ref::verify(direct, direct.d));
  fulgur::cuda::gemm<Exec::Emulated>(p.args);
  ref::check_verdict(p, ref::verify(p, p.d));
}
