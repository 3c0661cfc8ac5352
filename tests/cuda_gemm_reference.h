// The GEMM tests' oracle (kernels/cuda/gemm.h): random problems in host memory and a
// double-precision reference computed from the stored 16-bit inputs, shared by the emulated
// test and the GPU test. Tolerance, per element of D:
//   |got - ref| <= acc_tol(K) * (|alpha| * sum_k |a_ik b_kj| + |bias_j|) + out_tol * |ref| + 1e-6
// acc_tol covers fp32 accumulation in any order (inputs are exact in fp32, so that is the
// only product error): 2e-6 * sqrt(K) + 1e-6, ~1e-5 at K = 24, ~1.3e-4 at K = 4096;
// out_tol is the rounding of the result to the output dtype (2^-8 bf16, 2^-10 fp16, 0 fp32).
// A fragment or layout bug moves an element by about |ref| itself, far outside either term.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fulgur/kernels/cuda/gemm.h"
#include "fulgur/kernels/half.h"

namespace fulgur::testing::gemm {

using cuda::GemmActivation;
using cuda::GemmArgs;
using cuda::GemmDtype;

// A generator seeded at random, its seed printed so that a failure can be replayed.
inline std::mt19937 fresh_rng() {
  const unsigned seed = std::random_device{}();
  MESSAGE("seed " << seed);
  return std::mt19937(seed);
}

struct Case {
  int64_t m = 1, n = 1, k = 1, batch = 1;
  bool trans_a = false, trans_b = false;
  GemmDtype in = GemmDtype::BFloat16, out = GemmDtype::Float32;
  GemmActivation act = GemmActivation::None;
  bool bias = false, residual = false;
  float alpha = 1.0f;
  int64_t pad_a = 0, pad_b = 0, pad_d = 0;  // extra elements per row (leading dimension)
  int64_t offset_a = 0;                     // start A this many elements into its buffer

  std::string name() const {
    std::ostringstream os;
    const char* dt[] = {"bf16", "f16", "f32"};
    const char* ac[] = {"none", "relu", "gelu"};
    os << m << "x" << n << "x" << k << " batch=" << batch << " " << (trans_a ? "T" : "N") << (trans_b ? "T" : "N")
       << " in=" << dt[static_cast<int>(in)] << " out=" << dt[static_cast<int>(out)]
       << " act=" << ac[static_cast<int>(act)] << (bias ? " bias" : "") << (residual ? " residual" : "")
       << " alpha=" << alpha << " pad=" << pad_a << "," << pad_b << "," << pad_d << " offset_a=" << offset_a;
    return os.str();
  }
};

inline size_t out_size(GemmDtype t) { return t == GemmDtype::Float32 ? 4 : 2; }

inline uint16_t to_16(float v, GemmDtype t) {
  return t == GemmDtype::BFloat16 ? BFloat16::from_float(v) : Half::from_float(v);
}
inline double from_16(uint16_t bits, GemmDtype t) {
  return t == GemmDtype::BFloat16 ? BFloat16::to_float(bits) : Half::to_float(bits);
}
inline double read_out(const std::vector<uint8_t>& bytes, GemmDtype t, int64_t i) {
  if (t == GemmDtype::Float32) {
    float f;
    std::memcpy(&f, bytes.data() + 4 * i, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, bytes.data() + 2 * i, 2);
  return from_16(h, t);
}

// One problem in host memory; `args` points into the vectors (repoint for device copies).
struct Problem {
  Case c;
  GemmArgs args;
  std::vector<uint16_t> a, b;
  std::vector<float> bias;
  std::vector<uint8_t> residual, d;  // output dtype; d poisoned with 0xFF (NaN)
};

inline Problem make_problem(const Case& c, std::mt19937& rng) {
  Problem p;
  p.c = c;
  GemmArgs& g = p.args;
  g.m = c.m;
  g.n = c.n;
  g.k = c.k;
  g.batch = c.batch;
  g.input_dtype = c.in;
  g.trans_a = c.trans_a;
  g.trans_b = c.trans_b;
  g.lda = (c.trans_a ? c.m : c.k) + c.pad_a;
  g.ldb = (c.trans_b ? c.k : c.n) + c.pad_b;
  g.ldd = c.n + c.pad_d;
  g.ld_residual = c.n;
  // Batch strides with a little slack so that batches do not sit back to back.
  g.stride_a = (c.trans_a ? c.k : c.m) * g.lda + 8;
  g.stride_b = (c.trans_b ? c.n : c.k) * g.ldb + 8;
  g.stride_d = c.m * g.ldd;
  g.stride_residual = c.m * g.ld_residual;
  g.out_dtype = c.out;
  g.alpha = c.alpha;
  g.activation = c.act;
  // The mma.sync kernel unless a run asks for wgmma (for_each_wgmma_run): Auto would take
  // wgmma on sm_90 and on the emulator, and the mma.sync tests would test it instead.
  g.kernel = cuda::GemmKernel::MmaSync;

  std::normal_distribution<float> normal(0.0f, 1.0f);
  p.a.resize(static_cast<size_t>(c.offset_a + c.batch * g.stride_a + 1));
  p.b.resize(static_cast<size_t>(c.batch * g.stride_b + 1));
  for (auto& v : p.a) v = to_16(normal(rng), c.in);
  for (auto& v : p.b) v = to_16(normal(rng), c.in);
  if (c.bias) {
    p.bias.resize(static_cast<size_t>(c.n));
    for (auto& v : p.bias) v = normal(rng);
  }
  const size_t es = out_size(c.out);
  if (c.residual) {
    p.residual.resize(static_cast<size_t>(c.batch * g.stride_residual) * es);
    for (int64_t i = 0; i < c.batch * g.stride_residual; ++i) {
      const float v = normal(rng);
      if (es == 4) {
        std::memcpy(p.residual.data() + 4 * i, &v, 4);
      } else {
        const uint16_t h = to_16(v, c.out);
        std::memcpy(p.residual.data() + 2 * i, &h, 2);
      }
    }
  }
  p.d.assign(static_cast<size_t>(c.batch * g.stride_d) * es + es, 0xFF);
  g.a = p.a.data() + c.offset_a;
  g.b = p.b.data();
  g.bias = c.bias ? p.bias.data() : nullptr;
  g.residual = c.residual ? p.residual.data() : nullptr;
  g.d = p.d.data();
  return p;
}

inline double activation(double v, GemmActivation act) {
  if (act == GemmActivation::Relu) return v > 0 ? v : 0;
  if (act == GemmActivation::Gelu) return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
  return v;
}

struct Verdict {
  int64_t checked = 0, failures = 0, poisoned_padding_changed = 0;
  double worst_ratio = 0;  // max |got - ref| / allowed
  std::string first_failure;
};

// Compares `d` (the output bytes, laid out as p.d) against the reference. By default the
// product is computed here in double; `product` and `magnitude` (packed M x N per batch,
// without alpha) substitute another oracle's op(A) @ op(B) and sum_k |a_ik b_kj| (cuBLAS on
// the GPU for large shapes). `every` > 1 checks every every-th element only.
inline Verdict verify(const Problem& p, const std::vector<uint8_t>& d, const std::vector<float>* product = nullptr,
                      const std::vector<float>* magnitude = nullptr, int64_t every = 1) {
  const Case& c = p.c;
  const GemmArgs& g = p.args;
  const double acc_tol = 2e-6 * std::sqrt(static_cast<double>(c.k)) + 1e-6;
  const double out_tol = c.out == GemmDtype::BFloat16 ? 1.0 / 256 : c.out == GemmDtype::Float16 ? 1.0 / 1024 : 0.0;
  const uint16_t* a = p.a.data() + c.offset_a;
  const size_t es = out_size(c.out);
  Verdict v;
  int64_t index = 0;
  for (int64_t bt = 0; bt < c.batch; ++bt) {
    for (int64_t i = 0; i < c.m; ++i) {
      for (int64_t j = 0; j < c.n; ++j, ++index) {
        if (index % every != 0) continue;
        double dot = 0, mag = 0;
        if (product != nullptr) {
          dot = (*product)[static_cast<size_t>(index)];
          mag = (*magnitude)[static_cast<size_t>(index)];
        } else {
          for (int64_t kk = 0; kk < c.k; ++kk) {
            const int64_t ai = bt * g.stride_a + (c.trans_a ? kk * g.lda + i : i * g.lda + kk);
            const int64_t bi = bt * g.stride_b + (c.trans_b ? j * g.ldb + kk : kk * g.ldb + j);
            const double prod = from_16(a[ai], c.in) * from_16(p.b[static_cast<size_t>(bi)], c.in);
            dot += prod;
            mag += std::fabs(prod);
          }
        }
        double ref = c.alpha * dot;
        mag = std::fabs(c.alpha) * mag;
        if (c.bias) {
          ref += p.bias[static_cast<size_t>(j)];
          mag += std::fabs(p.bias[static_cast<size_t>(j)]);
        }
        ref = activation(ref, c.act);
        if (c.residual) ref += read_out(p.residual, c.out, bt * g.stride_residual + i * g.ld_residual + j);
        const double got = read_out(d, c.out, bt * g.stride_d + i * g.ldd + j);
        // An oracle that itself accumulates in fp32 doubles the accumulation term.
        const double allowed = acc_tol * (product != nullptr ? 2.4 : 1.2) * mag + out_tol * std::fabs(ref) + 1e-6;
        const double err = std::fabs(got - ref);
        ++v.checked;
        const double ratio = std::isnan(got) ? 1e30 : err / allowed;
        if (ratio > v.worst_ratio) v.worst_ratio = ratio;
        if (!(err <= allowed)) {
          if (v.failures == 0) {
            std::ostringstream os;
            os << "batch " << bt << " D[" << i << "][" << j << "] = " << got << ", reference " << ref << ", allowed error "
               << allowed;
            v.first_failure = os.str();
          }
          ++v.failures;
        }
      }
      // Padding columns of D must keep their poison: the kernel stores inside [0, n) only.
      for (int64_t j = c.n; j < g.ldd; ++j) {
        const size_t at = static_cast<size_t>(bt * g.stride_d + i * g.ldd + j) * es;
        for (size_t byte = 0; byte < es; ++byte) v.poisoned_padding_changed += d[at + byte] != 0xFF;
      }
    }
  }
  return v;
}

inline void check_verdict(const Problem& p, const Verdict& v, const char* oracle = "double reference") {
  INFO("case: " << p.c.name() << " vs " << oracle << " (" << v.checked << " elements)");
  INFO("first failure: " << v.first_failure);
  INFO("worst error / allowed: " << v.worst_ratio);
  CHECK(v.failures == 0);
  CHECK(v.poisoned_padding_changed == 0);
  CHECK(v.checked > 0);
}

// Shapes for the wgmma kernel (gemm_wgmma.cuh): every transpose and dtype, partial tiles in M,
// N and K (TMA zero-fills past the edges; N = 264 leaves whole boxes of B outside the matrix),
// more K-slices than ring stages, more tile rows than one L2 group with a remainder, batches,
// the whole epilogue, one row, one column, padded rows. The tests run each with both tile
// widths (GemmTiles::Small = 128 x 128, Large = 128 x 256), alone and in clusters of two blocks
// sharing B by multicast (GemmCluster::Off / Pairs; an odd number of tile rows gives the last
// block a partner past M). Leading dimensions stay multiples of 8, so that the kernel takes
// every case. Emulator: the same features at sizes the CPU runs in seconds (the GPU's large
// cases shrink along the dimensions that do not carry the feature).
enum class WgmmaScale { Gpu, Emulator };

inline std::vector<Case> wgmma_cases(WgmmaScale scale) {
  const bool gpu = scale == WgmmaScale::Gpu;
  std::vector<Case> cases;
  for (int t = 0; t < 4; ++t) {
    for (GemmDtype in : {GemmDtype::BFloat16, GemmDtype::Float16}) {
      Case c;
      c.trans_a = (t & 1) != 0, c.trans_b = (t & 2) != 0, c.in = in;
      c.m = 136, c.n = 264, c.k = 200;  // a partial tile in every dimension, K not a multiple of 64
      if (!gpu && in == GemmDtype::Float16) c.k = 40;
      cases.push_back(c);
    }
    Case c;
    c.trans_a = (t & 1) != 0, c.trans_b = (t & 2) != 0;
    c.m = 2104, c.n = 2200, c.k = 1000;  // 17 tile rows (a partial L2 group), 16 K-slices
    // Emulator: 8 K-slices (more than either ring's stages), 7 (a block's next tile starts
    // mid-ring; 8 tile rows, enough for a persistent walk), or 1.
    if (!gpu) {
      c.n = 8;
      c.k = t == 0 ? 456 : t == 1 ? 392 : 64;
      if (t == 1) c.m = 1024;
    }
    cases.push_back(c);
  }
  Case c;
  c.m = 1, c.n = 512, c.k = 64;  // one row (A's box mostly outside the matrix)
  cases.push_back(c);
  c = Case{};
  c.m = 300, c.n = 1, c.k = 128, c.trans_b = true;  // one column: B is 1 x K
  cases.push_back(c);
  c = Case{};
  c.m = 8, c.n = 8, c.k = 8, c.trans_a = true, c.trans_b = true;  // smaller than every box
  cases.push_back(c);
  c = Case{};
  c.m = c.n = c.k = gpu ? 1024 : 136;
  c.trans_b = true, c.bias = true, c.act = GemmActivation::Gelu;
  c.out = GemmDtype::BFloat16, c.residual = true, c.alpha = 0.5f;
  cases.push_back(c);  // the fused MLP epilogue
  c = Case{};
  c.m = c.n = 256, c.k = 64, c.out = GemmDtype::BFloat16;  // tiles inside D: the paired epilogue
  cases.push_back(c);
  c.bias = true, c.out = GemmDtype::Float16;  // inside D with a bias: element by element
  cases.push_back(c);
  c = Case{};
  c.m = c.n = 128, c.k = 64, c.out = GemmDtype::Float16, c.pad_d = 1;  // inside, but pairs misaligned
  cases.push_back(c);
  c = Case{};
  c.m = 200, c.n = 136, c.k = 96, c.act = GemmActivation::Relu, c.out = GemmDtype::Float16;
  c.in = GemmDtype::Float16, c.pad_a = 8, c.pad_b = 16, c.pad_d = 3;  // padded rows
  cases.push_back(c);
  c = Case{};
  // Batched (keep it last: the tests rerun it with B, then A, broadcast); on the emulator still
  // more units than its 3 persistent clusters, so that blocks walk tiles across batches.
  c.m = gpu ? 520 : 264, c.n = gpu ? 392 : 136, c.k = gpu ? 264 : 136, c.batch = gpu ? 6 : 3;
  c.trans_a = true;
  cases.push_back(c);
  return cases;
}

// Every case of `cases` in four variants of the wgmma kernel, in which each tile width
// (128 x 128, 128 x 256), blocks alone and in pairs, and each grid (a block per tile, a
// persistent grid walking the tiles) meet each of the others' values; and the last (batched)
// case twice more, with B, then A, broadcast (batch stride 0): run(p) runs and checks one,
// with the variant in INFO.
template <typename Run>
void for_each_wgmma_run(const std::vector<Case>& cases, std::mt19937& rng, Run run) {
  using cuda::GemmCluster;
  using cuda::GemmGrid;
  using cuda::GemmTiles;
  for (int variant = 0; variant < 4; ++variant) {
    const GemmTiles tiles = variant % 2 == 0 ? GemmTiles::Small : GemmTiles::Large;
    const GemmCluster cluster = variant < 2 ? GemmCluster::Off : GemmCluster::Pairs;
    const GemmGrid grid = variant == 0 || variant == 3 ? GemmGrid::Persistent : GemmGrid::PerTile;
    for (size_t i = 0; i < cases.size() + 2; ++i) {
      const int broadcast = i < cases.size() ? 0 : static_cast<int>(i - cases.size()) + 1;  // 1: B, 2: A
      Problem p = make_problem(broadcast != 0 ? cases.back() : cases[i], rng);
      if (broadcast == 1) p.args.stride_b = 0;
      if (broadcast == 2) p.args.stride_a = 0;
      p.args.kernel = cuda::GemmKernel::Wgmma;
      p.args.tiles = tiles;
      p.args.cluster = cluster;
      p.args.grid = grid;
      INFO("case " << p.c.name() << (broadcast == 1 ? " (B broadcast)" : broadcast == 2 ? " (A broadcast)" : "")
                   << ", tiles " << (tiles == GemmTiles::Small ? "128x128" : "128x256")
                   << (cluster == GemmCluster::Pairs ? ", pairs" : ", alone")
                   << (grid == GemmGrid::Persistent ? ", persistent" : ", a block per tile"));
      run(p);
    }
  }
}

// The cases both tests run: every transpose combination, dtype, epilogue and edge shape,
// kept small for the emulator (a 128 x 128 block of 256 threads per launch).
inline std::vector<Case> standard_cases() {
  std::vector<Case> cases;
  const GemmDtype ins[] = {GemmDtype::BFloat16, GemmDtype::Float16};
  for (int t = 0; t < 4; ++t) {
    const bool ta = (t & 1) != 0, tb = (t & 2) != 0;
    for (GemmDtype in : ins) {
      Case c;
      c.trans_a = ta;
      c.trans_b = tb;
      c.in = in;
      c.m = 17, c.n = 33, c.k = 24;  // every edge of one tile, one K step
      cases.push_back(c);
      c.m = 130, c.n = 70, c.k = 40;  // two tiles in M, partial K tile
      cases.push_back(c);
    }
    Case c;
    c.trans_a = ta;
    c.trans_b = tb;
    c.m = c.n = c.k = 1;
    cases.push_back(c);
    c.m = 9, c.n = 13, c.k = 37;  // K % 8 != 0, packed: element-wise loads
    cases.push_back(c);
    // K % 8 != 0 with 16-byte rows: cp.async with partial chunks
    c.pad_a = (8 - (ta ? c.m : c.k) % 8) % 8;
    c.pad_b = (8 - (tb ? c.k : c.n) % 8) % 8;
    cases.push_back(c);
  }
  // Epilogues: every activation x output dtype, with and without bias / residual.
  const GemmDtype outs[] = {GemmDtype::Float32, GemmDtype::BFloat16, GemmDtype::Float16};
  const GemmActivation acts[] = {GemmActivation::None, GemmActivation::Relu, GemmActivation::Gelu};
  int i = 0;
  for (GemmDtype out : outs) {
    for (GemmActivation act : acts) {
      Case c;
      c.m = 20, c.n = 24, c.k = 16;
      c.out = out;
      c.act = act;
      c.bias = (i % 2) == 0;
      c.residual = (i % 3) != 2;
      c.alpha = i % 2 ? 0.5f : 1.0f;
      c.in = i % 2 ? GemmDtype::Float16 : GemmDtype::BFloat16;
      c.trans_b = (i % 4) >= 2;
      cases.push_back(c);
      ++i;
    }
  }
  Case c;
  c.m = 1, c.n = 70, c.k = 40;  // M = 1
  cases.push_back(c);
  c.m = 70, c.n = 1, c.k = 40, c.trans_a = true;  // N = 1
  cases.push_back(c);
  c = Case{};
  c.m = 5, c.n = 7, c.k = 0, c.bias = true, c.act = GemmActivation::Gelu, c.residual = true;  // K = 0
  cases.push_back(c);
  c = Case{};
  c.m = 20, c.n = 20, c.k = 100;  // several K steps
  c.trans_a = true;
  cases.push_back(c);
  c = Case{};
  c.m = 24, c.n = 40, c.k = 300;  // more K steps than pipeline stages: the ring wraps around
  c.trans_b = true;
  c.in = GemmDtype::Float16;
  cases.push_back(c);
  c = Case{};
  c.m = 128, c.n = 128, c.k = 64;  // exactly one tile, all fast paths
  c.out = GemmDtype::BFloat16;
  c.bias = true;
  c.act = GemmActivation::Relu;
  cases.push_back(c);
  c = Case{};
  c.m = 33, c.n = 20, c.k = 48, c.batch = 3;  // batched, strided
  c.trans_b = true;
  c.residual = true;
  c.out = GemmDtype::Float16;
  c.in = GemmDtype::Float16;
  cases.push_back(c);
  c = Case{};
  c.m = 24, c.n = 40, c.k = 32, c.offset_a = 1, c.pad_d = 5;  // misaligned A, padded D
  cases.push_back(c);
  return cases;
}

}  // namespace fulgur::testing::gemm
