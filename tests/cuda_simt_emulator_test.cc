// The SIMT emulator itself: block barriers, shared memory per block, warp shuffles and votes,
// atomics, clusters (barriers and distributed shared memory), and the launch checks. Kernel tests (cuda_*_emulated_test) build on it.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <numeric>
#include <vector>

#include "fulgur/kernels/cuda/simt.h"
#include "fulgur/kernels/error.h"

namespace {

// Block-wide reversal through shared memory: wrong without the barrier.
__global__ void reverse_block(const int* in, int* out) {
  FULGUR_SHARED(int, tile, [256]);
  const int t = static_cast<int>(threadIdx.x);
  const int base = static_cast<int>(blockIdx.x * blockDim.x);
  tile[t] = in[base + t];
  __syncthreads();
  out[base + t] = tile[blockDim.x - 1 - t];
}

__global__ void warp_ops(const float* in, float* sums, int* lanes, unsigned* ballots, int* xor_partner) {
  const int t = static_cast<int>(threadIdx.x);
  const int lane = t % warpSize;
  float v = in[t];
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  sums[t] = v;
  lanes[t] = __shfl_sync(0xffffffffu, lane, 31 - lane);
  ballots[t] = __ballot_sync(0xffffffffu, in[t] > 0.0f);
  xor_partner[t] = __shfl_down_sync(0xffffffffu, lane, 1, 8);
}

__global__ void count_with_atomics(int* counter, float* total) {
  atomicAdd(counter, 1);
  atomicAdd(total, 0.5f);
}

// Threads leave early; the rest still pass the barrier (exited threads count as arrived).
__global__ void early_exit(int n, int* out) {
  const int t = static_cast<int>(threadIdx.x);
  if (t >= n) return;
  FULGUR_SHARED(int, v, [64]);
  v[t] = t;
  __syncthreads();
  out[t] = v[(t + 1) % n];
}

__global__ void read_shared_unwritten(float* out) {
  FULGUR_SHARED(float, s, [32]);
  out[threadIdx.x] = s[threadIdx.x];
}

__global__ void dynamic_shared_sum(const float* in, float* out) {
  FULGUR_DYNAMIC_SHARED(float, buf);
  buf[threadIdx.x] = in[blockIdx.x * blockDim.x + threadIdx.x];
  __syncthreads();
  if (threadIdx.x == 0) {
    float s = 0;
    for (unsigned i = 0; i < blockDim.x; ++i) s += buf[i];
    out[blockIdx.x] = s;
  }
}

// Every thread writes its global index: an independent kernel.
__global__ void write_ids(int* out, int* total) {
  const int i = static_cast<int>(blockIdx.y * gridDim.x * blockDim.x * blockDim.y + blockIdx.x * blockDim.x * blockDim.y +
                                 threadIdx.y * blockDim.x + threadIdx.x);
  out[i] = i;
  atomicAdd(total, 1);
}

// Each block of a cluster fills its static and dynamic shared memory with values of its own,
// then (after a cluster barrier) every thread reads the next block's copy through
// distributed shared memory. Threads past `live` leave at once: they must not hold back the
// cluster barrier. The read happens before the second barrier, so no block exits while its
// neighbour still reads it (the emulator poisons an exited block's shared memory).
__global__ void cluster_ring(int live, int* out, unsigned* ranks) {
  namespace simt = ::fulgur::simt;
  const int t = static_cast<int>(threadIdx.x);
  if (t >= live) return;
  FULGUR_SHARED(int, mine, [64]);
  FULGUR_DYNAMIC_SHARED(int, extra);
  const unsigned rank = simt::cluster_rank(), blocks = simt::cluster_blocks();
  mine[t] = static_cast<int>(blockIdx.x) * 1000 + t;
  extra[t] = -static_cast<int>(blockIdx.x) * 1000 - t;
  simt::cluster_arrive();
  simt::cluster_wait();
  const unsigned next = (rank + 1) % blocks;
  const int* theirs = static_cast<const int*>(simt::cluster_shared(&mine[t], next));
  const int* their_extra = static_cast<const int*>(simt::cluster_shared(&extra[t], next));
  const auto i = static_cast<size_t>((blockIdx.y * gridDim.x + blockIdx.x) * 64 + t);
  out[2 * i] = *theirs;
  out[2 * i + 1] = *their_extra;
  if (t == 0) ranks[blockIdx.y * gridDim.x + blockIdx.x] = rank * 100 + blocks;
  simt::cluster_arrive();
  simt::cluster_wait();
}

// Whether running fn in a child process ends it with SIGABRT (the emulator's trap).
bool aborts(void (*fn)()) {
  const pid_t pid = fork();
  if (pid == 0) {
    fn();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

}  // namespace

TEST_CASE("simt: __syncthreads and per-block shared memory") {
  const int blocks = 3, threads = 256;
  std::vector<int> in(blocks * threads), out(in.size(), -1);
  std::iota(in.begin(), in.end(), 0);
  FULGUR_LAUNCH(reverse_block, dim3(blocks), dim3(threads), 0, nullptr, in.data(), out.data());
  for (int b = 0; b < blocks; ++b)
    for (int t = 0; t < threads; ++t) CHECK(out[b * threads + t] == in[b * threads + threads - 1 - t]);
}

TEST_CASE("simt: warp shuffles and ballots follow CUDA's lane rules") {
  const int n = 64;
  std::vector<float> in(n), sums(n);
  std::vector<int> lanes(n), down(n);
  std::vector<unsigned> ballots(n);
  for (int i = 0; i < n; ++i) in[static_cast<size_t>(i)] = (i % 3 == 0) ? 1.0f : -static_cast<float>(i);
  FULGUR_LAUNCH(warp_ops, dim3(1), dim3(n), 0, nullptr, in.data(), sums.data(), lanes.data(), ballots.data(),
                down.data());
  for (int w = 0; w < 2; ++w) {
    float expect = 0;
    unsigned bits = 0;
    for (int l = 0; l < 32; ++l) {
      expect += in[static_cast<size_t>(w * 32 + l)];
      if (in[static_cast<size_t>(w * 32 + l)] > 0) bits |= 1u << l;
    }
    for (int l = 0; l < 32; ++l) {
      const auto t = static_cast<size_t>(w * 32 + l);
      CHECK(sums[t] == doctest::Approx(expect));
      CHECK(lanes[t] == 31 - l);
      CHECK(ballots[t] == bits);
      // width 8: lane 7 of each segment keeps its own value
      CHECK(down[t] == ((l % 8) == 7 ? l : l + 1));
    }
  }
}

TEST_CASE("simt: atomics across threads and blocks") {
  int counter = 0;
  float total = 0;
  FULGUR_LAUNCH(count_with_atomics, dim3(4, 2), dim3(32, 4), 0, nullptr, &counter, &total);
  CHECK(counter == 8 * 128);
  CHECK(total == doctest::Approx(0.5 * 8 * 128));
}

TEST_CASE("simt: threads that return early do not block __syncthreads") {
  std::vector<int> out(64, -1);
  FULGUR_LAUNCH(early_exit, dim3(1), dim3(64), 0, nullptr, 40, out.data());
  for (int t = 0; t < 40; ++t) CHECK(out[static_cast<size_t>(t)] == (t + 1) % 40);
  CHECK(out[40] == -1);
}

TEST_CASE("simt: unwritten shared memory reads as NaN, dynamic shared memory works") {
  std::vector<float> out(32, 0.0f);
  FULGUR_LAUNCH(read_shared_unwritten, dim3(1), dim3(32), 0, nullptr, out.data());
  for (float v : out) CHECK(std::isnan(v));
  std::vector<float> in(4 * 96, 1.0f), sums(4);
  in[100] = 5.0f;
  FULGUR_LAUNCH(dynamic_shared_sum, dim3(4), dim3(96), 96 * sizeof(float), nullptr, in.data(), sums.data());
  CHECK(sums[0] == 96.0f);
  CHECK(sums[1] == 100.0f);
}

TEST_CASE("simt: a cluster's blocks run together and read each other's shared memory") {
  for (const unsigned k : {1u, 2u, 4u, 8u}) {
    CAPTURE(k);
    const dim3 grid(2 * k, 3);
    const int live = 40;
    std::vector<int> out(2 * grid.x * grid.y * 64, -7);
    std::vector<unsigned> ranks(grid.x * grid.y, 999);
    fulgur::simt::launch_cluster(k, grid, dim3(64), 64 * sizeof(int), cluster_ring, live, out.data(), ranks.data());
    for (unsigned y = 0; y < grid.y; ++y) {
      for (unsigned x = 0; x < grid.x; ++x) {
        const unsigned next_x = x / k * k + (x % k + 1) % k;  // the next rank of x's cluster
        CHECK(ranks[y * grid.x + x] == (x % k) * 100 + k);
        for (int t = 0; t < 64; ++t) {
          const auto i = static_cast<size_t>((y * grid.x + x) * 64 + static_cast<unsigned>(t));
          CHECK(out[2 * i] == (t < live ? static_cast<int>(next_x) * 1000 + t : -7));
          CHECK(out[2 * i + 1] == (t < live ? -static_cast<int>(next_x) * 1000 - t : -7));
        }
      }
    }
  }
}

TEST_CASE("simt: invalid cluster launches are errors, as on the GPU") {
  std::vector<int> out(2 * 16 * 64);
  std::vector<unsigned> ranks(16);
  auto launch = [&](unsigned k, unsigned grid_x, unsigned threads) {
    fulgur::simt::launch_cluster(k, dim3(grid_x), dim3(threads), 0, cluster_ring, 0, out.data(), ranks.data());
  };
  CHECK_THROWS_AS(launch(2, 3, 64), fulgur::Error);     // grid.x not a multiple of the cluster
  CHECK_THROWS_AS(launch(16, 16, 64), fulgur::Error);   // past the portable 8
  CHECK_THROWS_AS(launch(0, 2, 64), fulgur::Error);
  CHECK_THROWS_AS(launch(4, 4, 1024), fulgur::Error);   // 4096 OS threads at once
  CHECK_NOTHROW(launch(8, 16, 256));
}

TEST_CASE("simt: invalid launches are errors, as cudaErrorInvalidConfiguration") {
  std::vector<int> out(1);
  CHECK_THROWS_AS(FULGUR_LAUNCH(early_exit, dim3(0), dim3(32), 0, nullptr, 1, out.data()), fulgur::Error);
  CHECK_THROWS_AS(FULGUR_LAUNCH(early_exit, dim3(1), dim3(2048), 0, nullptr, 1, out.data()), fulgur::Error);
}

TEST_CASE("simt: an independent launch runs every thread once; a barrier in it traps") {
  std::vector<int> out(3 * 2 * 64, -1);
  int total = 0;
  FULGUR_LAUNCH_INDEPENDENT(write_ids, dim3(3, 2), dim3(32, 2), nullptr, out.data(), &total);
  for (size_t i = 0; i < out.size(); ++i) CHECK(out[i] == static_cast<int>(i));
  CHECK(total == 3 * 2 * 64);
  // The independent path checks what it promises: a kernel that synchronises, shuffles or
  // uses shared memory aborts with a message instead of running wrongly.
  CHECK(aborts([] {
    std::vector<int> in(256, 1), o(256);
    FULGUR_LAUNCH_INDEPENDENT(reverse_block, dim3(1), dim3(256), nullptr, in.data(), o.data());
  }));
  CHECK(aborts([] {
    std::vector<float> in(32, 1.0f), sums(32), unused(32);
    std::vector<int> lanes(32), partner(32);
    std::vector<unsigned> ballots(32);
    FULGUR_LAUNCH_INDEPENDENT(warp_ops, dim3(1), dim3(32), nullptr, in.data(), sums.data(), lanes.data(),
                              ballots.data(), partner.data());
  }));
  // The same kernels run through FULGUR_LAUNCH in the cases above; the launch checks apply.
  CHECK_THROWS_AS(FULGUR_LAUNCH_INDEPENDENT(write_ids, dim3(0), dim3(32), nullptr, out.data(), &total), fulgur::Error);
}
