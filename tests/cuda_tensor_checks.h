// The checks of CUDA tensors against the CPU backend, shared by the emulated test
// (tests/cuda_tensor_emulated_test.cc: Device::cuda(0) is the emulated device) and the GPU
// test (tests/gpu/cuda_tensor_gpu_test.cc: a real device). Every check builds its inputs on
// the CPU (test_util.h's random values, written to memory directly), runs the same public op
// on the CPU tensors and on their copies on cuda:0 (the same views: broadcast, transposed,
// step-2 slices, empty, 0-dim), and compares the device result, brought back with .to(cpu),
// with the CPU's: the CPU backend (kernels/cpu) is the reference.
//
// Exact (bit for bit; NaN compared as NaN, since a GPU's NaN payloads are canonical) wherever
// both sides compute the same formula in the same precision: copies and conversions, fill,
// integer and bool ops, + - * / sqrt reciprocal (IEEE-rounded on both; the device code is built
// without FMA contraction), comparisons, min/max/where/clamp, max/min/all/any reductions with
// their indices, integer sums and products, arange/linspace. With a stated tolerance where
// they do not:
//  * float transcendentals (exp, log, tanh, pow, erf, ...): the CPU uses Eigen's vectorised
//    versions for float/double, a GPU its own libdevice; both within a few ulps. Under the
//    emulator the device code calls glibc, which is what the CPU calls for fp16/bf16 (and for
//    sigmoid, gelu, silu, erf, pow at every width), so those are exact there;
//  * float sums and products: the CPU adds in a vectorised order, the device in a fixed tree.
// The tolerance is test_util.h's tolerance(dtype): |a - e| <= tol * (1 + |e|).
#pragma once

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fulgur/tests/test_util.h"

namespace fulgur::cuda_checks {

using namespace fulgur::testing;

inline const Device kDev = Device::cuda(0);

// A CPU tensor and its copy on cuda:0 seen through the same view.
struct Pair {
  Tensor cpu, dev;
};

// Random values of `dtype` in `shape` with `layout` (test_util.h's layouts), on both devices.
inline Pair random_pair(IntArrayRef shape, DType dtype, std::mt19937& rng, Layout layout = Layout::Contiguous,
                        double lo = -2.0, double hi = 2.0) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  Shape base_shape = shape.vec();
  std::function<Tensor(const Tensor&)> view = [](const Tensor& t) { return t; };
  if (layout == Layout::Transposed && nd >= 2) {
    base_shape.assign(shape.begin(), shape.end());
    std::reverse(base_shape.begin(), base_shape.end());
    std::vector<int64_t> perm(static_cast<size_t>(nd));
    for (int64_t i = 0; i < nd; ++i) perm[static_cast<size_t>(i)] = nd - 1 - i;
    view = [perm](const Tensor& t) { return t.permute(perm); };
  } else if (layout == Layout::Strided && nd >= 1) {
    base_shape.back() *= 2;
    view = [nd](const Tensor& t) { return t.slice(nd - 1, 0, std::nullopt, 2); };
  }
  Tensor base = empty(base_shape, {.dtype = dtype});
  for_each_index(base_shape, [&](const std::vector<int64_t>& i) { set(base, i, random_value(dtype, rng, lo, hi)); });
  return {view(base), view(base.to(kDev))};
}

// A contiguous CPU tensor from values (with NaN, inf, ...) and its device copy.
inline Pair pair_of(const std::vector<double>& v, DType dtype, IntArrayRef shape) {
  Tensor t = empty(shape, {.dtype = dtype});
  size_t k = 0;
  for_each_index(shape, [&](const std::vector<int64_t>& i) { set(t, i, v[k++]); });
  return {t, t.to(kDev)};
}

// Compares a device result with the CPU's: dtype, shape and device, then every element,
// exactly (tol == 0: the same bytes, or NaN on both sides) or within tol * (1 + |e|).
inline void expect_matches(const Tensor& cpu, const Tensor& dev, double tol, const std::string& what) {
  INFO(what);
  REQUIRE(dev.device() == kDev);
  REQUIRE(dev.dtype() == cpu.dtype());
  REQUIRE(dev.sizes() == cpu.sizes());
  const Tensor host = dev.to(kCPU);
  const bool floating = is_floating(cpu.dtype());
  int64_t mismatches = 0;
  for_each_index(cpu.sizes(), [&](const std::vector<int64_t>& i) {
    const double e = get(cpu, i), a = get(host, i);
    bool ok;
    if (floating && std::isnan(e)) {
      ok = std::isnan(a);
    } else if (tol == 0.0) {
      ok = std::memcmp(element_address(cpu, i), element_address(host, i), cpu.element_size()) == 0;
    } else {
      ok = std::isinf(e) ? a == e : std::abs(a - e) <= tol * (1.0 + std::abs(e));
    }
    if (!ok && ++mismatches <= 3) FAIL_CHECK("element " << shape_str(i) << ": cpu " << e << ", cuda " << a);
  });
  CHECK_MESSAGE(mismatches == 0, mismatches, " mismatching elements");
}

// Runs op on both sides; if the CPU throws fulgur::Error, the device must throw too.
inline void compare(const std::function<Tensor(const std::vector<Tensor>&)>& op, const std::vector<Pair>& inputs,
                    double tol, const std::string& what) {
  std::vector<Tensor> c, d;
  for (const Pair& p : inputs) {
    c.push_back(p.cpu);
    d.push_back(p.dev);
  }
  Tensor expected;
  try {
    expected = op(c);
  } catch (const Error&) {
    CHECK_THROWS_AS_MESSAGE(op(d), Error, what << ": the CPU rejects it, cuda must too");
    return;
  }
  expect_matches(expected, op(d), tol, what);
}

inline std::string label(const std::string& op, DType dt, const std::string& more = "") {
  return op + " " + std::string(dtype_name(dt)) + (more.empty() ? "" : " " + more);
}

// ---- the checks -------------------------------------------------------------------------

// to(cuda) and back gives the same bytes, for every dtype and special values, any shape.
inline void check_round_trip() {
  const std::vector<double> special = {0.0, -0.0, 1.5, -2.25, kInf, -kInf, kNaN, 65504.0, 1e-7, 3.0};
  for (DType dt : all_dtypes()) {
    for (const Shape& shape : {Shape{}, Shape{0}, Shape{10}, Shape{2, 5}}) {
      std::vector<double> v(static_cast<size_t>(numel_of(shape)));
      for (size_t i = 0; i < v.size(); ++i) v[i] = is_floating(dt) ? special[i % special.size()] : double(i % 7) - (dt == kUInt8 || dt == kBool ? 0 : 3);
      Pair p = pair_of(v, dt, shape);
      expect_matches(p.cpu, p.dev, 0.0, label("round trip", dt, shape_str(shape)));
      // A non-contiguous device tensor comes back through a device-side copy first.
      if (shape.size() == 2) expect_matches(p.cpu.t(), p.dev.t(), 0.0, label("round trip of a transpose", dt));
    }
  }
}

// fulgur::save of device tensors records "cuda:0" as their location; load with a MapLocation
// puts them back on the device, views of one storage still sharing it.
inline void check_save_load_on_device() {
  const Tensor base = arange(0, 12, 1, {.dtype = kFloat32}).to(kDev);
  const Value saved = Value::dict({{"whole", base}, {"tail", base.slice(0, 4, 12).view({2, 4})}});
  const std::string file = serialize::save_to_string(saved);
  const auto bytes = serialize::memory_source("device.pt", std::vector<uint8_t>(file.begin(), file.end()));
  std::vector<std::string> locations;
  const Value loaded = serialize::load_from(bytes, [&](const std::string& location) {
    locations.push_back(location);
    return kDev;
  });
  CHECK(locations == std::vector<std::string>{"cuda:0"});  // one storage, asked about once
  const Tensor whole = loaded.at("whole").as_tensor(), tail = loaded.at("tail").as_tensor();
  CHECK(whole.device() == kDev);
  CHECK(tail.device() == kDev);
  CHECK(whole.storage() == tail.storage());
  CHECK(whole.to(kCPU).to_vector<float>() == base.to(kCPU).to_vector<float>());
  CHECK(tail.to(kCPU).to_vector<float>() == std::vector<float>{4, 5, 6, 7, 8, 9, 10, 11});
  // Without a MapLocation everything is on the CPU.
  CHECK(serialize::load_from(bytes).at("whole").as_tensor().device() == kCPU);
}

// Conversions between every dtype pair, from transposed and strided views and into a
// transposed destination; float sources include NaN, inf and out-of-range values (to integer
// types: the CPU's rules).
inline void check_copy(std::mt19937& rng) {
  const std::vector<double> edgy = {kNaN, kInf, -kInf, 300.7, -1.5, 1e10, -0.0, 2.5, 127.9, -129.2, 65536.5, 0.49};
  for (DType from : all_dtypes()) {
    for (DType to : all_dtypes()) {
      const Layout layout = (static_cast<int>(from) + static_cast<int>(to)) % 2 ? Layout::Transposed : Layout::Strided;
      Pair src = random_pair({3, 4}, from, rng, layout, -40.0, 40.0);
      compare([&](const std::vector<Tensor>& x) { return x[0].to(to); }, {src}, 0.0, label("copy to " + std::string(dtype_name(to)), from));
      if (is_floating(from)) {
        Pair e = pair_of(edgy, from, {3, 4});
        compare([&](const std::vector<Tensor>& x) { return x[0].to(to); }, {e}, 0.0,
                label("copy of special values to " + std::string(dtype_name(to)), from));
      }
    }
  }
  // copy_ into a transposed view of a device tensor, from a broadcast source.
  Pair row = random_pair({1, 4}, kFloat32, rng);
  Tensor c = zeros({4, 3}).t(), d = zeros({4, 3}, {.device = kDev}).t();
  c.copy_(row.cpu);
  d.copy_(row.dev);
  expect_matches(c, d, 0.0, "copy_ of a broadcast row into a transposed view");
  // Same-dtype contiguous copies (the 16-byte vector path when aligned, its byte tail) of
  // 1..37 elements, and from a view starting one element in (misaligned: the element loop).
  for (DType dt : {kBool, kInt16, kFloat32, kFloat64, kBFloat16}) {
    for (int64_t n = 1; n <= 37; n += 4) {
      Pair v = random_pair({n + 1}, dt, rng);
      compare([](const std::vector<Tensor>& x) { return x[0].clone(); }, {v}, 0.0, label("clone", dt, std::to_string(n + 1)));
      compare([n](const std::vector<Tensor>& x) { return x[0].slice(0, 1, n + 1).clone(); }, {v}, 0.0,
              label("clone of a misaligned view", dt, std::to_string(n)));
    }
  }
  // Empty and 0-dim copies.
  Pair empty_pair = random_pair({0, 3}, kFloat32, rng);
  compare([](const std::vector<Tensor>& x) { return x[0].to(kInt32); }, {empty_pair}, 0.0, "copy of an empty tensor");
  Pair scalar = random_pair({}, kFloat64, rng);
  compare([](const std::vector<Tensor>& x) { return x[0].to(kBFloat16); }, {scalar}, 0.0, "copy of a 0-dim tensor");
}

// fill_ of every dtype with int, float and bool values, on a strided view (the rest of the
// buffer must keep its values).
inline void check_fill(std::mt19937& rng) {
  for (DType dt : all_dtypes()) {
    for (const Scalar& value : {Scalar(3), Scalar(-2.75), Scalar(true), Scalar(1e6)}) {
      Pair base = random_pair({4, 6}, dt, rng);
      Tensor c = base.cpu.clone(), d = base.dev.clone();
      c.slice(1, 1, std::nullopt, 2).fill_(value);
      d.slice(1, 1, std::nullopt, 2).fill_(value);
      std::ostringstream v;
      v << value;
      expect_matches(c, d, 0.0, label("fill_ of a strided view", dt, v.str()));
    }
    Tensor c = full({2, 3}, 7, {.dtype = dt}), d = full({2, 3}, 7, {.dtype = dt, .device = kDev});
    expect_matches(c, d, 0.0, label("full", dt));
  }
}

// Whether a unary op on dtype dt gives the CPU's bits (see the header comment).
inline bool unary_exact(const std::string& op, DType dt, bool emulated) {
  static const std::set<std::string> ieee = {"neg", "abs", "relu", "square", "reciprocal", "sqrt", "logical_not"};
  if (!is_floating(dt) || ieee.count(op)) return true;
  if (!emulated) return false;
  static const std::set<std::string> scalar_on_cpu = {"sigmoid", "gelu", "gelu_tanh", "silu", "erf"};
  if (scalar_on_cpu.count(op)) return true;
  const bool half = dt == kFloat16 || dt == kBFloat16;
  if (op == "exp") return half || dt == kFloat64;
  return half;  // log, log1p, sin, cos, tanh, rsqrt: Eigen on float/double
}

// Every unary op on every dtype, transposed and strided inputs, an empty and a 0-dim one,
// and special values (NaN, +-inf, -0, negative for log/sqrt).
inline void check_unary(std::mt19937& rng, bool emulated) {
  using Fn = std::function<Tensor(const Tensor&)>;
  const std::vector<std::pair<std::string, Fn>> ops = {
      {"neg", [](const Tensor& x) { return x.neg(); }},
      {"abs", [](const Tensor& x) { return x.abs(); }},
      {"exp", [](const Tensor& x) { return x.exp(); }},
      {"log", [](const Tensor& x) { return x.log(); }},
      {"log1p", [](const Tensor& x) { return x.log1p(); }},
      {"sqrt", [](const Tensor& x) { return x.sqrt(); }},
      {"rsqrt", [](const Tensor& x) { return x.rsqrt(); }},
      {"sin", [](const Tensor& x) { return x.sin(); }},
      {"cos", [](const Tensor& x) { return x.cos(); }},
      {"tanh", [](const Tensor& x) { return x.tanh(); }},
      {"sigmoid", [](const Tensor& x) { return x.sigmoid(); }},
      {"relu", [](const Tensor& x) { return x.relu(); }},
      {"gelu", [](const Tensor& x) { return x.gelu(false); }},
      {"gelu_tanh", [](const Tensor& x) { return x.gelu(true); }},
      {"silu", [](const Tensor& x) { return x.silu(); }},
      {"logical_not", [](const Tensor& x) { return x.logical_not(); }},
      {"reciprocal", [](const Tensor& x) { return x.reciprocal(); }},
      {"square", [](const Tensor& x) { return x.square(); }},
      {"erf", [](const Tensor& x) { return x.erf(); }},
  };
  const std::vector<double> special = {kNaN, kInf, -kInf, -0.0, 0.0, -1.0, 1e-3, 20.0, -20.0, 0.5};
  for (const auto& [name, fn] : ops) {
    for (DType dt : all_dtypes()) {
      // Integer inputs of the floating ops compute in float32 (tensor/ promotes them first).
      static const std::set<std::string> keep_dtype = {"neg", "abs", "relu", "square", "logical_not"};
      const DType computed = is_floating(dt) || keep_dtype.count(name) ? dt : kFloat32;
      const double tol = unary_exact(name, computed, emulated) ? 0.0 : tolerance(computed);
      auto run = [&](const std::vector<Tensor>& x) { return fn(x[0]); };
      compare(run, {random_pair({3, 5}, dt, rng, Layout::Transposed, 0.1, 3.0)}, tol, label(name, dt, "transposed"));
      compare(run, {random_pair({2, 3, 4}, dt, rng, Layout::Strided)}, tol, label(name, dt, "strided"));
      compare(run, {random_pair({0, 2}, dt, rng)}, tol, label(name, dt, "empty"));
      compare(run, {random_pair({}, dt, rng)}, tol, label(name, dt, "0-dim"));
      if (is_floating(dt)) compare(run, {pair_of(special, dt, {10})}, tol, label(name, dt, "special values"));
    }
  }
}

// Every binary op on every dtype with broadcasting (stride-0 operands) and transposed
// inputs, numbers as operands, 0-dim CPU tensors joining a CUDA op, NaN rules of
// minimum/maximum, integer pow with negative exponents.
inline void check_binary(std::mt19937& rng, bool emulated) {
  using Fn = std::function<Tensor(const Tensor&, const Tensor&)>;
  const std::vector<std::pair<std::string, Fn>> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return a.add(b); }},
      {"sub", [](const Tensor& a, const Tensor& b) { return a.sub(b); }},
      {"mul", [](const Tensor& a, const Tensor& b) { return a.mul(b); }},
      {"div", [](const Tensor& a, const Tensor& b) { return a.div(b); }},
      {"pow", [](const Tensor& a, const Tensor& b) { return a.pow(b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return a.minimum(b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return a.maximum(b); }},
      {"eq", [](const Tensor& a, const Tensor& b) { return a.eq(b); }},
      {"ne", [](const Tensor& a, const Tensor& b) { return a.ne(b); }},
      {"lt", [](const Tensor& a, const Tensor& b) { return a.lt(b); }},
      {"le", [](const Tensor& a, const Tensor& b) { return a.le(b); }},
      {"gt", [](const Tensor& a, const Tensor& b) { return a.gt(b); }},
      {"ge", [](const Tensor& a, const Tensor& b) { return a.ge(b); }},
      {"logical_and", [](const Tensor& a, const Tensor& b) { return a.logical_and(b); }},
      {"logical_or", [](const Tensor& a, const Tensor& b) { return a.logical_or(b); }},
      {"logical_xor", [](const Tensor& a, const Tensor& b) { return a.logical_xor(b); }},
  };
  const std::vector<double> nan_a = {kNaN, 1.0, kNaN, -kInf, 2.0, -0.0};
  const std::vector<double> nan_b = {1.0, kNaN, kNaN, 3.0, kInf, 0.0};
  for (const auto& [name, fn] : ops) {
    // pow's exponents stay in [-1, 3] so that integer powers do not overflow.
    const bool is_pow = name == "pow";
    for (DType dt : all_dtypes()) {
      const double tol = is_pow && is_floating(dt) && !emulated ? tolerance(dt) : 0.0;
      auto run = [&](const std::vector<Tensor>& x) { return fn(x[0], x[1]); };
      const double lo = is_pow ? -1.0 : -2.0, hi = is_pow ? 3.0 : 2.0;
      Pair a = random_pair({2, 1, 4}, dt, rng, Layout::Contiguous, 0.5, 2.0);
      Pair b = random_pair({3, 4}, dt, rng, Layout::Transposed, lo, hi);
      compare(run, {a, b}, tol, label(name, dt, "broadcast [2,1,4] x [3,4]^T"));
      compare(run, {random_pair({5}, dt, rng, Layout::Strided), random_pair({5}, dt, rng, Layout::Contiguous, lo, hi)},
              tol, label(name, dt, "strided"));
      compare(run, {random_pair({0, 3}, dt, rng), random_pair({3}, dt, rng)}, tol, label(name, dt, "empty"));
      compare(run, {random_pair({}, dt, rng), random_pair({}, dt, rng, Layout::Contiguous, lo, hi)}, tol,
              label(name, dt, "0-dim"));
      if (is_floating(dt)) {
        compare(run, {pair_of(nan_a, dt, {6}), pair_of(nan_b, dt, {6})}, tol, label(name, dt, "NaN and inf"));
      }
      // A number operand, and a 0-dim CPU tensor joining a CUDA tensor (allowed, as in PyTorch).
      Pair x = random_pair({2, 3}, dt, rng, Layout::Transposed, 0.5, 2.0);
      Tensor two = full({}, 2, {.dtype = dt});
      Tensor expected;
      bool cpu_threw = false;
      try {
        expected = fn(x.cpu, two);
      } catch (const Error&) {
        cpu_threw = true;
      }
      if (cpu_threw) {
        CHECK_THROWS_AS(fn(x.dev, two), Error);
      } else {
        expect_matches(expected, fn(x.dev, two), tol, label(name, dt, "with a 0-dim cpu tensor"));
      }
    }
  }
  // Integer pow with negative exponents (1/base^|e| truncated toward zero).
  Pair base = pair_of({-3, -2, -1, 0, 1, 2, 3, -1}, kInt64, {8});
  Pair expo = pair_of({-1, -2, -3, 2, -5, 3, 0, 4}, kInt64, {8});
  compare([](const std::vector<Tensor>& x) { return x[0].pow(x[1]); }, {base, expo}, 0.0, "int64 pow, negative exponents");
  // Integer wrap-around.
  Pair big = pair_of({120, -128, 100, 127}, kInt8, {4});
  compare([](const std::vector<Tensor>& x) { return x[0].add(x[0]); }, {big}, 0.0, "int8 add wraps");
  compare([](const std::vector<Tensor>& x) { return x[0].mul(3); }, {big}, 0.0, "int8 mul by a number wraps");
}

// where (broadcast condition, every dtype), clamp (numbers, tensor bounds, NaN).
inline void check_where_clamp(std::mt19937& rng) {
  for (DType dt : all_dtypes()) {
    Pair cond = random_pair({3, 1}, kBool, rng);
    Pair a = random_pair({3, 4}, dt, rng, Layout::Transposed);
    Pair b = random_pair({4}, dt, rng, Layout::Strided);
    compare([](const std::vector<Tensor>& x) { return where(x[0], x[1], x[2]); }, {cond, a, b}, 0.0, label("where", dt));
    compare([](const std::vector<Tensor>& x) { return where(x[0], x[1], x[2]); },
            {random_pair({0, 2}, kBool, rng), random_pair({0, 2}, dt, rng), random_pair({2}, dt, rng)}, 0.0,
            label("where", dt, "empty"));
    if (dt != kBool) {
      compare([](const std::vector<Tensor>& x) { return x[0].clamp(Scalar(-1), Scalar(1)); }, {a}, 0.0, label("clamp", dt));
      Pair lo = random_pair({4}, dt, rng, Layout::Contiguous, -2.0, 0.0);
      Pair hi = random_pair({3, 1}, dt, rng, Layout::Contiguous, 0.0, 2.0);
      compare([](const std::vector<Tensor>& x) { return x[0].clamp(x[1], x[2]); }, {a, lo, hi}, 0.0,
              label("clamp", dt, "tensor bounds"));
    }
    if (is_floating(dt)) {
      Pair s = pair_of({kNaN, -3.0, 0.5, 3.0, kInf, -kInf}, dt, {6});
      Pair lo = pair_of({0.0, kNaN, -1.0, -1.0, -1.0, -1.0}, dt, {6});
      Pair hi = pair_of({1.0, 1.0, kNaN, 1.0, 1.0, 1.0}, dt, {6});
      compare([](const std::vector<Tensor>& x) { return x[0].clamp(x[1], x[2]); }, {s, lo, hi}, 0.0,
              label("clamp", dt, "NaN rules"));
    }
  }
}

// Every reduction on every dtype over different dims of transposed / strided inputs,
// keepdim, empty reductions, max/min indices with ties and NaN.
// Few outputs of many positions: the device splits each output's positions into chunks that
// separate blocks fold, then combines the chunks' partials (kernels/cuda/reduce.cuh). Rows of
// 20000 are 4 chunks of 5000, all 60000 positions 14 chunks; ties and NaNs sit in different
// chunks and on a boundary, so the first position must win across them. The values are small
// integers, so float sums are exact in any order and are compared bit for bit.
inline void check_split_reduce(std::mt19937& rng) {
  const int64_t n = 20000;
  std::vector<double> v(static_cast<size_t>(3 * n));
  std::uniform_int_distribution<int> small(-50, 50);
  for (double& x : v) x = small(rng);
  v[7000] = v[15000] = 100;            // row 0: the maximum twice, in chunks 1 and 3
  v[2 * n + 4999] = v[2 * n + 5000] = -100;  // row 2: the minimum on both sides of a boundary
  Pair ints = pair_of(v, kInt64, {3, n});
  v[n + 12000] = v[n + 19000] = kNaN;  // row 1: two NaNs
  Pair floats = pair_of(v, kFloat32, {3, n});
  using Fn = std::function<Tensor(const Tensor&)>;
  const std::vector<std::pair<std::string, Fn>> float_ops = {
      {"sum dim 1", [](const Tensor& t) { return t.sum({1}); }},
      {"sum all", [](const Tensor& t) { return t.sum(); }},
      {"max dim 1 values", [](const Tensor& t) { return std::get<0>(t.max(1)); }},
      {"max dim 1 indices", [](const Tensor& t) { return std::get<1>(t.max(1)); }},
      {"min dim 1 indices", [](const Tensor& t) { return std::get<1>(t.min(1)); }},
      {"argmax all", [](const Tensor& t) { return t.argmax(); }},
      {"sum over dim 0 of the transpose", [](const Tensor& t) { return t.transpose(0, 1).sum({0}); }},
  };
  for (const auto& [what, fn] : float_ops) {
    compare([&](const std::vector<Tensor>& x) { return fn(x[0]); }, {floats}, 0.0, "split float32 " + what);
  }
  compare([](const std::vector<Tensor>& x) { return x[0].sum({1}); }, {ints}, 0.0, "split int64 sum dim 1");
  compare([](const std::vector<Tensor>& x) { return std::get<1>(x[0].min(1)); }, {ints}, 0.0, "split int64 argmin");
  compare([](const std::vector<Tensor>& x) { return x[0].gt(99).any(1); }, {ints}, 0.0, "split any dim 1");
  compare([](const std::vector<Tensor>& x) { return x[0].lt(99).all(); }, {ints}, 0.0, "split all");
}

inline void check_reduce(std::mt19937& rng) {
  for (DType dt : all_dtypes()) {
    const double sum_tol = is_floating(dt) ? tolerance(dt) * 4 : 0.0;  // order of float adds differs
    {  // one non-contiguous layout per dtype, alternating (emulated launches are not free)
      const Layout layout = static_cast<int>(dt) % 2 ? Layout::Transposed : Layout::Strided;
      Pair x = random_pair({3, 4, 5}, dt, rng, layout);
      const std::string l = layout_name(layout);
      auto run = [&](const std::string& what, double tol, std::function<Tensor(const Tensor&)> fn) {
        compare([&](const std::vector<Tensor>& v) { return fn(v[0]); }, {x}, tol, label(what, dt, l));
      };
      run("sum all", sum_tol, [](const Tensor& t) { return t.sum(); });
      run("sum dim 1", sum_tol, [](const Tensor& t) { return t.sum({1}); });
      run("sum dims 0,2 keepdim", sum_tol, [](const Tensor& t) { return t.sum({0, 2}, true); });
      run("prod dim 2", sum_tol, [](const Tensor& t) { return t.prod(2); });
      run("all dim 0", 0.0, [](const Tensor& t) { return t.all(0); });
      run("any", 0.0, [](const Tensor& t) { return t.any(); });
      run("amax", 0.0, [](const Tensor& t) { return t.amax({0, 2}); });
      run("min all", 0.0, [](const Tensor& t) { return t.min(); });
      run("max dim 1 values", 0.0, [](const Tensor& t) { return std::get<0>(t.max(1)); });
      run("max dim 1 indices", 0.0, [](const Tensor& t) { return std::get<1>(t.max(1)); });
      run("min dim 2 keepdim indices", 0.0, [](const Tensor& t) { return std::get<1>(t.min(2, true)); });
      run("argmax all", 0.0, [](const Tensor& t) { return t.argmax(); });
    }
    // Empty reductions store the identity; reducing an empty set of outputs does nothing.
    Pair e = random_pair({0, 3}, dt, rng);
    compare([](const std::vector<Tensor>& v) { return v[0].sum({0}); }, {e}, 0.0, label("sum over an empty dim", dt));
    compare([](const std::vector<Tensor>& v) { return v[0].prod(0); }, {e}, 0.0, label("prod over an empty dim", dt));
    compare([](const std::vector<Tensor>& v) { return v[0].all(1); }, {e}, 0.0, label("all of empty outputs", dt));
    compare([](const std::vector<Tensor>& v) { return v[0].sum(); }, {random_pair({}, dt, rng)}, 0.0, label("sum of a 0-dim", dt));
    // Ties go to the first position, the first NaN wins.
    if (dt != kBool) {
      Pair ties = pair_of({1, 3, 3, 0, 3, -1, -1, 2}, dt, {2, 4});
      compare([](const std::vector<Tensor>& v) { return std::get<1>(v[0].max(1)); }, {ties}, 0.0, label("max ties", dt));
      compare([](const std::vector<Tensor>& v) { return std::get<1>(v[0].min(0)); }, {ties}, 0.0, label("min ties", dt));
    }
    if (is_floating(dt)) {
      Pair nan = pair_of({1.0, kNaN, 5.0, kNaN, -kInf, 2.0, kInf, 0.0}, dt, {2, 4});
      for (int64_t d : {0, 1}) {
        compare([d](const std::vector<Tensor>& v) { return std::get<0>(v[0].max(d)); }, {nan}, 0.0, label("max with NaN", dt));
        compare([d](const std::vector<Tensor>& v) { return std::get<1>(v[0].max(d)); }, {nan}, 0.0, label("argmax with NaN", dt));
        compare([d](const std::vector<Tensor>& v) { return std::get<1>(v[0].min(d)); }, {nan}, 0.0, label("argmin with NaN", dt));
      }
    }
  }
  // Longer reductions than one block's threads (64): each thread folds several positions.
  Pair longer = random_pair({2, 300}, kInt64, rng);
  compare([](const std::vector<Tensor>& v) { return v[0].sum({1}); }, {longer}, 0.0, "int64 sum of 300");
  Pair longer_f = random_pair({300, 2}, kFloat32, rng, Layout::Transposed);
  compare([](const std::vector<Tensor>& v) { return std::get<1>(v[0].max(1)); }, {longer_f}, 0.0, "float argmax of 300");
  compare([](const std::vector<Tensor>& v) { return v[0].sum({1}); }, {longer_f}, 2e-5, "float sum of 300");
  check_split_reduce(rng);
}

// arange and linspace on every dtype they accept.
inline void check_sequence() {
  for (DType dt : all_dtypes()) {
    if (dt == kBool) continue;
    auto both = [&](const std::function<Tensor(Device)>& make, const std::string& what) {
      Tensor expected;
      try {
        expected = make(kCPU);
      } catch (const Error&) {
        CHECK_THROWS_AS(make(kDev), Error);
        return;
      }
      expect_matches(expected, make(kDev), 0.0, label(what, dt));
    };
    both([&](Device d) { return arange(Scalar(-3), Scalar(9), Scalar(2), {.dtype = dt, .device = d}); }, "arange int");
    both([&](Device d) { return arange(17, {.dtype = dt, .device = d}); }, "arange 17");
    if (is_floating(dt)) {
      both([&](Device d) { return arange(Scalar(0.5), Scalar(3.0), Scalar(0.3), {.dtype = dt, .device = d}); }, "arange float");
    }
    both([&](Device d) { return linspace(-1.0, 2.0, 11, {.dtype = dt, .device = d}); }, "linspace 11");
    both([&](Device d) { return linspace(0.0, 100.0, 1, {.dtype = dt, .device = d}); }, "linspace 1");
    both([&](Device d) { return linspace(0.0, 1.0, 0, {.dtype = dt, .device = d}); }, "linspace 0");
  }
}

// Errors: mixing devices names both; what a CUDA kernel cannot do is named.
inline void check_errors() {
  Tensor c = ones({2, 2}), d = ones({2, 2}, {.device = kDev});
  try {
    (void)c.add(d);
    FAIL("adding a cpu and a cuda tensor must throw");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK_MESSAGE(msg.find("cpu") != std::string::npos, msg);
    CHECK_MESSAGE(msg.find("cuda:0") != std::string::npos, msg);
  }
  // fp16/bf16 addmm with a beta the tensor-core epilogue cannot scale: an Error naming it.
  try {
    const Tensor h = d.to(kFloat16);
    (void)addmm(h, h, h, 0.5, 1.0);
    FAIL("float16 addmm with beta 0.5 on cuda must throw");
  } catch (const Error& e) {
    CHECK_MESSAGE(std::string(e.what()).find("beta=0.5") != std::string::npos, e.what());
  }
  CHECK_THROWS_AS((void)ones({2}, {.device = Device::cuda(7)}), Error);
}

// matmul / mm / bmm / addmm / linear on cuda (the CUDA-core GEMM for float32 and float64, the
// tensor-core GEMM for fp16 and bf16): the CPU's results within the rounding of k-term dot
// products (another summation order) and, for 16-bit outputs, one output rounding.
inline void check_matmul(std::mt19937& rng) {
  struct Case {
    Shape a, b;
    bool transpose_a, transpose_b;
  };
  const Case cases[] = {
      {{5, 7}, {7, 3}, false, false},       {{70, 33}, {33, 65}, false, false},  // tile edges
      {{1, 40}, {40, 1}, false, false},     {{6, 0}, {0, 4}, false, false},      // k = 0
      {{9, 4}, {9, 5}, true, false},        {{4, 9}, {5, 9}, false, true},       // transposed views
      {{3, 5, 7}, {3, 7, 2}, false, false}, {{2, 1, 4, 6}, {3, 6, 5}, false, false},  // batched, broadcast
      {{8}, {8, 3}, false, false},          {{4, 8}, {8}, false, false},         // vectors
  };
  for (const DType dt : {kFloat32, kFloat64, kFloat16, kBFloat16}) {
    for (const Case& c : cases) {
      Pair a = random_pair(c.a, dt, rng), b = random_pair(c.b, dt, rng);
      if (c.transpose_a) a = {a.cpu.transpose(-1, -2), a.dev.transpose(-1, -2)};
      if (c.transpose_b) b = {b.cpu.transpose(-1, -2), b.dev.transpose(-1, -2)};
      // fp16/bf16: both sides accumulate in float and round once, so results differ by an
      // output rounding at most (an ulp of the 16-bit type) plus float summation order.
      const double tol = dt == kFloat32 ? 1e-5 : dt == kFloat64 ? 1e-12 : dt == kFloat16 ? 2e-3 : 1.6e-2;
      compare([](const std::vector<Tensor>& t) { return t[0].matmul(t[1]); }, {a, b}, tol,
              label("matmul", dt, shape_str(c.a) + " @ " + shape_str(c.b)));
    }
    Pair bias = random_pair({3}, dt, rng), x = random_pair({4, 5}, dt, rng), w = random_pair({3, 5}, dt, rng);
    compare([](const std::vector<Tensor>& t) { return linear(t[0], t[1], t[2]); }, {x, w, bias},
            dt == kFloat32 ? 1e-5 : dt == kFloat64 ? 1e-12 : dt == kFloat16 ? 2e-3 : 1.6e-2, label("linear", dt));
  }
  // Autograd through matmul: an MLP layer's gradients on cuda are the CPU's.
  Pair x = random_pair({6, 5}, kFloat32, rng), w = random_pair({5, 4}, kFloat32, rng), b = random_pair({4}, kFloat32, rng);
  auto grads = [](Tensor xs, Tensor ws, Tensor bs) {
    ws = ws.detach().requires_grad_();
    bs = bs.detach().requires_grad_();
    (xs.matmul(ws) + bs).tanh().square().sum().backward();
    return std::make_pair(ws.grad(), bs.grad());
  };
  auto [gw_cpu, gb_cpu] = grads(x.cpu, w.cpu, b.cpu);
  auto [gw_dev, gb_dev] = grads(x.dev, w.dev, b.dev);
  expect_matches(gw_cpu, gw_dev, 1e-5, "d/dw through matmul");
  expect_matches(gb_cpu, gb_dev, 1e-5, "d/db through matmul");
}

// matmul over operands a GEMM library must be told about: views one element past an aligned
// address (odd row strides, so every batch and row is misaligned too), stored transposed, and
// (large_shapes: on a GPU, where cuBLASLt may split K or pick its large-tile kernels) products
// with K = 1024 and a strided batch.
inline void check_matmul_layouts(std::mt19937& rng, bool large_shapes) {
  const auto offset_by_one = [&](int64_t rows, int64_t cols, DType dt) {
    Pair base = random_pair({rows, cols + 1}, dt, rng, Layout::Contiguous, -1.0, 1.0);
    return Pair{base.cpu.slice(1, 1, std::nullopt), base.dev.slice(1, 1, std::nullopt)};
  };
  for (const DType dt : {kFloat32, kFloat64, kFloat16, kBFloat16}) {
    const double tol = dt == kFloat32 ? 1e-5 : dt == kFloat64 ? 1e-12 : dt == kFloat16 ? 2e-3 : 1.6e-2;
    Pair a = offset_by_one(37, 29, dt), bt = offset_by_one(23, 29, dt);
    Pair b{bt.cpu.transpose(0, 1), bt.dev.transpose(0, 1)};
    compare([](const std::vector<Tensor>& t) { return t[0].matmul(t[1]); }, {a, b}, tol,
            label("matmul", dt, "of views one element off alignment"));
    if (!large_shapes) continue;
    // Float32 with K = 1024: the two sides add 1024 products in different orders, so they differ
    // by about float's epsilon times the sum of |a_k b_k| (~256 here), not times |result|, which
    // cancellation can make small: 1.3e-5 was seen at a result of 0.023 on an H200 (2026-11-29).
    const double long_k_tol = dt == kFloat32 ? 1e-4 : tol;
    Pair x = random_pair({300, 1024}, dt, rng, Layout::Contiguous, -1.0, 1.0);
    Pair w = random_pair({200, 1024}, dt, rng, Layout::Contiguous, -1.0, 1.0);
    compare([](const std::vector<Tensor>& t) { return t[0].matmul(t[1].transpose(0, 1)); }, {x, w}, long_k_tol,
            label("matmul", dt, "300x1024 @ (200x1024)^T"));
    Pair p = random_pair({4, 128, 256}, dt, rng, Layout::Contiguous, -1.0, 1.0);
    Pair q = random_pair({4, 96, 256}, dt, rng, Layout::Contiguous, -1.0, 1.0);
    compare([](const std::vector<Tensor>& t) { return t[0].matmul(t[1].transpose(1, 2)); }, {p, q}, tol,
            label("matmul", dt, "batch 4 of 128x256 @ 256x96, B stored transposed"));
  }
}

// A small graph of element-wise ops and reductions on cuda: the CPU's gradients.
inline void check_autograd(std::mt19937& rng, bool emulated) {
  Pair x = random_pair({3, 4}, kFloat32, rng, Layout::Contiguous, 0.2, 2.0);
  Pair w = random_pair({4}, kFloat32, rng);
  auto grads = [](Tensor xs, Tensor ws) {
    xs = xs.detach().requires_grad_();
    ws = ws.detach().requires_grad_();
    Tensor y = (xs * ws + xs.sigmoid() - ws.square() / 2.0).relu();
    Tensor z = y.sum({1}).maximum(xs.amax({1})) * xs.sqrt().sum({1});
    z.sum().backward();
    return std::make_pair(xs.grad(), ws.grad());
  };
  auto [gx_cpu, gw_cpu] = grads(x.cpu, w.cpu);
  auto [gx_dev, gw_dev] = grads(x.dev, w.dev);
  // Sums over rows add in a different order on the device, and a GPU's expf (sigmoid) is not
  // glibc's: a tolerance of a few float ulps on both.
  const double tol = 1e-5;
  expect_matches(gx_cpu, gx_dev, tol, "d/dx");
  expect_matches(gw_cpu, gw_dev, tol, "d/dw");
}

}  // namespace fulgur::cuda_checks
