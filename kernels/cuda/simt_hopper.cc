#include "fulgur/kernels/cuda/simt_hopper.h"

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "fulgur/kernels/cuda/simt.h"
#include "fulgur/kernels/cuda/simt_ptx.h"

namespace fulgur::simt {
namespace {

// ---- mbarrier: one 64-bit word ----
// bits 0-19 expected arrivals, 20-39 arrivals pending, 40-61 transaction bytes pending
// (two's complement: a copy may complete before its bytes are expected), 62 clear once
// initialised (0xFF-filled shared memory has it set), 63 the phase parity.
constexpr uint64_t kField = (uint64_t{1} << 20) - 1;
constexpr uint64_t kTxMask = (uint64_t{1} << 22) - 1;
constexpr uint64_t kUninitialised = uint64_t{1} << 62;
constexpr uint64_t kPhase = uint64_t{1} << 63;
constexpr auto kDeadlockTimeout = std::chrono::seconds(60);

struct Barrier {
  uint64_t count, pending;
  int64_t tx;
  uint64_t phase;
};

// Every barrier operation of the process takes this lock; a completed phase wakes every waiter.
std::mutex& barrier_mutex() {
  static std::mutex m;
  return m;
}
std::condition_variable& barrier_progress() {
  static std::condition_variable cv;
  return cv;
}

Barrier load(const uint64_t* word, const char* op) {
  const uint64_t w = *word;
  if ((w & kUninitialised) != 0) trap((std::string(op) + " on an mbarrier that was never initialised").c_str());
  int64_t tx = static_cast<int64_t>((w >> 40) & kTxMask);
  if (tx >= (int64_t{1} << 21)) tx -= int64_t{1} << 22;
  return {w & kField, (w >> 20) & kField, tx, w >> 63};
}

void store(uint64_t* word, const Barrier& b) {
  *word = b.count | (b.pending << 20) | ((static_cast<uint64_t>(b.tx) & kTxMask) << 40) | (b.phase ? kPhase : 0);
}

// Arrivals and transaction bytes (under the lock); completes the phase when both reach zero.
void update(uint64_t* word, uint64_t arrivals, int64_t tx, const char* op) {
  Barrier b = load(word, op);
  if (arrivals > b.pending) trap((std::string(op) + ": more arrivals than the mbarrier expects this phase").c_str());
  b.pending -= arrivals;
  b.tx += tx;
  if (b.tx >= (int64_t{1} << 20) || b.tx <= -(int64_t{1} << 20)) {
    trap((std::string(op) + ": mbarrier transaction count out of range (+-2^20 - 1)").c_str());
  }
  if (b.pending == 0 && b.tx == 0) {
    b.pending = b.count;
    b.phase ^= 1;
    barrier_progress().notify_all();
  }
  store(word, b);
}

// ---- TMA ----

// The 128-byte swizzle: 16-byte chunk c of a 128-byte row r (address bits 4-6 and 7-9) moves
// to chunk c ^ (r % 8).
uint32_t swizzle_128b(uint32_t address) { return address ^ (((address >> 7) & 7u) << 4); }

void* block_copy(void* local, unsigned rank) { return rank == cluster_rank() ? local : cluster_shared(local, rank); }

// The `bytes` bytes at shared-window `address` of the calling block, all inside its dynamic
// shared memory (else a trap naming `op`).
void* shared_bytes_at(uint32_t address, uint32_t bytes, const char* op) {
  const uint32_t begin = shared_window_address(dynamic_shared());
  if (address < begin || uint64_t{address} + bytes > uint64_t{begin} + dynamic_shared_bytes()) {
    trap((std::string(op) + ": shared-memory access outside the block's dynamic shared memory").c_str());
  }
  return shared_window_pointer(address);
}

// ---- wgmma ----

struct Wgmma {
  float* d;
  int n;
  bool bf16;
  int trans_a, trans_b;
  uint64_t desc_a, desc_b;
  uint32_t scale_d;
};

thread_local std::vector<Wgmma> t_open_group;
thread_local std::deque<std::vector<Wgmma>> t_committed;

// Element (mn, k) of an operand tile described by `desc` (128-byte swizzle), as a float.
struct Operand {
  uint32_t start, lbo, sbo;
  bool mn_major, bf16;

  Operand(uint64_t desc, int trans, bool is_bf16) {
    start = static_cast<uint32_t>(desc & 0x3FFF) << 4;
    lbo = static_cast<uint32_t>((desc >> 16) & 0x3FFF) << 4;
    sbo = static_cast<uint32_t>((desc >> 32) & 0x3FFF) << 4;
    if ((desc >> 62) != 1) {
      trap("emulated wgmma: only the 128-byte swizzle layout (descriptor bits 62-63 = 1) is modelled");
    }
    if (((desc >> 49) & 7) != 0) trap("emulated wgmma: a descriptor base offset other than 0 is not modelled");
    // With base offset 0 the swizzle pattern must start with the tile: address bits 7-9 clear
    // (a K step inside the 128-byte row moves only bits 4-6).
    if ((start >> 7) & 7) trap("wgmma: a 128-byte-swizzled operand must start on a 1024-byte boundary (base offset 0)");
    mn_major = trans != 0;
    bf16 = is_bf16;
  }

  float at(int mn, int k) const {
    const uint32_t m = static_cast<uint32_t>(mn), kk = static_cast<uint32_t>(k);
    // K-major: rows of 128 bytes, 8-row groups SBO apart, k along the row. MN-major: 64
    // elements of MN along the row, 64-element atoms LBO apart, 8-k groups SBO apart.
    const uint32_t logical = mn_major ? start + (m / 64) * lbo + (kk / 8) * sbo + (kk % 8) * 128 + (m % 64) * 2
                                      : start + (m / 8) * sbo + (m % 8) * 128 + kk * 2;
    uint16_t bits;
    std::memcpy(&bits, shared_bytes_at(swizzle_128b(logical), 2, "wgmma operand"), 2);
    return bf16 ? ::fulgur::ptx::bf16_to_float(bits) : ::fulgur::ptx::fp16_to_float(bits);
  }
};

// D[64 x N] += A[64 x 16] B[16 x N] for this thread's accumulators: warp w of the warpgroup
// holds rows 16w..16w+15; d[4i + 2h + e] is row g + 8h, column 8i + 2q + e (g = lane / 4,
// q = lane % 4).
void run(const Wgmma& op) {
  const int tid = current().linear_tid % 128;
  const int warp = tid / 32, lane = tid % 32, g = lane / 4, q = lane % 4;
  const Operand a(op.desc_a, op.trans_a, op.bf16), b(op.desc_b, op.trans_b, op.bf16);
  float rows[2][16];
  for (int h = 0; h < 2; ++h)
    for (int k = 0; k < 16; ++k) rows[h][k] = a.at(16 * warp + g + 8 * h, k);
  for (int i = 0; i < op.n / 8; ++i) {
    for (int e = 0; e < 2; ++e) {
      float col[16];
      for (int k = 0; k < 16; ++k) col[k] = b.at(8 * i + 2 * q + e, k);
      for (int h = 0; h < 2; ++h) {
        float& out = op.d[4 * i + 2 * h + e];
        float sum = op.scale_d != 0 ? out : 0.0f;
        for (int k = 0; k < 16; ++k) sum += rows[h][k] * col[k];
        out = sum;
      }
    }
  }
}

}  // namespace

void mbarrier_init(uint64_t* bar, uint32_t count) {
  if (count == 0 || count > kField) trap("mbarrier.init: the count must be 1..2^20 - 1");
  std::lock_guard<std::mutex> lock(barrier_mutex());
  store(bar, {count, count, 0, 0});
}

void mbarrier_arrive(uint64_t* bar) {
  std::lock_guard<std::mutex> lock(barrier_mutex());
  update(bar, 1, 0, "mbarrier.arrive");
}

void mbarrier_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
  std::lock_guard<std::mutex> lock(barrier_mutex());
  update(bar, 1, static_cast<int64_t>(bytes), "mbarrier.arrive.expect_tx");
}

void mbarrier_wait(uint64_t* bar, uint32_t parity) {
  std::unique_lock<std::mutex> lock(barrier_mutex());
  const auto deadline = std::chrono::steady_clock::now() + kDeadlockTimeout;
  while (load(bar, "mbarrier.try_wait").phase == (parity & 1)) {
    if (barrier_progress().wait_until(lock, deadline) == std::cv_status::timeout &&
        load(bar, "mbarrier.try_wait").phase == (parity & 1)) {
      trap("mbarrier wait: the phase did not complete in 60 s (a deadlock: arrivals or TMA bytes that never come)");
    }
  }
}

void tma_load(void* dst, const TensorMap& map, uint64_t* bar, const int (&c)[3], bool multicast, uint16_t cta_mask) {
  const int eb = map.element_bytes;
  if (map.rank < 1 || map.rank > 3 || eb <= 0) trap("emulated TMA: the tensor map was not encoded");
  if (map.box[0] * static_cast<uint32_t>(eb) != 128) {
    trap("emulated TMA: only boxes whose rows are 128 bytes (the 128-byte swizzle span) are modelled");
  }
  const uint32_t window = shared_window_address(dst);
  // 128 bytes is TMA's own rule; the 128-byte swizzle repeats every 1024, and a box that does
  // not start on that boundary would not be the layout the wgmma descriptors assume.
  if (window % 1024 != 0) trap("cp.async.bulk.tensor: a 128-byte-swizzled box must start on a 1024-byte boundary");
  const unsigned self = cluster_rank();
  if (multicast && cta_mask == 0) {
    trap("cp.async.bulk.tensor multicast: an empty cta_mask (no block would get the box)");
  }
  const uint32_t mask = multicast ? cta_mask : (1u << self);
  if (mask >> cluster_blocks() != 0) trap("cp.async.bulk.tensor multicast: a rank outside the cluster");
  for (uint32_t z = 0; z < map.box[2]; ++z) {
    for (uint32_t y = 0; y < map.box[1]; ++y) {
      for (uint32_t x = 0; x < map.box[0]; ++x) {
        const int64_t g[3] = {int64_t{c[0]} + x, int64_t{c[1]} + y, int64_t{c[2]} + z};
        bool inside = true;
        for (int d = 0; d < 3; ++d) inside = inside && g[d] >= 0 && static_cast<uint64_t>(g[d]) < map.dims[d];
        unsigned char element[8] = {};
        if (inside) {
          const auto* src = static_cast<const unsigned char*>(map.base) + g[0] * eb +
                            static_cast<int64_t>(map.strides[1]) * g[1] + static_cast<int64_t>(map.strides[2]) * g[2];
          std::memcpy(element, src, static_cast<size_t>(eb));
        }
        const uint32_t offset = ((z * map.box[1] + y) * map.box[0] + x) * static_cast<uint32_t>(eb);
        void* local = shared_bytes_at(swizzle_128b(window + offset), static_cast<uint32_t>(eb), "cp.async.bulk.tensor");
        for (unsigned r = 0; r < cluster_blocks(); ++r) {
          if ((mask >> r) & 1u) std::memcpy(block_copy(local, r), element, static_cast<size_t>(eb));
        }
      }
    }
  }
  // The whole box counts against the barrier's transaction bytes, zero-filled elements too.
  const uint64_t box_bytes = uint64_t{map.box[0]} * map.box[1] * map.box[2] * static_cast<uint64_t>(eb);
  std::lock_guard<std::mutex> lock(barrier_mutex());
  for (unsigned r = 0; r < cluster_blocks(); ++r) {
    if ((mask >> r) & 1u) {
      update(static_cast<uint64_t*>(block_copy(bar, r)), 0, -static_cast<int64_t>(box_bytes), "cp.async.bulk.tensor");
    }
  }
}

void wgmma_issue(float* d, int n, bool bf16, int trans_a, int trans_b, uint64_t desc_a, uint64_t desc_b,
                 uint32_t scale_d) {
  if (n % 8 != 0 || n < 8 || n > 256) trap("wgmma: N must be a multiple of 8 in 8..256");
  t_open_group.push_back({d, n, bf16, trans_a, trans_b, desc_a, desc_b, scale_d});
  ++current().unwaited_async_ops;
}

void wgmma_commit() {
  t_committed.push_back(std::move(t_open_group));
  t_open_group.clear();
  ++current().unwaited_async_ops;  // the group itself, so that even an empty one must be waited for
}

void wgmma_wait(int pending) {
  while (t_committed.size() > static_cast<size_t>(pending)) {
    for (const Wgmma& op : t_committed.front()) run(op);
    current().unwaited_async_ops -= static_cast<int>(t_committed.front().size()) + 1;
    t_committed.pop_front();
  }
}

}  // namespace fulgur::simt
