#include "fulgur/kernels/cuda/simt_emulator.h"

#include <algorithm>
#include <barrier>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fulgur/kernels/error.h"

namespace fulgur::simt {
namespace {

// Largest value one lane passes through warp_exchange (mma.sync passes its A, B and C
// fragments at once: 4 + 2 + 4 words; leave room).
constexpr size_t kSlotBytes = 128;

struct Warp {
  std::unique_ptr<std::barrier<>> barrier;
  std::atomic<uint32_t> alive{0};
  alignas(16) unsigned char slots[kWarpSize][kSlotBytes];
};

// State of the block now running, rebuilt before each block.
struct Block {
  std::unique_ptr<std::barrier<>> barrier;
  std::unique_ptr<Warp[]> warps;
  std::mutex mutex;
  std::vector<size_t> declaration_offsets;
  size_t static_bytes = 0;
  std::vector<unsigned char> static_arena = std::vector<unsigned char>(kMaxSharedBytes, 0xFF);
  std::vector<unsigned char> dynamic_arena;
};

thread_local ThreadContext* t_context = nullptr;
thread_local Block* t_block = nullptr;

int warp_index() { return t_context->linear_tid / kWarpSize; }

Warp& my_warp() { return t_block->warps[static_cast<size_t>(warp_index())]; }

void require_kernel(const char* what) {
  if (t_context == nullptr) {
    std::fprintf(stderr, "simt: %s called outside an emulated kernel\n", what);
    std::abort();
  }
}

}  // namespace

ThreadContext& current() {
  require_kernel("threadIdx/blockIdx");
  return *t_context;
}

void sync_block() {
  require_kernel("__syncthreads");
  t_block->barrier->arrive_and_wait();
}

void sync_warp() {
  require_kernel("__syncwarp");
  my_warp().barrier->arrive_and_wait();
}

int lane_id() {
  require_kernel("lane id");
  return t_context->linear_tid % kWarpSize;
}

uint32_t active_mask() {
  require_kernel("active mask");
  return my_warp().alive.load();
}

void* shared_declaration(size_t bytes, size_t align) {
  require_kernel("FULGUR_SHARED");
  Block& block = *t_block;
  const auto index = static_cast<size_t>(t_context->shared_declarations++);
  std::lock_guard<std::mutex> lock(block.mutex);
  // The first thread to reach the k-th declaration places it; the others find it.
  if (index == block.declaration_offsets.size()) {
    const size_t offset = (block.static_bytes + align - 1) / align * align;
    if (offset + bytes + block.dynamic_arena.size() > kMaxSharedBytes) {
      trap("shared memory of the block exceeds 227 KiB (static + dynamic)");
    }
    block.declaration_offsets.push_back(offset);
    block.static_bytes = offset + bytes;
  }
  return block.static_arena.data() + block.declaration_offsets[index];
}

void* dynamic_shared() {
  require_kernel("FULGUR_DYNAMIC_SHARED");
  return t_block->dynamic_arena.data();
}

void warp_exchange(const void* mine, size_t bytes, void* all_lanes) {
  require_kernel("a warp operation");
  if (bytes > kSlotBytes) trap("warp_exchange: value larger than a slot");
  Warp& warp = my_warp();
  std::memcpy(warp.slots[lane_id()], mine, bytes);
  warp.barrier->arrive_and_wait();
  auto* out = static_cast<unsigned char*>(all_lanes);
  for (int l = 0; l < kWarpSize; ++l) std::memcpy(out + static_cast<size_t>(l) * bytes, warp.slots[l], bytes);
  // Nobody may overwrite a slot before every lane has read it.
  warp.barrier->arrive_and_wait();
}

void trap(const char* what) {
  if (t_context != nullptr) {
    const ThreadContext& c = *t_context;
    std::fprintf(stderr, "simt: kernel trap in block (%u,%u,%u) thread (%u,%u,%u): %s\n", c.block_idx.x,
                 c.block_idx.y, c.block_idx.z, c.thread_idx.x, c.thread_idx.y, c.thread_idx.z, what);
  } else {
    std::fprintf(stderr, "simt: %s\n", what);
  }
  std::abort();
}

void run_grid(dim3 grid, dim3 block_dim, size_t dynamic_shared_bytes, const std::function<void()>& body) {
  const uint64_t threads = uint64_t{block_dim.x} * block_dim.y * block_dim.z;
  const uint64_t blocks = uint64_t{grid.x} * grid.y * grid.z;
  if (threads == 0 || threads > 1024 || block_dim.z > 64 || grid.y > 65535 || grid.z > 65535) {
    throw Error("simt launch: invalid configuration: block (" + std::to_string(block_dim.x) + "," +
                std::to_string(block_dim.y) + "," + std::to_string(block_dim.z) + "), grid (" +
                std::to_string(grid.x) + "," + std::to_string(grid.y) + "," + std::to_string(grid.z) +
                ") (cudaErrorInvalidConfiguration on a GPU); hint: 1..1024 threads per block, grid.y/z "
                "<= 65535");
  }
  if (blocks == 0) {
    throw Error("simt launch: a grid of 0 blocks (cudaErrorInvalidConfiguration on a GPU); hint: skip the "
                "launch for empty work");
  }
  if (dynamic_shared_bytes > kMaxSharedBytes) {
    throw Error("simt launch: " + std::to_string(dynamic_shared_bytes) +
                " bytes of dynamic shared memory, more than the 227 KiB a block may have");
  }
  const int n = static_cast<int>(threads);
  const int warps = (n + kWarpSize - 1) / kWarpSize;
  Block block;
  block.dynamic_arena.resize(dynamic_shared_bytes);
  block.warps = std::make_unique<Warp[]>(static_cast<size_t>(warps));
  std::barrier<> between_blocks(n);

  auto reset_block = [&] {
    block.barrier = std::make_unique<std::barrier<>>(n);
    for (int w = 0; w < warps; ++w) {
      const int lanes = std::min(kWarpSize, n - w * kWarpSize);
      block.warps[static_cast<size_t>(w)].barrier = std::make_unique<std::barrier<>>(lanes);
      block.warps[static_cast<size_t>(w)].alive = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1u;
    }
    block.declaration_offsets.clear();
    // Uninitialised shared memory reads as NaN / 0xFF.. so that a kernel relying on it fails.
    std::memset(block.static_arena.data(), 0xFF, block.static_bytes);
    block.static_bytes = 0;
    // (memset on an empty vector's null data() is undefined, even for 0 bytes)
    if (!block.dynamic_arena.empty()) std::memset(block.dynamic_arena.data(), 0xFF, block.dynamic_arena.size());
  };

  auto thread_main = [&](int tid) {
    ThreadContext context;
    context.linear_tid = tid;
    context.block_dim = block_dim;
    context.grid_dim = grid;
    context.thread_idx = {static_cast<unsigned>(tid) % block_dim.x,
                          static_cast<unsigned>(tid) / block_dim.x % block_dim.y,
                          static_cast<unsigned>(tid) / (block_dim.x * block_dim.y)};
    t_context = &context;
    t_block = &block;
    for (uint64_t b = 0; b < blocks; ++b) {
      between_blocks.arrive_and_wait();
      if (tid == 0) reset_block();
      between_blocks.arrive_and_wait();
      context.block_idx = {static_cast<unsigned>(b % grid.x), static_cast<unsigned>(b / grid.x % grid.y),
                           static_cast<unsigned>(b / (uint64_t{grid.x} * grid.y))};
      context.shared_declarations = 0;
      try {
        body();
      } catch (const std::exception& e) {
        trap(e.what());
      }
      // A thread that has returned no longer holds back the block's or its warp's barriers.
      Warp& warp = my_warp();
      warp.alive.fetch_and(~(1u << (tid % kWarpSize)));
      warp.barrier->arrive_and_drop();
      block.barrier->arrive_and_drop();
    }
    t_context = nullptr;
    t_block = nullptr;
  };

  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(n));
  for (int t = 0; t < n; ++t) pool.emplace_back(thread_main, t);
  for (auto& t : pool) t.join();
}

}  // namespace fulgur::simt
