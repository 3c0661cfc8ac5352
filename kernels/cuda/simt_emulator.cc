#include "fulgur/kernels/cuda/simt_emulator.h"

#include <algorithm>
#include <barrier>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
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
  bool independent = false;  // run_grid_independent: no barriers, warp operations or shared memory
  std::unique_ptr<std::barrier<>> barrier;
  std::unique_ptr<Warp[]> warps;
  std::mutex mutex;
  std::vector<size_t> declaration_offsets;
  size_t static_bytes = 0;
  // Shared memory: kMaxSharedBytes (static) and the launch's dynamic bytes, 0xFF-filled.
  // Allocated once per launching host thread (launch_arenas) and reused: a fresh 227 KiB
  // buffer per launch was an mmap, page faults and an munmap every time.
  unsigned char* static_arena = nullptr;
  unsigned char* dynamic_arena = nullptr;  // kDynamicArenaOffset past a 4 KiB boundary
  size_t dynamic_bytes = 0;
  unsigned rank = 0;  // in its cluster
  std::atomic<int> running{0};  // threads of the block that have not returned
};

// The blocks running at once: one cluster (a single block without clusters).
struct Cluster {
  std::unique_ptr<std::barrier<>> barrier;
  std::vector<Block> blocks;
};

thread_local ThreadContext* t_context = nullptr;
thread_local Block* t_block = nullptr;
thread_local Cluster* t_cluster = nullptr;
// The arrival of cluster_arrive() this thread has not yet waited for.
thread_local std::optional<std::barrier<>::arrival_token> t_cluster_arrival;

int warp_index() { return t_context->linear_tid / kWarpSize; }

Warp& my_warp() { return t_block->warps[static_cast<size_t>(warp_index())]; }

void require_kernel(const char* what) {
  if (t_context == nullptr) {
    std::fprintf(stderr, "simt: %s called outside an emulated kernel\n", what);
    std::abort();
  }
}

// Barriers, warp operations and shared memory: not in a kernel launched as independent.
void require_cooperative(const char* what) {
  require_kernel(what);
  if (t_block->independent) {
    std::fprintf(stderr, "simt: %s in a kernel launched with FULGUR_LAUNCH_INDEPENDENT; hint: launch it with "
                 "FULGUR_LAUNCH\n", what);
    std::abort();
  }
}

// The OS threads that run emulated GPU threads, kept between launches: creating a block's
// threads anew for every launch made thread creation the main cost of emulated code (a
// training step launches hundreds of kernels; 30 s of system time for a small CNN's 18 steps).
// Thread t runs GPU thread t of every cluster of a launch (a block is a cluster of one); the
// pool grows to the largest cluster seen (at most kMaxClusterThreads) and is never destroyed
// (its threads wait, detached, at exit).
// Launches from several host threads take turns.
class LaunchPool {
 public:
  // Runs job(t) for t in [0, n) on the pool's threads; returns when every call has returned.
  void run(int n, const std::function<void(int)>& job) {
    std::lock_guard<std::mutex> one_launch(launch_mutex_);
    std::unique_lock<std::mutex> lock(mutex_);
    while (static_cast<int>(threads_) < n) {
      // It starts from the generation before this launch's, so it takes part in this launch.
      std::thread(&LaunchPool::worker, this, static_cast<int>(threads_), generation_).detach();
      ++threads_;
    }
    job_ = &job;
    active_ = n;
    pending_ = n;
    ++generation_;
    work_.notify_all();
    done_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
  }

 private:
  void worker(int tid, uint64_t seen) {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      work_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (tid >= active_) continue;  // this launch has fewer threads
      const std::function<void(int)>* job = job_;
      lock.unlock();
      (*job)(tid);
      lock.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::mutex launch_mutex_;
  std::mutex mutex_;
  std::condition_variable work_, done_;
  size_t threads_ = 0;
  uint64_t generation_ = 0;
  int active_ = 0;
  int pending_ = 0;
  const std::function<void(int)>* job_ = nullptr;
};

LaunchPool& launch_pool() {
  static auto* pool = new LaunchPool();  // leaked on purpose: see LaunchPool
  return *pool;
}

}  // namespace

ThreadContext& current() {
  require_kernel("threadIdx/blockIdx");
  return *t_context;
}

void sync_block() {
  require_cooperative("__syncthreads");
  t_block->barrier->arrive_and_wait();
}

void sync_warp() {
  require_cooperative("__syncwarp");
  my_warp().barrier->arrive_and_wait();
}

int lane_id() {
  require_kernel("lane id");
  return t_context->linear_tid % kWarpSize;
}

uint32_t active_mask() {
  require_cooperative("active mask");
  return my_warp().alive.load();
}

void* shared_declaration(size_t bytes, size_t align) {
  require_cooperative("FULGUR_SHARED");
  Block& block = *t_block;
  const auto index = static_cast<size_t>(t_context->shared_declarations++);
  std::lock_guard<std::mutex> lock(block.mutex);
  // The first thread to reach the k-th declaration places it; the others find it.
  if (index == block.declaration_offsets.size()) {
    const size_t offset = (block.static_bytes + align - 1) / align * align;
    if (offset + bytes + block.dynamic_bytes > kMaxSharedBytes) {
      trap("shared memory of the block exceeds 227 KiB (static + dynamic)");
    }
    block.declaration_offsets.push_back(offset);
    block.static_bytes = offset + bytes;
  }
  return block.static_arena + block.declaration_offsets[index];
}

void* dynamic_shared() {
  require_cooperative("FULGUR_DYNAMIC_SHARED");
  return t_block->dynamic_arena;
}

size_t dynamic_shared_bytes() {
  require_cooperative("dynamic shared memory");
  return t_block->dynamic_bytes;
}

uint32_t shared_window_address(const void* p) {
  require_cooperative("a shared-memory address");
  const auto* b = static_cast<const unsigned char*>(p);
  const Block& block = *t_block;
  // One past the end is allowed (the end of a range).
  if (b < block.dynamic_arena || b > block.dynamic_arena + block.dynamic_bytes) {
    trap("shared-window address of memory outside the block's dynamic shared memory (the emulator gives addresses "
         "to dynamic shared memory only)");
  }
  return static_cast<uint32_t>(kDynamicArenaOffset + static_cast<size_t>(b - block.dynamic_arena));
}

void* shared_window_pointer(uint32_t address) {
  require_cooperative("a shared-memory address");
  const Block& block = *t_block;
  if (address < kDynamicArenaOffset || address - kDynamicArenaOffset > block.dynamic_bytes) {
    trap("shared-window address outside the block's dynamic shared memory");
  }
  return block.dynamic_arena + (address - kDynamicArenaOffset);
}

void warp_exchange(const void* mine, size_t bytes, void* all_lanes) {
  require_cooperative("a warp operation");
  if (bytes > kSlotBytes) trap("warp_exchange: value larger than a slot");
  Warp& warp = my_warp();
  std::memcpy(warp.slots[lane_id()], mine, bytes);
  warp.barrier->arrive_and_wait();
  auto* out = static_cast<unsigned char*>(all_lanes);
  for (int l = 0; l < kWarpSize; ++l) std::memcpy(out + static_cast<size_t>(l) * bytes, warp.slots[l], bytes);
  // Nobody may overwrite a slot before every lane has read it.
  warp.barrier->arrive_and_wait();
}

unsigned cluster_rank() {
  require_cooperative("cluster rank");
  return t_block->rank;
}

unsigned cluster_blocks() {
  require_cooperative("cluster size");
  return static_cast<unsigned>(t_cluster->blocks.size());
}

void cluster_arrive() {
  require_cooperative("cluster barrier arrive");
  if (t_cluster_arrival) trap("cluster barrier: arrived twice without waiting");
  t_cluster_arrival.emplace(t_cluster->barrier->arrive());
}

void cluster_wait() {
  require_cooperative("cluster barrier wait");
  if (!t_cluster_arrival) trap("cluster barrier: wait without an arrival");
  t_cluster->barrier->wait(std::move(*t_cluster_arrival));
  t_cluster_arrival.reset();
}

void* cluster_shared(const void* local, unsigned rank) {
  require_cooperative("distributed shared memory");
  if (rank >= t_cluster->blocks.size()) trap("distributed shared memory: rank outside the cluster");
  const auto* p = static_cast<const unsigned char*>(local);
  const Block& mine = *t_block;
  Block& other = t_cluster->blocks[rank];
  if (p >= mine.static_arena && p < mine.static_arena + kMaxSharedBytes) {
    return other.static_arena + (p - mine.static_arena);
  }
  if (mine.dynamic_bytes != 0 && p >= mine.dynamic_arena && p < mine.dynamic_arena + mine.dynamic_bytes) {
    return other.dynamic_arena + (p - mine.dynamic_arena);
  }
  trap("distributed shared memory: the address is not in the block's shared memory");
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

namespace {

// CUDA's launch limits, as cudaErrorInvalidConfiguration on a GPU.
void check_configuration(dim3 grid, dim3 block_dim) {
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
}

uint3 block_index(uint64_t b, dim3 grid) {
  return {static_cast<unsigned>(b % grid.x), static_cast<unsigned>(b / grid.x % grid.y),
          static_cast<unsigned>(b / (uint64_t{grid.x} * grid.y))};
}

uint3 thread_index(int tid, dim3 block_dim) {
  return {static_cast<unsigned>(tid) % block_dim.x, static_cast<unsigned>(tid) / block_dim.x % block_dim.y,
          static_cast<unsigned>(tid) / (block_dim.x * block_dim.y)};
}

}  // namespace

void run_grid_independent(dim3 grid, dim3 block_dim, const std::function<void()>& body) {
  check_configuration(grid, block_dim);
  const int n = static_cast<int>(uint64_t{block_dim.x} * block_dim.y * block_dim.z);
  const uint64_t blocks = uint64_t{grid.x} * grid.y * grid.z;
  Block block;
  block.independent = true;
  ThreadContext context;
  context.block_dim = block_dim;
  context.grid_dim = grid;
  ThreadContext* const outer_context = t_context;
  Block* const outer_block = t_block;
  t_context = &context;
  t_block = &block;
  for (uint64_t b = 0; b < blocks; ++b) {
    context.block_idx = block_index(b, grid);
    for (int tid = 0; tid < n; ++tid) {
      context.linear_tid = tid;
      context.thread_idx = thread_index(tid, block_dim);
      try {
        body();
      } catch (const std::exception& e) {
        trap(e.what());
      }
    }
  }
  t_context = outer_context;
  t_block = outer_block;
}

void run_grid(dim3 grid, dim3 block_dim, unsigned cluster_size, size_t dynamic_shared_bytes,
              const std::function<void()>& body) {
  check_configuration(grid, block_dim);
  const uint64_t threads = uint64_t{block_dim.x} * block_dim.y * block_dim.z;
  const uint64_t blocks = uint64_t{grid.x} * grid.y * grid.z;
  if (dynamic_shared_bytes > kMaxSharedBytes) {
    throw Error("simt launch: " + std::to_string(dynamic_shared_bytes) +
                " bytes of dynamic shared memory, more than the 227 KiB a block may have");
  }
  if (cluster_size == 0 || cluster_size > kMaxClusterBlocks || grid.x % cluster_size != 0 ||
      threads * cluster_size > static_cast<uint64_t>(kMaxClusterThreads)) {
    throw Error("simt launch: clusters of " + std::to_string(cluster_size) + " blocks of " + std::to_string(threads) +
                " threads over a grid of " + std::to_string(grid.x) +
                " blocks in x; hint: 1.." + std::to_string(kMaxClusterBlocks) +
                " blocks dividing grid.x (cudaErrorInvalidClusterSize on a GPU), and at most " +
                std::to_string(kMaxClusterThreads) + " threads per cluster in the emulator");
  }
  const int n = static_cast<int>(threads);
  const int warps = (n + kWarpSize - 1) / kWarpSize;
  const auto k = static_cast<int>(cluster_size);
  // Shared memory arenas, allocated once per launching host thread and reused (see Block).
  struct Arenas {
    std::vector<unsigned char> static_bytes = std::vector<unsigned char>(kMaxSharedBytes, 0xFF);
    std::vector<unsigned char> dynamic_storage = std::vector<unsigned char>(kMaxSharedBytes + 8192, 0xFF);
    // Every block's dynamic shared memory starts at the same offset past a 4 KiB boundary, so
    // that blocks of a cluster lay out alike and a kernel that needs more than 16-byte
    // alignment (the 1 KiB of the TMA swizzle) must align it itself, as on a GPU.
    unsigned char* dynamic_arena() {
      const auto at = reinterpret_cast<uintptr_t>(dynamic_storage.data());
      return dynamic_storage.data() + ((at + 4095) / 4096 * 4096 - at) + kDynamicArenaOffset;
    }
  };
  thread_local std::vector<Arenas> arenas;
  if (arenas.size() < cluster_size) arenas.resize(cluster_size);
  Cluster cluster;
  cluster.blocks = std::vector<Block>(cluster_size);
  for (unsigned r = 0; r < cluster_size; ++r) {
    Block& block = cluster.blocks[r];
    block.rank = r;
    block.static_arena = arenas[r].static_bytes.data();
    block.dynamic_arena = arenas[r].dynamic_arena();
    block.dynamic_bytes = dynamic_shared_bytes;
    block.warps = std::make_unique<Warp[]>(static_cast<size_t>(warps));
  }
  std::barrier<> between_clusters(n * k);

  // Uninitialised shared memory reads as NaN / 0xFF.. so that a kernel relying on it fails.
  auto poison = [](Block& block) {
    std::memset(block.static_arena, 0xFF, block.static_bytes);
    std::memset(block.dynamic_arena, 0xFF, block.dynamic_bytes);
  };

  auto reset_block = [&](Block& block) {
    block.barrier = std::make_unique<std::barrier<>>(n);
    block.running = n;
    for (int w = 0; w < warps; ++w) {
      const int lanes = std::min(kWarpSize, n - w * kWarpSize);
      block.warps[static_cast<size_t>(w)].barrier = std::make_unique<std::barrier<>>(lanes);
      block.warps[static_cast<size_t>(w)].alive = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1u;
    }
    poison(block);
    block.declaration_offsets.clear();
    block.static_bytes = 0;
  };

  // Pool thread t runs thread t % n of the cluster's block t / n.
  auto thread_main = [&](int t) {
    const int tid = t % n;
    Block& block = cluster.blocks[static_cast<size_t>(t / n)];
    ThreadContext context;
    context.linear_tid = tid;
    context.block_dim = block_dim;
    context.grid_dim = grid;
    context.thread_idx = thread_index(tid, block_dim);
    t_context = &context;
    t_block = &block;
    t_cluster = &cluster;
    for (uint64_t c = 0; c < blocks / cluster_size; ++c) {
      between_clusters.arrive_and_wait();
      if (tid == 0) reset_block(block);
      if (t == 0) cluster.barrier = std::make_unique<std::barrier<>>(n * k);
      between_clusters.arrive_and_wait();
      // Clusters run along x: grid.x is a multiple of the cluster size, so the blocks of one
      // cluster are consecutive in x.
      context.block_idx = block_index(c * cluster_size + block.rank, grid);
      context.shared_declarations = 0;
      try {
        body();
      } catch (const std::exception& e) {
        trap(e.what());
      }
      if (context.unwaited_async_ops != 0) {
        trap("the thread returned with asynchronous operations (wgmma) it never waited for; hint: "
             "wgmma.commit_group, then wgmma.wait_group<0> before the accumulators are read");
      }
      // A thread that has returned no longer holds back the block's, its warp's or the
      // cluster's barriers (an arrival it never waited for counts, as on the GPU).
      Warp& warp = my_warp();
      warp.alive.fetch_and(~(1u << (tid % kWarpSize)));
      warp.barrier->arrive_and_drop();
      block.barrier->arrive_and_drop();
      // On a GPU an exited block's shared memory is gone: the last thread out poisons it, so a
      // cluster kernel that reads another block's shared memory without making sure that block
      // has not exited (a cluster barrier before it leaves) reads NaN. Before the wait below,
      // which is the emulator's bookkeeping, not the kernel's.
      if (cluster_size > 1 && block.running.fetch_sub(1) == 1) poison(block);
      if (t_cluster_arrival) {
        cluster.barrier->wait(std::move(*t_cluster_arrival));
        t_cluster_arrival.reset();
      }
      cluster.barrier->arrive_and_drop();
    }
    t_context = nullptr;
    t_block = nullptr;
    t_cluster = nullptr;
  };

  launch_pool().run(n * k, thread_main);
  // The arenas outlive the launch: leave them 0xFF-filled for the next one.
  for (Block& block : cluster.blocks) std::memset(block.static_arena, 0xFF, block.static_bytes);
}

}  // namespace fulgur::simt
