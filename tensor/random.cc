// Random factories. Every op reserves numel Philox counters from its generator; element i
// gets counter offset + i (kernels/philox.h), so a seed fixes the values on every device.
#include "fulgur/tensor/internal/launch.h"
#include "fulgur/tensor/ops.h"

namespace fulgur {
namespace {

Tensor random_fill(Tensor out, kernels::RandomArgs a, Generator* generator, const char* op) {
  Generator& gen = generator ? *generator : default_generator();
  const auto draw = gen.reserve(static_cast<uint64_t>(out.numel()));
  a.dtype = out.dtype();
  a.out = static_cast<char*>(out.data_ptr());
  a.numel = out.numel();
  a.seed = draw.seed;
  a.offset = draw.offset;
  if (a.numel > 0) internal::table(out, op).random(a);
  return out;
}

void require_floating_dtype(DType dtype, const char* op) {
  FULGUR_CHECK(is_floating(dtype), op, "expected a floating-point dtype, got ", dtype);
}

}  // namespace

Tensor rand(IntArrayRef sizes, TensorOptions o, Generator* g) {
  const DType dtype = o.dtype.value_or(DType::Float32);
  require_floating_dtype(dtype, "rand");
  kernels::RandomArgs a;
  a.kind = kernels::RandomKind::Uniform;
  a.a = 0.0;
  a.b = 1.0;
  return random_fill(make_tensor(sizes, dtype, o.device), a, g, "rand");
}

Tensor randn(IntArrayRef sizes, TensorOptions o, Generator* g) {
  const DType dtype = o.dtype.value_or(DType::Float32);
  require_floating_dtype(dtype, "randn");
  kernels::RandomArgs a;
  a.kind = kernels::RandomKind::Normal;
  a.a = 0.0;
  a.b = 1.0;
  return random_fill(make_tensor(sizes, dtype, o.device), a, g, "randn");
}

Tensor rand_like(const Tensor& like, Generator* g) {
  return rand(like.sizes(), {.dtype = like.dtype(), .device = like.device()}, g);
}
Tensor randn_like(const Tensor& like, Generator* g) {
  return randn(like.sizes(), {.dtype = like.dtype(), .device = like.device()}, g);
}

Tensor randint(int64_t low, int64_t high, IntArrayRef sizes, TensorOptions o, Generator* g) {
  FULGUR_CHECK(low < high, "randint", "expected low < high, got low=", low, " high=", high);
  kernels::RandomArgs a;
  a.kind = kernels::RandomKind::RandInt;
  a.a_int = low;
  a.b_int = high;
  return random_fill(make_tensor(sizes, o.dtype.value_or(DType::Int64), o.device), a, g, "randint");
}

Tensor randperm(int64_t n, TensorOptions o, Generator* g) {
  FULGUR_CHECK(n >= 0, "randperm", "n must be non-negative, got ", n);
  // Random 63-bit keys, then a stable argsort: a uniform permutation (ties have
  // probability ~n^2/2^64) computed the same way on every device.
  kernels::RandomArgs a;
  a.kind = kernels::RandomKind::Bits64;
  Tensor keys = random_fill(make_tensor({n}, DType::Int64, o.device), a, g, "randperm");
  return keys.argsort(0).to(o.dtype.value_or(DType::Int64));
}

Tensor bernoulli(const Tensor& p, Generator* g) {
  require_floating_dtype(p.dtype(), "bernoulli");
  const Tensor probs = p.contiguous();
  FULGUR_CHECK(probs.ge(0).logical_and(probs.le(1)).all().item<bool>(), "bernoulli",
               "expected all probabilities in [0, 1]");
  kernels::RandomArgs a;
  a.kind = kernels::RandomKind::Bernoulli;
  a.probs = static_cast<const char*>(probs.data_ptr());
  return random_fill(make_tensor(p.sizes(), p.dtype(), p.device()), a, g, "bernoulli");
}

Tensor bernoulli(IntArrayRef sizes, double p, TensorOptions o, Generator* g) {
  FULGUR_CHECK(p >= 0 && p <= 1, "bernoulli", "expected 0 <= p <= 1, got ", p);
  kernels::RandomArgs a;
  a.kind = kernels::RandomKind::Bernoulli;
  a.a = p;
  return random_fill(make_tensor(sizes, o.dtype.value_or(DType::Float32), o.device), a, g, "bernoulli");
}

}  // namespace fulgur
