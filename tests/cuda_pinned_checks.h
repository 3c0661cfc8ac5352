// Pinned host memory and non-blocking host-to-device copies (Tensor::pin_memory,
// to(cuda, {.non_blocking = true}), DataLoader's pin_memory=true), shared by the emulated test
// and tests/gpu. On the emulated device pinned memory is ordinary host memory and copies are
// synchronous, so there these check the API, the values and the allocator's caching; on a GPU
// the same checks also exercise cudaHostAlloc, cudaMemcpyAsync and the event that keeps a
// freed block from being reused while its copy is in flight.
#pragma once

#include <string>
#include <vector>

#include "fulgur/data/dataloader.h"
#include "fulgur/data/tensor_dataset.h"
#include "fulgur/kernels/allocator.h"
#include "fulgur/kernels/backends.h"
#include "fulgur/kernels/cuda/pinned_host_allocator.h"
#include "fulgur/kernels/cuda/stream.h"
#include "fulgur/tests/cuda_tensor_checks.h"

namespace fulgur::cuda_checks {

inline cuda::PinnedHostAllocator& pinned_allocator() {
  kernels::ensure_backends_registered();
  Allocator* a = pinned_host_allocator();
  REQUIRE(a != nullptr);
  return *static_cast<cuda::PinnedHostAllocator*>(a);
}

// real_gpu: also queue slow work ahead of the in-flight case's copy, so that the copy is
// certainly still pending when its buffer is freed and the allocator's choice can be asserted.
inline void check_pinned_memory(std::mt19937& rng, bool real_gpu) {
  // pin_memory: a pinned, contiguous copy with the same values; pinning again is the identity.
  for (Layout layout : {Layout::Contiguous, Layout::Transposed, Layout::Strided}) {
    Pair x = random_pair({33, 17}, kFloat32, rng, layout);
    const Tensor p = x.cpu.pin_memory();
    CHECK(p.is_pinned());
    CHECK_FALSE(x.cpu.is_pinned());
    CHECK(p.is_contiguous());
    CHECK(p.pin_memory().data_ptr() == p.data_ptr());
    CHECK(p.slice(0, 3, 9).is_pinned());  // a view of pinned memory is pinned
    expect_matches(x.cpu, p.to(kDev), 0.0, "pin_memory keeps the values");
    // A non-blocking copy out of pinned memory: the device sees the values (reading them back
    // is a copy on the same stream, so it waits for the first).
    const Tensor d = p.to(kDev, {.non_blocking = true});
    CHECK(d.device() == kDev);
    expect_matches(x.cpu, d, 0.0, "to(cuda, non_blocking) from pinned memory");
    // From pageable memory it is an ordinary copy.
    expect_matches(x.cpu, x.cpu.to(kDev, {.non_blocking = true}), 0.0, "to(cuda, non_blocking) from pageable memory");
  }
  CHECK_FALSE(ones({2}, {.device = kDev}).is_pinned());
  CHECK_THROWS_WITH_AS(ones({2}, {.device = kDev}).pin_memory(), doctest::Contains("only CPU tensors can be pinned"),
                       Error);
  // Every dtype, and the empty tensor.
  for (DType dt : {kFloat64, kFloat16, kBFloat16, kInt64, kInt32, kUInt8, kBool}) {
    Pair x = random_pair({5, 3}, dt, rng);
    expect_matches(x.cpu, x.cpu.pin_memory().to(kDev, {.non_blocking = true}), 0.0, label("pinned copy", dt));
  }
  CHECK(zeros({0, 4}).pin_memory().to(kDev, {.non_blocking = true}).sizes() == Shape{0, 4});

  // The gradient passes through, as through a clone.
  Tensor leaf = ones({4}).mul(3.0).detach().requires_grad_();
  leaf.pin_memory().to(kDev, {.non_blocking = true}).mul(2.0).sum().backward();
  expect_matches(full({4}, 2.0), leaf.grad().to(kDev), 0.0, "gradient through pin_memory and a non-blocking copy");

  // Cached by size class: a freed block of the same class is handed out again without a new
  // host allocation; empty_cache gives the cached blocks back.
  cuda::PinnedHostAllocator& pinned = pinned_allocator();
  CHECK(cuda::PinnedHostAllocator::size_class(1) == 512);
  CHECK(cuda::PinnedHostAllocator::size_class(4000) == 4096);
  CHECK(cuda::PinnedHostAllocator::size_class(4096) == 4096);
  const void* first = nullptr;
  {
    const Tensor a = ones({1000}).pin_memory();  // 4000 bytes: the 4096 class
    first = a.data_ptr();
  }
  const int64_t allocations = pinned.host_allocations();
  {
    const Tensor b = zeros({1010}).pin_memory();  // 4040 bytes: the same class
    CHECK(b.data_ptr() == first);
    CHECK(pinned.owns(b.data_ptr()));
    CHECK(pinned.host_allocations() == allocations);
  }
  CHECK(pinned.cached_bytes() >= 4096);
  pinned.empty_cache();
  CHECK(pinned.cached_bytes() == 0);
  CHECK_FALSE(pinned.owns(first));

  // A pinned buffer freed while its copy may be in flight, and its size class asked for again
  // at once and overwritten: the copy still delivers the first buffer's values (on a GPU the
  // block is not reused before the copy's event completes).
  const int64_t n = int64_t{1} << 22;  // 16 MiB of float32
  Tensor device_copy;
  const void* freed = nullptr;
  {
    const Tensor source = full({n}, 1.0).pin_memory();
    if (real_gpu) {
      // About a TFLOP of GEMMs (tens of milliseconds or more) queued ahead of the copy on the
      // same stream: the copy waits for them, while the host goes on at once.
      Tensor a = ones({4096, 4096}, {.device = kDev}).mul(1e-4);
      for (int i = 0; i < 8; ++i) a = a.matmul(a);
    }
    device_copy = source.to(kDev, {.non_blocking = true});
    freed = source.data_ptr();
  }
  const bool copy_pending = real_gpu && !cuda::current_stream(0).query();
  Tensor next = empty({n}).pin_memory();
  if (copy_pending) {
    INFO("the copy was still queued when its source was freed: the block must not be reused");
    CHECK(next.data_ptr() != freed);
  }
  next.fill_(2.0);
  CHECK(device_copy.to(kCPU).eq(1.0).all().item<bool>());
  CHECK(next.eq(2.0).all().item<bool>());
  if (real_gpu) CHECK_MESSAGE(copy_pending, "the GEMMs ahead of the copy finished too early to test reuse");

  // DataLoader(pin_memory=true) with a CUDA device: every tensor of a batch is pinned.
  auto dataset = std::make_shared<data::TensorDataset>(std::vector<Tensor>{arange(12).reshape({6, 2}), arange(6)});
  data::DataLoader loader(dataset, {.batch_size = 4, .num_workers = 1, .pin_memory = true});
  int batches = 0;
  for (const Value& batch : loader) {
    for (const Value& t : batch.elements()) CHECK(t.as_tensor().is_pinned());
    ++batches;
  }
  CHECK(batches == 2);
}

}  // namespace fulgur::cuda_checks
