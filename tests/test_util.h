// Test helpers: element access that bypasses every kernel (reads and writes memory through
// sizes/strides directly), random inputs from std::mt19937 (not our generator), and
// layouts that exercise the kernels' strided paths. References in tests compute in double
// through these helpers, so a kernel bug cannot hide in its own reference.
#pragma once

#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fulgur/fulgur.h"

namespace fulgur::testing {

inline const std::vector<DType>& all_dtypes() {
  static const std::vector<DType> d = {DType::Bool,    DType::UInt8,    DType::Int8,    DType::Int16,
                                       DType::Int32,   DType::Int64,    DType::Float16, DType::BFloat16,
                                       DType::Float32, DType::Float64};
  return d;
}
inline const std::vector<DType>& float_dtypes() {
  static const std::vector<DType> d = {DType::Float16, DType::BFloat16, DType::Float32, DType::Float64};
  return d;
}

// Calls fn(index) for every multi-index of shape in row-major order.
inline void for_each_index(IntArrayRef shape, const std::function<void(const std::vector<int64_t>&)>& fn) {
  const int64_t n = numel_of(shape);
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    fn(idx);
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

inline char* element_address(const Tensor& t, const std::vector<int64_t>& idx) {
  REQUIRE(static_cast<int64_t>(idx.size()) == t.dim());
  int64_t off = t.storage_offset();
  for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.strides()[d];
  return static_cast<char*>(t.storage()->data()) + off * static_cast<int64_t>(t.element_size());
}

// Reads one element as double, straight from memory.
inline double get(const Tensor& t, const std::vector<int64_t>& idx) {
  const char* p = element_address(t, idx);
  return visit_dtype(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    return static_cast<double>(static_cast<opmath_t<T>>(*reinterpret_cast<const T*>(p)));
  });
}

// Writes one element (value converted with a plain static_cast; callers pass values that
// are representable).
inline void set(const Tensor& t, const std::vector<int64_t>& idx, double v) {
  char* p = element_address(t, idx);
  visit_dtype(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) {
      *reinterpret_cast<T*>(p) = v != 0;
    } else {
      *reinterpret_cast<T*>(p) = static_cast<T>(static_cast<opmath_t<T>>(v));
    }
  });
}

// All elements, row-major, as doubles.
inline std::vector<double> values(const Tensor& t) {
  std::vector<double> out;
  for_each_index(t.sizes(), [&](const std::vector<int64_t>& i) { out.push_back(get(t, i)); });
  return out;
}

// The index into t that a broadcast index of the output reads.
inline std::vector<int64_t> source_index(const Tensor& t, const std::vector<int64_t>& idx) {
  const size_t off = idx.size() - static_cast<size_t>(t.dim());
  std::vector<int64_t> r(static_cast<size_t>(t.dim()));
  for (size_t d = 0; d < r.size(); ++d) r[d] = t.sizes()[d] == 1 ? 0 : idx[off + d];
  return r;
}

// A 0-dim float64 holder for a number operand, so the reference reads it like a tensor.
inline Tensor number(double v) {
  Tensor t = empty({}, {.dtype = DType::Float64});
  set(t, {}, v);
  return t;
}

// A value in the dtype's natural test range: small integers for integer types (so that
// products do not overflow), {0,1} for bool, and reals in [lo, hi] for floats.
inline double random_value(DType dtype, std::mt19937& rng, double lo = -2.0, double hi = 2.0) {
  if (dtype == DType::Bool) return static_cast<double>(rng() % 2);
  if (dtype == DType::UInt8) return static_cast<double>(rng() % 10);
  if (!is_floating(dtype)) return static_cast<double>(static_cast<int>(rng() % 19) - 9);
  std::uniform_real_distribution<double> u(lo, hi);
  double v = u(rng);
  // Round to the dtype so that the reference sees exactly the stored value.
  return visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return static_cast<double>(static_cast<opmath_t<T>>(static_cast<T>(static_cast<opmath_t<T>>(v))));
  });
}

// An integer (as uint64, modulo 2^64) narrowed to dt the two's-complement way.
inline double wrap_to(DType dt, uint64_t u) {
  return visit_dtype(dt, [&](auto tag) -> double {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) {
      return u != 0 ? 1.0 : 0.0;
    } else if constexpr (std::is_integral_v<T>) {
      return static_cast<double>(static_cast<T>(u));
    } else {
      return static_cast<double>(static_cast<int64_t>(u));
    }
  });
}

// v as stored in dt: floats rounded the way the kernels round (through opmath), integers
// (v must be integral) wrapped, bool as v != 0.
inline double round_to(DType dt, double v) {
  if (dt == kBool) return v != 0 ? 1.0 : 0.0;
  if (!is_floating(dt)) {
    REQUIRE(std::abs(v) < 9.2e18);
    return wrap_to(dt, static_cast<uint64_t>(static_cast<int64_t>(v)));
  }
  return visit_dtype(dt, [&](auto tag) -> double {
    using T = typename decltype(tag)::type;
    if constexpr (is_floating_v<T>) {
      return static_cast<double>(static_cast<opmath_t<T>>(static_cast<T>(static_cast<opmath_t<T>>(v))));
    } else {
      return v;
    }
  });
}

// How a test tensor is laid out in memory.
enum class Layout { Contiguous, Transposed, Strided };

inline const std::vector<Layout>& all_layouts() {
  static const std::vector<Layout> l = {Layout::Contiguous, Layout::Transposed, Layout::Strided};
  return l;
}
inline const char* layout_name(Layout l) {
  return l == Layout::Contiguous ? "contiguous" : l == Layout::Transposed ? "transposed" : "strided";
}

inline const double kNaN = std::numeric_limits<double>::quiet_NaN();
inline const double kInf = std::numeric_limits<double>::infinity();

// torch.promote_types as printed by PyTorch 1.13 (rows and columns in DType order): the
// tests' own copy, independent of the library's table (type_promotion_test checks the
// library against the full generated golden file).
inline DType reference_promote(DType a, DType b) {
  constexpr DType B = kBool, U8 = kUInt8, I8 = kInt8, I16 = kInt16, I32 = kInt32, I64 = kInt64,
                  F16 = kFloat16, BF16 = kBFloat16, F32 = kFloat32, F64 = kFloat64;
  static constexpr DType table[10][10] = {
      {B, U8, I8, I16, I32, I64, F16, BF16, F32, F64},
      {U8, U8, I16, I16, I32, I64, F16, BF16, F32, F64},
      {I8, I16, I8, I16, I32, I64, F16, BF16, F32, F64},
      {I16, I16, I16, I16, I32, I64, F16, BF16, F32, F64},
      {I32, I32, I32, I32, I32, I64, F16, BF16, F32, F64},
      {I64, I64, I64, I64, I64, I64, F16, BF16, F32, F64},
      {F16, F16, F16, F16, F16, F16, F16, F32, F32, F64},
      {BF16, BF16, BF16, BF16, BF16, BF16, F32, BF16, F32, F64},
      {F32, F32, F32, F32, F32, F32, F32, F32, F32, F64},
      {F64, F64, F64, F64, F64, F64, F64, F64, F64, F64},
  };
  return table[static_cast<int>(a)][static_cast<int>(b)];
}

// A tensor of `shape` and `dtype` holding random values, with the given layout:
// Transposed is a permuted view of a contiguous buffer, Strided a step-2 slice.
inline Tensor random_tensor(IntArrayRef shape, DType dtype, std::mt19937& rng,
                            Layout layout = Layout::Contiguous, double lo = -2.0, double hi = 2.0) {
  Tensor t;
  const int64_t nd = static_cast<int64_t>(shape.size());
  if (layout == Layout::Transposed && nd >= 2) {
    const Shape fwd = shape.vec();
    Shape rev(fwd.rbegin(), fwd.rend());
    std::vector<int64_t> perm(nd);
    for (int64_t i = 0; i < nd; ++i) perm[i] = nd - 1 - i;
    t = empty(rev, {.dtype = dtype}).permute(perm);
  } else if (layout == Layout::Strided && nd >= 1) {
    Shape big = shape.vec();
    big.back() = big.back() * 2;
    t = empty(big, {.dtype = dtype}).slice(nd - 1, 0, std::nullopt, 2);
  } else {
    t = empty(shape, {.dtype = dtype});
  }
  for_each_index(shape, [&](const std::vector<int64_t>& i) { set(t, i, random_value(dtype, rng, lo, hi)); });
  return t;
}

// Reference tolerance for comparing a dtype's result with a double computation.
inline double tolerance(DType dtype) {
  switch (dtype) {
    case DType::Float16: return 2e-3;
    case DType::BFloat16: return 1.6e-2;
    case DType::Float32: return 2e-6;
    case DType::Float64: return 1e-12;
    default: return 0.0;
  }
}

// Checks actual against expected element-wise: |a - e| <= tol * (1 + |e|); NaN matches NaN.
inline void check_close(const Tensor& actual, IntArrayRef shape, const std::vector<double>& expected, double tol,
                        const std::string& what = "") {
  INFO(what);
  REQUIRE(actual.sizes() == shape);
  const std::vector<double> got = values(actual);
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = expected[i], a = got[i];
    if (std::isnan(e)) {
      CHECK_MESSAGE(std::isnan(a), "element ", i, ": expected nan, got ", a);
    } else if (std::isinf(e)) {
      CHECK_MESSAGE(a == e, "element ", i, ": expected ", e, ", got ", a);
    } else {
      CHECK_MESSAGE(std::abs(a - e) <= tol * (1.0 + std::abs(e)), "element ", i, ": expected ", e, ", got ", a);
    }
  }
}

// Every element of base after an in-place op on `view`: the view's elements must equal
// view_expected, every other element keeps its value from base_before.
inline void check_base_after(const Tensor& base, const std::vector<double>& base_before, const Tensor& view,
                             const std::vector<double>& view_expected, double tol, const std::string& what) {
  std::map<const char*, double> expect;
  size_t k = 0;
  for_each_index(view.sizes(), [&](const std::vector<int64_t>& idx) {
    expect[element_address(view, idx)] = view_expected[k++];
  });
  std::vector<double> want;
  k = 0;
  for_each_index(base.sizes(), [&](const std::vector<int64_t>& idx) {
    const auto it = expect.find(element_address(base, idx));
    want.push_back(it != expect.end() ? it->second : base_before[k]);
    ++k;
  });
  check_close(base, base.sizes(), want, tol, what + " (whole base tensor)");
}

// Like check_close, but stops at the first mismatch (keeps the big sweeps fast). NaN matches
// NaN; infinities, and every value when tol == 0, must be equal; otherwise
// |a - e| <= tol * (1 + scale[i]), scale defaulting to |e|.
inline void expect_values(const Tensor& actual, IntArrayRef shape, const std::vector<double>& expected, double tol,
                          const std::string& what, const std::vector<double>* scale = nullptr) {
  if (!(actual.sizes() == shape)) {
    FAIL_CHECK(what << ": shape " << shape_str(actual.sizes()) << ", expected " << shape_str(shape));
    return;
  }
  const std::vector<double> got = values(actual);
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = expected[i], a = got[i];
    const double s = scale ? (*scale)[i] : std::abs(e);
    bool ok;
    if (std::isnan(e)) ok = std::isnan(a);
    else if (std::isinf(e) || tol == 0.0) ok = a == e;
    else ok = std::abs(a - e) <= tol * (1.0 + s);
    if (!ok) {
      FAIL_CHECK(what << ": element " << i << " expected " << e << ", got " << a);
      return;
    }
  }
}

// The message of the fulgur::Error that fn throws ("" if it throws nothing; other
// exception types fail the test).
inline std::string error_message(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// What fn writes to the process's stderr (file descriptor 2: printf and std::cerr alike).
inline std::string captured_stderr(const std::function<void()>& fn) {
  std::fflush(stderr);
  std::FILE* sink = std::tmpfile();
  REQUIRE(sink != nullptr);
  const int saved = ::dup(2);
  REQUIRE(saved >= 0);
  REQUIRE(::dup2(::fileno(sink), 2) == 2);
  try {
    fn();
  } catch (...) {
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    std::fclose(sink);
    throw;
  }
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::string text;
  std::rewind(sink);
  for (int c = std::fgetc(sink); c != EOF; c = std::fgetc(sink)) text += static_cast<char>(c);
  std::fclose(sink);
  return text;
}

// dtype, sizes and strides, for INFO lines.
inline std::string describe(const Tensor& t) {
  return std::string(dtype_name(t.dtype())) + shape_str(t.sizes()) + "/strides" + shape_str(t.strides());
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Makes the test's scratch folder (Bazel's TEST_TMPDIR, else a folder in the system temp dir)
// the current directory: a Trainer without default_root_dir writes its checkpoints and logs
// there. Trainer tests call it once from a namespace-scope initializer.
inline bool chdir_to_test_tmpdir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::filesystem::path path =
      dir != nullptr ? std::filesystem::path(dir) : std::filesystem::temp_directory_path() / "fulgur_test";
  std::filesystem::create_directories(path);
  std::filesystem::current_path(path);
  return true;
}

// A fresh, empty folder `name` in the test's scratch folder (Bazel's TEST_TMPDIR, else the
// system temp dir).
inline std::string fresh_test_dir(const std::string& name) {
  const char* root = std::getenv("TEST_TMPDIR");
  const std::filesystem::path dir =
      (root != nullptr ? std::filesystem::path(root) : std::filesystem::temp_directory_path()) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// A whole file's bytes (REQUIREs that it opens), and a file written with exactly `bytes`.
inline std::string read_file_bytes(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "cannot open ", path.string());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
inline void write_file_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

// The regression the trainer tests fit: y = x . [1, -2, 0.5] + 0.3 with x ~ randn (seed 0), no
// noise, so the achievable MSE is 0 and the true weights are known.
inline std::shared_ptr<data::TensorDataset> regression_data(int64_t n) {
  manual_seed(0);
  Tensor x = randn({n, 3});
  Tensor y = x.matmul(tensor<float>({1.0f, -2.0f, 0.5f}).reshape({3, 1})) + 0.3;
  return std::make_shared<data::TensorDataset>(x, y);
}

// The message of the fulgur::Error `f` throws ("" when it throws none).
inline std::string error_message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Trainer options with the logger, checkpointing, progress bar and model summary off: for
// tests about something else.
inline lightning::TrainerOptions quiet_options(lightning::TrainerOptions o = {}) {
  o.logger = false;
  o.enable_checkpointing = false;
  o.enable_progress_bar = false;
  o.enable_model_summary = false;
  return o;
}

}  // namespace fulgur::testing
