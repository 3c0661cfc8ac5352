// Factories, external buffers, storage/allocator statistics, 16-bit float conversion,
// Philox and the random factories.
#include <bit>
#include <set>

#include "fulgur/kernels/allocator.h"
#include "fulgur/kernels/cuda/runtime.h"
#include "fulgur/kernels/philox.h"
#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

TEST_CASE("constant factories") {
  CHECK(zeros({2, 3}).dtype() == kFloat32);
  CHECK(values(ones({2, 2}, {.dtype = kInt8})) == std::vector<double>(4, 1.0));
  CHECK(full({2}, 7).dtype() == kInt64);  // dtype from the value, as torch.full
  CHECK(full({2}, 2.5).dtype() == kFloat32);
  CHECK(full({2}, true).dtype() == kBool);
  CHECK(values(full({3}, 2.5, {.dtype = kFloat64})) == std::vector<double>(3, 2.5));
  CHECK(scalar_tensor(4).dim() == 0);
  CHECK(zeros({}).dim() == 0);
  CHECK(error_message([] { (void)zeros({2, -1}); }).find("negative dimension -1") != std::string::npos);
  Tensor like = ones({2, 3}, {.dtype = kInt32});
  CHECK(zeros_like(like).dtype() == kInt32);
  CHECK(ones_like(like, kFloat64).dtype() == kFloat64);
  CHECK(values(full_like(like, 9)) == std::vector<double>(6, 9.0));
  CHECK(empty_like(like).sizes() == like.sizes());
}

TEST_CASE("arange, linspace and eye") {
  CHECK(arange(5).dtype() == kInt64);
  CHECK(values(arange(5)) == std::vector<double>({0, 1, 2, 3, 4}));
  CHECK(values(arange(1, 10, 3)) == std::vector<double>({1, 4, 7}));
  CHECK(values(arange(5, 0, -2)) == std::vector<double>({5, 3, 1}));
  CHECK(arange(0.0, 1.0, 0.25).dtype() == kFloat32);
  CHECK(values(arange(0.0, 1.0, 0.25)) == std::vector<double>({0, 0.25, 0.5, 0.75}));
  CHECK(arange(0.0, 1.0, 0.3).numel() == 4);  // ceil((end - start) / step)
  CHECK(arange(3, {.dtype = kFloat64}).dtype() == kFloat64);
  CHECK(arange(0).numel() == 0);
  CHECK(error_message([] { (void)arange(0, 5, -1); }).find("inconsistent with step sign") != std::string::npos);
  CHECK(error_message([] { (void)arange(0, 5, 0); }).find("step must be nonzero") != std::string::npos);
  // Large int64 values stay exact (no round trip through double).
  const int64_t big = (int64_t{1} << 60) + 1;
  CHECK(arange(big, big + 3).to_vector<int64_t>() == std::vector<int64_t>({big, big + 1, big + 2}));

  Tensor l = linspace(-1.0, 1.0, 5, {.dtype = kFloat64});
  CHECK(values(l) == std::vector<double>({-1, -0.5, 0, 0.5, 1}));
  // The last point is exactly `end` (PyTorch fills from both ends).
  Tensor l2 = linspace(0.1, 0.7, 7, {.dtype = kFloat64});
  CHECK(get(l2, {6}) == 0.7);
  CHECK(get(l2, {0}) == 0.1);
  CHECK(linspace(3, 3, 1).item<double>() == 3);
  CHECK(linspace(0, 1, 0).numel() == 0);

  CHECK(values(eye(3)) == std::vector<double>({1, 0, 0, 0, 1, 0, 0, 0, 1}));
  CHECK(values(eye(2, 3, {.dtype = kInt64})) == std::vector<double>({1, 0, 0, 0, 1, 0}));
  CHECK(eye(0).numel() == 0);
}

TEST_CASE("from_vector copies, from_blob borrows") {
  std::vector<float> data = {1, 2, 3, 4, 5, 6};
  Tensor copied = from_vector(data, Shape{2, 3});
  data[0] = 100;
  CHECK(get(copied, {0, 0}) == 1);
  CHECK(error_message([&] { (void)from_vector(data, Shape{4, 2}); }).find("holds 8 elements but 6") !=
        std::string::npos);

  bool deleted = false;
  {
    Tensor borrowed = from_blob(data.data(), {2, 3}, kFloat32, std::nullopt, [&](void*) { deleted = true; });
    CHECK(get(borrowed, {0, 0}) == 100);
    data[5] = -6;
    CHECK(get(borrowed, {1, 2}) == -6);
    borrowed.mul_(2);  // writes into the caller's buffer
    Tensor view = borrowed.t();
    CHECK_FALSE(deleted);
  }
  CHECK(deleted);
  CHECK(data[1] == 4);
  // Column-major caller memory through explicit strides.
  std::vector<double> colmajor = {1, 2, 3, 4, 5, 6};  // 2x3, columns stored together
  Tensor cm = from_blob(colmajor.data(), {2, 3}, kFloat64, Shape{1, 2});
  CHECK(values(cm) == std::vector<double>({1, 3, 5, 2, 4, 6}));
  CHECK(tensor({{1, 2}, {3, 4}}).dtype() == kInt32);
  CHECK(values(tensor({{1.5f, 2.5f}, {3.5f, 4.5f}})) == std::vector<double>({1.5, 2.5, 3.5, 4.5}));
  CHECK(values(tensor({true, false})) == std::vector<double>({1, 0}));
  CHECK(error_message([] { (void)tensor({{1, 2}, {3}}); }).find("equal lengths") != std::string::npos);
}

TEST_CASE("a memory limit turns an oversized allocation into an error, before asking the system") {
  Allocator& host = allocator_for(DeviceType::CPU);
  const int64_t in_use = host.stats().current_bytes;
  host.set_memory_limit(in_use + (int64_t{1} << 20));  // 1 MiB more than now
  Tensor fits = zeros({1 << 17});  // 512 KiB
  const std::string msg = error_message([] { (void)zeros({1 << 18}); });  // 1 MiB more
  CHECK(msg.find("allocate: out of memory on cpu: tried to allocate 1048576 bytes") != std::string::npos);
  CHECK(msg.find("the memory limit is") != std::string::npos);
  CHECK(error_message([] { (void)zeros({int64_t{1} << 40}); }).find("out of memory") != std::string::npos);
  CHECK(values(fits.sum()) == std::vector<double>({0}));
  host.set_memory_limit(0);
  CHECK(zeros({1 << 18}).numel() == (1 << 18));
  CHECK(error_message([&] { host.set_memory_limit(-1); }).find("expected a byte count >= 0") != std::string::npos);
}

TEST_CASE("the host allocator is aligned and counts bytes") {
  Allocator& host = allocator_for(DeviceType::CPU);
  const AllocatorStats before = host.stats();
  {
    Tensor a = empty({1000}, {.dtype = kFloat64});
    CHECK(reinterpret_cast<uintptr_t>(a.data_ptr()) % 64 == 0);
    const AllocatorStats during = host.stats();
    CHECK(during.current_bytes >= before.current_bytes + 8000);
    CHECK(during.peak_bytes >= during.current_bytes);
    CHECK(during.num_allocations > before.num_allocations);
  }
  CHECK(host.stats().current_bytes == before.current_bytes);
  // Large blocks are cached after free and reused for the same size class.
  void* first = nullptr;
  {
    Tensor big = empty({1 << 18});  // 1 MiB
    first = big.data_ptr();
  }
  CHECK(host.cached_bytes() >= (size_t{1} << 20));
  {
    Tensor again = empty({(1 << 18) - 16});  // same size class
    CHECK(again.data_ptr() == first);
  }
  host.empty_cache();
  CHECK(host.cached_bytes() == 0);
  // A CUDA tensor in this build/machine is an error that says why, not a crash.
  if (!cuda::is_available()) {
    const std::string msg = error_message([] { (void)zeros({2}, {.device = Device::cuda(0)}); });
    CHECK(msg.find("cuda") != std::string::npos);
    CHECK_FALSE(cuda::unavailable_reason().empty());
  }
  CHECK(Device::parse("cuda:3") == Device::cuda(3));
  CHECK(Device::parse("cpu").is_cpu());
  CHECK(error_message([] { (void)Device::parse("tpu"); }).find("cannot parse device 'tpu'") != std::string::npos);
}

TEST_CASE("float16 and bfloat16 round to nearest even") {
  struct Case { float in; uint16_t half_bits; uint16_t bf16_bits; };
  const Case cases[] = {
      {1.0f, 0x3c00, 0x3f80},
      {-2.0f, 0xc000, 0xc000},
      {65504.0f, 0x7bff, 0x4780},
      {65520.0f, 0x7c00, 0x4780},          // rounds up to infinity in half
      {5.9604644775390625e-8f, 0x0001, 0x3380},  // smallest half subnormal
      {1.0f + 1.0f / 2048.0f, 0x3c00, 0x3f80},   // halfway: ties to even (down)
      {1.0f + 3.0f / 2048.0f, 0x3c02, 0x3f80},   // halfway: ties to even (up)
      {std::numeric_limits<float>::infinity(), 0x7c00, 0x7f80},
  };
  for (const Case& c : cases) {
    CAPTURE(c.in);
    CHECK(Half(c.in).bits == c.half_bits);
    CHECK(BFloat16(c.in).bits == c.bf16_bits);
  }
  CHECK(std::isnan(static_cast<float>(Half(std::nanf("")))));
  CHECK(std::isnan(static_cast<float>(BFloat16(std::nanf("")))));
  // Every half value converts to float and back unchanged.
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const Half h = Half::from_bits(static_cast<uint16_t>(bits));
    const float f = h;
    if (std::isnan(f)) continue;
    REQUIRE(Half(f).bits == h.bits);
    const BFloat16 b = BFloat16::from_bits(static_cast<uint16_t>(bits));
    if (!std::isnan(static_cast<float>(b))) REQUIRE(BFloat16(static_cast<float>(b)).bits == b.bits);
  }
}

TEST_CASE("Philox4x32-10 known-answer vectors") {
  // Random123's kat_vectors: philox4x32 10 rounds, counter (c0, c1, 0, 0), key (k0, k1).
  const PhiloxBlock zero = philox4x32_10(0, 0);
  CHECK(zero.v[0] == 0x6627e8d5u);
  CHECK(zero.v[1] == 0xe169c58du);
  CHECK(zero.v[2] == 0xbc57ac4cu);
  CHECK(zero.v[3] == 0x9b00dbd8u);
}

TEST_CASE("random factories are reproducible from the seed") {
  manual_seed(42);
  const Tensor a = rand({1000});
  manual_seed(42);
  const Tensor b = rand({1000});
  CHECK(values(a) == values(b));
  const Tensor c = rand({1000});  // the stream moves on
  CHECK(values(a) != values(c));

  // The same values whatever the thread count (element i uses counter offset + i).
  Generator g1(7), g2(7);
  set_num_threads(1);
  const Tensor one = randn({100000}, {}, &g1);
  set_num_threads(2);
  const Tensor two = randn({100000}, {}, &g2);
  CHECK(values(one) == values(two));
  // Splitting a draw gives the same stream as one draw.
  Generator whole(9), parts(9);
  const Tensor w = rand({10}, {.dtype = kFloat64}, &whole);
  const Tensor p1 = rand({4}, {.dtype = kFloat64}, &parts);
  const Tensor p2 = rand({6}, {.dtype = kFloat64}, &parts);
  CHECK(values(w) == values(cat({p1, p2})));
  CHECK(parts.offset() == 10);
}

TEST_CASE("random distributions have the right moments and ranges") {
  Generator g(123);
  const int64_t n = 200000;
  const Tensor u = rand({n}, {.dtype = kFloat64}, &g);
  CHECK(u.min().item<double>() >= 0.0);
  CHECK(u.max().item<double>() < 1.0);
  CHECK(u.mean().item<double>() == doctest::Approx(0.5).epsilon(0.01));
  CHECK(u.var().item<double>() == doctest::Approx(1.0 / 12).epsilon(0.02));
  const Tensor z = randn({n}, {}, &g);
  CHECK(std::abs(z.mean().item<double>()) < 0.01);
  CHECK(z.std().item<double>() == doctest::Approx(1.0).epsilon(0.01));
  // About 68.3% within one standard deviation.
  CHECK(z.abs().lt(1.0).to(kFloat64).mean().item<double>() == doctest::Approx(0.6827).epsilon(0.01));
  const Tensor r = randint(-3, 4, {n}, {}, &g);
  CHECK(r.dtype() == kInt64);
  CHECK(r.min().item<int64_t>() == -3);
  CHECK(r.max().item<int64_t>() == 3);
  for (int64_t v = -3; v <= 3; ++v) {
    CHECK(r.eq(v).to(kFloat64).mean().item<double>() == doctest::Approx(1.0 / 7).epsilon(0.05));
  }
  const Tensor bern = bernoulli({n}, 0.3, {}, &g);
  CHECK(bern.mean().item<double>() == doctest::Approx(0.3).epsilon(0.02));
  const Tensor probs = tensor({0.0, 1.0, 0.5});
  const Tensor bp = bernoulli(probs.expand({n, 3}).contiguous(), &g);
  CHECK(bp.select(1, 0).sum().item<double>() == 0.0);
  CHECK(bp.select(1, 1).sum().item<double>() == static_cast<double>(n));
  CHECK(error_message([&] { (void)bernoulli(tensor({1.5})); }).find("[0, 1]") != std::string::npos);
  CHECK(error_message([] { (void)randint(3, 3, {2}); }).find("low < high") != std::string::npos);
  CHECK(error_message([] { (void)rand({2}, {.dtype = kInt32}); }).find("floating-point") != std::string::npos);
  CHECK(rand({2}, {.dtype = kBFloat16}).dtype() == kBFloat16);
}

TEST_CASE("randperm is a permutation") {
  Generator g(5);
  const std::vector<int64_t> p = randperm(1000, {}, &g).to_vector<int64_t>();
  std::set<int64_t> seen(p.begin(), p.end());
  CHECK(seen.size() == 1000);
  CHECK(*seen.begin() == 0);
  CHECK(*seen.rbegin() == 999);
  int64_t fixed_points = 0;
  for (int64_t i = 0; i < 1000; ++i) fixed_points += p[i] == i;
  CHECK(fixed_points < 10);  // expected 1 for a uniform permutation
  CHECK(randperm(0).numel() == 0);
}

TEST_CASE("sizes whose element count or strides overflow int64 are errors, not wrapped counts") {
  using fulgur::testing::contains;
  using fulgur::testing::error_message;
  const int64_t big = int64_t{1} << 40;
  CHECK(contains(error_message([&] { fulgur::zeros({big, big}); }), "overflows int64"));
  CHECK(contains(error_message([&] { fulgur::numel_of({2889516557795364, 21491613700}); }), "overflows int64"));
  // A zero anywhere makes an empty tensor, however large the other sizes.
  CHECK(fulgur::numel_of({big, big, 0}) == 0);
  CHECK(fulgur::contiguous_strides({int64_t{1} << 62, 4, 0}) == fulgur::Shape{4, 1, 1});
  CHECK(contains(error_message([&] { fulgur::contiguous_strides({2, big, 0, big}); }), "strides overflow"));
  CHECK(fulgur::numel_of({3, 4, 5}) == 60);
}
