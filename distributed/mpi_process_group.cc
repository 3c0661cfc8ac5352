#include "fulgur/distributed/mpi_process_group.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "fulgur/distributed/init_process_group.h"
#include "fulgur/kernels/error.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::distributed {
namespace {

using Clock = std::chrono::steady_clock;

// Polling (wait_all): MPI_Test in a tight loop for kBusyFor, then yielding the core between
// calls until kSpinFor, then sleeping between calls, 50 us doubling up to 200 us. Open MPI's non-blocking collectives
// (libnbc) only advance inside MPI calls, so a sleep stalls the transfer; spinning first keeps
// a collective whose peers are ready as fast as the blocking call (bench/allreduce.cc measures
// it), and the sleeps keep a rank that waits long for a slow peer from burning its core.
constexpr auto kBusyFor = std::chrono::milliseconds(1);
constexpr auto kSpinFor = std::chrono::milliseconds(100);
constexpr auto kFirstSleep = std::chrono::microseconds(50);
constexpr auto kMaxSleep = std::chrono::microseconds(200);

// MPI counts are int: larger buffers move in chunks of at most this many elements.
constexpr int64_t kMaxChunk = INT_MAX;

enum class Collective : int64_t {
  AllReduce = 1,
  Broadcast,
  AllGather,
  ReduceScatter,
  Barrier,
  AllGatherBytes,
  BroadcastBytes,
};

const char* collective_name(int64_t c) {
  switch (static_cast<Collective>(c)) {
    case Collective::AllReduce: return "all_reduce";
    case Collective::Broadcast: return "broadcast";
    case Collective::AllGather: return "all_gather";
    case Collective::ReduceScatter: return "reduce_scatter";
    case Collective::Barrier: return "barrier";
    case Collective::AllGatherBytes: return "all_gather_bytes";
    case Collective::BroadcastBytes: return "broadcast_bytes";
  }
  return "unknown collective";
}

bool is_bytes_call(int64_t c) {
  return c == static_cast<int64_t>(Collective::AllGatherBytes) ||
         c == static_cast<int64_t>(Collective::BroadcastBytes);
}

// One rank's description of the call it is making: every rank gathers everyone's before any
// data moves (the agreement check). Fixed size, so that the exchange is a single
// MPI_Iallgather; shapes with more than kMetaDims dims are compared through sizes_hash.
constexpr int kMetaDims = 24;
struct CallMeta {
  int64_t collective = 0;
  int64_t reduce_op = -1;  // -1: none
  int64_t root = -1;       // -1: none
  int64_t dtype = -1;      // -1: no tensor (bytes calls, barrier) or an undefined tensor
  int64_t device = 0;      // 0: CPU, 1: CUDA
  int64_t ndim = 0;
  int64_t count = 0;       // numel; byte length for the bytes calls (may differ across ranks)
  int64_t sizes_hash = 0;
  int64_t sizes[kMetaDims] = {};
};
static_assert(sizeof(CallMeta) == 32 * sizeof(int64_t));

bool same_call(const CallMeta& a, const CallMeta& b) {
  if (is_bytes_call(a.collective) || is_bytes_call(b.collective)) {
    return a.collective == b.collective && a.root == b.root;
  }
  return std::memcmp(&a, &b, sizeof(CallMeta)) == 0;
}

std::string describe(const CallMeta& m) {
  std::ostringstream os;
  os << collective_name(m.collective);
  if (m.reduce_op >= 0) os << "(" << to_string(static_cast<ReduceOp>(m.reduce_op)) << ")";
  if (m.root >= 0) os << "(root " << m.root << ")";
  if (is_bytes_call(m.collective)) {
    os << " of " << m.count << " bytes";
  } else if (m.collective != static_cast<int64_t>(Collective::Barrier)) {
    if (m.dtype < 0) {
      os << " of an undefined tensor";
    } else {
      os << " of " << static_cast<DType>(m.dtype) << " [";
      for (int64_t d = 0; d < std::min<int64_t>(m.ndim, kMetaDims); ++d) {
        os << (d > 0 ? ", " : "") << m.sizes[d];
      }
      os << (m.ndim > kMetaDims ? ", ...]" : "]");
      if (m.device == 1) os << " on CUDA";
    }
  }
  return os.str();
}

CallMeta call_meta(Collective c, const Tensor* tensor, std::optional<ReduceOp> op, int root) {
  CallMeta m;
  m.collective = static_cast<int64_t>(c);
  m.reduce_op = op ? static_cast<int64_t>(*op) : -1;
  m.root = root;
  if (tensor != nullptr && tensor->defined()) {
    m.dtype = static_cast<int64_t>(tensor->dtype());
    m.device = tensor->device().is_cuda() ? 1 : 0;
    m.ndim = tensor->dim();
    m.count = tensor->numel();
    uint64_t h = 1469598103934665603ull;  // FNV-1a over the sizes
    for (int64_t d = 0; d < tensor->dim(); ++d) {
      if (d < kMetaDims) m.sizes[d] = tensor->size(d);
      h = (h ^ static_cast<uint64_t>(tensor->size(d))) * 1099511628211ull;
    }
    m.sizes_hash = static_cast<int64_t>(h);
  }
  return m;
}

bool is_16bit_float(DType d) { return d == DType::Float16 || d == DType::BFloat16; }

// The MPI type data moves and reduces in. bool is moved as uint8 and reduced with MAX (any)
// and MIN (all). Float16/BFloat16 never reach an MPI reduction (see reduction_buffer).
MPI_Datatype mpi_type(DType d) {
  switch (d) {
    case DType::Bool: return MPI_UINT8_T;
    case DType::UInt8: return MPI_UINT8_T;
    case DType::Int8: return MPI_INT8_T;
    case DType::Int16: return MPI_INT16_T;
    case DType::Int32: return MPI_INT32_T;
    case DType::Int64: return MPI_INT64_T;
    case DType::Float16: return MPI_UINT16_T;
    case DType::BFloat16: return MPI_UINT16_T;
    case DType::Float32: return MPI_FLOAT;
    case DType::Float64: return MPI_DOUBLE;
  }
  FULGUR_FAIL("mpi_process_group", "unknown dtype ", static_cast<int>(d));
}

MPI_Op mpi_op(ReduceOp op, DType d) {
  if (d == DType::Bool) return op == ReduceOp::Min ? MPI_MIN : MPI_MAX;
  switch (op) {
    case ReduceOp::Sum: return MPI_SUM;
    case ReduceOp::Avg: return MPI_SUM;  // then divided by size()
    case ReduceOp::Max: return MPI_MAX;
    case ReduceOp::Min: return MPI_MIN;
  }
  return MPI_SUM;
}

// The contiguous buffer an MPI reduction runs on. MPI has no 16-bit float types, so float16 and
// bfloat16 are reduced in float32 and rounded back once. (A user-defined MPI_Op adding pairs in
// float32 would keep the wire at 2 bytes but round to 16 bits at every step of MPI's reduction
// tree: n-1 roundings in an order that depends on the algorithm MPI picks. Converting costs
// twice the bytes and one pass each way, and makes the result the float32 sum rounded once,
// whatever the number of ranks. Gradients are float32 in fulgur's mixed precision anyway.)
Tensor reduction_buffer(const Tensor& t) {
  return is_16bit_float(t.dtype()) ? t.to(kFloat32).contiguous() : t.contiguous();
}

// Avg = Sum / size, in the buffer's dtype: truncating division for integers (as torch).
void divide_by(Tensor& buf, int n) {
  if (buf.is_floating_point()) {
    buf.div_(n);
    return;
  }
  visit_dtype(buf.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      T* p = buf.data_ptr<T>();
      const int64_t count = buf.numel();
      for (int64_t i = 0; i < count; ++i) p[i] = static_cast<T>(p[i] / static_cast<T>(n));
    }
  });
}

std::string format_duration(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

std::string mpi_error_string(int rc) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(rc);
  return std::string(text, static_cast<size_t>(len));
}

void check_initialized(const char* op) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  FULGUR_CHECK(initialized && !finalized, op, "MPI is ",
               finalized ? "already finalized" : "not initialized",
               "; hint: call MPI_Init_thread before making a group over your communicator, or ",
               "use init_mpi_process_group() / init_process_group(\"mpi\"), which initialises MPI");
}

class MpiProcessGroup;

class MpiWork : public Work {
 public:
  MpiWork(std::shared_ptr<MpiProcessGroup> group, Tensor tensor, Tensor buffer, ReduceOp op,
          std::vector<MPI_Request> requests, std::string what)
      : group_(std::move(group)),
        tensor_(std::move(tensor)),
        buffer_(std::move(buffer)),
        op_(op),
        requests_(std::move(requests)),
        what_(std::move(what)) {}
  ~MpiWork() override;
  bool test() override;
  void wait() override;

 private:
  void finish();

  std::shared_ptr<MpiProcessGroup> group_;
  Tensor tensor_;  // the caller's tensor
  Tensor buffer_;  // what MPI reduces: tensor_ itself, or its float32 copy
  ReduceOp op_;
  std::vector<MPI_Request> requests_;
  std::string what_;
  bool done_ = false;
};

class MpiProcessGroup : public ProcessGroup, public std::enable_shared_from_this<MpiProcessGroup> {
 public:
  MpiProcessGroup(MPI_Comm comm, ProcessGroupOptions options) : ProcessGroup(options) {
    const char* op = "mpi_process_group";
    check_initialized(op);
    FULGUR_CHECK(comm != MPI_COMM_NULL, op, "the communicator is MPI_COMM_NULL; hint: pass a ",
                 "communicator this process belongs to (MPI_Comm_split gives MPI_COMM_NULL to ",
                 "ranks that passed MPI_UNDEFINED)");
    check(MPI_Comm_rank(comm, &rank_), op);
    check(MPI_Comm_size(comm, &size_), op);
    // Bounded like a collective. The new handle lives on the heap and is leaked on a timeout,
    // since MPI would write it when the late ranks join.
    auto* pending = new MPI_Comm(MPI_COMM_NULL);
    std::vector<MPI_Request> requests(1, MPI_REQUEST_NULL);
    check(MPI_Comm_idup(comm, pending, &requests[0]), op);
    wait_all(requests, op, [] { return std::string("duplicating the communicator"); }, {});
    comm_ = *pending;
    delete pending;
    // Errors come back as codes (then fulgur::Error) instead of killing the job.
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), op);
  }

  ~MpiProcessGroup() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    // After a timeout a request may still be pending on comm_: MPI_Comm_free only marks it
    // for freeing then, which is what we want (the data stays in abandoned_).
    if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  }

  std::string backend() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_reduce(Tensor& tensor, ReduceOp op) override {
    const char* name = "all_reduce";
    const CallMeta m = agree(call_meta(Collective::AllReduce, &tensor, op, -1), name);
    check_reduction(m, name);
    if (m.count == 0) return;
    Tensor buf = reduction_buffer(tensor);
    std::vector<MPI_Request> requests = post_all_reduce(buf, op, tensor.dtype());
    wait_all(requests, name, [&] { return describe(m); }, {buf, tensor});
    if (op == ReduceOp::Avg) divide_by(buf, size_);
    if (!buf.is_same(tensor)) tensor.copy_(buf);
  }

  std::unique_ptr<Work> all_reduce_async(Tensor tensor, ReduceOp op) override {
    const char* name = "all_reduce_async";
    check_usable(name);
    FULGUR_CHECK(tensor.defined(), name, "the tensor is undefined");
    FULGUR_CHECK(tensor.device().is_cpu(), name, not_cuda_aware(tensor));
    FULGUR_CHECK(tensor.is_contiguous(), name, "needs a contiguous tensor, got ", tensor.dtype(),
                 " ", shape_str(tensor.sizes()), " with strides ", shape_str(tensor.strides()),
                 "; hint: pass tensor.contiguous() and copy the result back, or use all_reduce");
    FULGUR_CHECK(!(tensor.dtype() == DType::Bool && op == ReduceOp::Avg), name,
                 "avg of a bool tensor is not defined; hint: use sum (any) or min (all)");
    Tensor buf = reduction_buffer(tensor);
    std::vector<MPI_Request> requests = post_all_reduce(buf, op, tensor.dtype());
    const std::string what = describe(call_meta(Collective::AllReduce, &tensor, op, -1));
    return std::make_unique<MpiWork>(shared_from_this(), tensor, buf, op, std::move(requests),
                                     what);
  }

  void broadcast(Tensor& tensor, int root) override {
    const char* name = "broadcast";
    const CallMeta m = agree(call_meta(Collective::Broadcast, &tensor, std::nullopt, root), name);
    check_tensor(m, name);
    check_root(root, name);
    if (m.count == 0) return;
    Tensor buf = tensor.contiguous();
    std::vector<MPI_Request> requests;
    char* p = static_cast<char*>(buf.data_ptr());
    const int64_t bytes = buf.numel() * static_cast<int64_t>(buf.element_size());
    for (int64_t off = 0; off < bytes; off += kMaxChunk) {
      const int n = static_cast<int>(std::min(kMaxChunk, bytes - off));
      requests.push_back(MPI_REQUEST_NULL);
      check(MPI_Ibcast(p + off, n, MPI_BYTE, root, comm_, &requests.back()), name);
    }
    wait_all(requests, name, [&] { return describe(m); }, {buf, tensor});
    if (!buf.is_same(tensor)) tensor.copy_(buf);
  }

  Tensor all_gather(const Tensor& tensor) override {
    const char* name = "all_gather";
    const CallMeta m = agree(call_meta(Collective::AllGather, &tensor, std::nullopt, -1), name);
    check_tensor(m, name);
    Shape shape = {size_};
    for (int64_t s : tensor.sizes()) shape.push_back(s);
    Tensor out = empty(shape, {.dtype = tensor.dtype()});
    if (m.count == 0) return out;
    FULGUR_CHECK(m.count <= kMaxChunk, name, "tensors of more than 2^31-1 elements are not ",
                 "supported (got ", m.count, "); hint: gather it in pieces");
    Tensor in = tensor.contiguous();
    std::vector<MPI_Request> requests(1, MPI_REQUEST_NULL);
    const MPI_Datatype type = mpi_type(tensor.dtype());
    check(MPI_Iallgather(in.data_ptr(), static_cast<int>(m.count), type, out.data_ptr(),
                         static_cast<int>(m.count), type, comm_, &requests[0]),
          name);
    wait_all(requests, name, [&] { return describe(m); }, {in, out});
    return out;
  }

  Tensor reduce_scatter(const Tensor& input, ReduceOp op) override {
    const char* name = "reduce_scatter";
    const CallMeta m = agree(call_meta(Collective::ReduceScatter, &input, op, -1), name);
    check_reduction(m, name);
    FULGUR_CHECK(input.dim() >= 1 && input.size(0) % size_ == 0, name, "the input's first ",
                 "dimension must be a multiple of the group size ", size_, ", got ",
                 input.dtype(), " ", shape_str(input.sizes()), "; hint: pad it to ",
                 size_, " * k rows");
    Shape shape = input.sizes().vec();
    shape[0] /= size_;
    Tensor out = empty(shape, {.dtype = input.dtype()});
    const int64_t per_rank = m.count / size_;
    if (per_rank == 0) return out;
    FULGUR_CHECK(per_rank <= kMaxChunk, name, "chunks of more than 2^31-1 elements are not ",
                 "supported (got ", per_rank, "); hint: reduce-scatter it in pieces");
    Tensor in = reduction_buffer(input);
    Tensor result = is_16bit_float(input.dtype()) ? empty(shape, {.dtype = kFloat32}) : out;
    std::vector<MPI_Request> requests(1, MPI_REQUEST_NULL);
    check(MPI_Ireduce_scatter_block(in.data_ptr(), result.data_ptr(), static_cast<int>(per_rank),
                                    mpi_type(in.dtype()), mpi_op(op, input.dtype()), comm_,
                                    &requests[0]),
          name);
    wait_all(requests, name, [&] { return describe(m); }, {in, result});
    if (op == ReduceOp::Avg) divide_by(result, size_);
    if (!result.is_same(out)) out.copy_(result);
    return out;
  }

  // The agreement exchange is the barrier: an all-gather cannot complete on any rank before
  // every rank has joined it, and it also checks that every rank is at a barrier.
  void barrier() override {
    agree(call_meta(Collective::Barrier, nullptr, std::nullopt, -1), "barrier");
  }

  std::vector<std::string> all_gather_bytes(const std::string& bytes) override {
    const char* name = "all_gather_bytes";
    CallMeta mine = call_meta(Collective::AllGatherBytes, nullptr, std::nullopt, -1);
    mine.count = static_cast<int64_t>(bytes.size());
    const std::vector<CallMeta> all = agree_all(mine, name);
    std::vector<int> counts(static_cast<size_t>(size_)), displs(static_cast<size_t>(size_));
    int64_t total = 0;
    for (int r = 0; r < size_; ++r) {
      FULGUR_CHECK(total + all[r].count <= kMaxChunk, name, "more than 2^31-1 bytes in all ",
                   "(rank ", r, " brings ", all[r].count, "); hint: gather them in pieces");
      counts[r] = static_cast<int>(all[r].count);
      displs[r] = static_cast<int>(total);
      total += all[r].count;
    }
    // Tensors, not strings: after a timeout the pending request may still use them.
    Tensor send = empty({std::max<int64_t>(1, counts[rank_])}, {.dtype = kUInt8});
    Tensor gathered = empty({std::max<int64_t>(1, total)}, {.dtype = kUInt8});
    std::memcpy(send.data_ptr(), bytes.data(), bytes.size());
    if (total > 0) {
      std::vector<MPI_Request> requests(1, MPI_REQUEST_NULL);
      check(MPI_Iallgatherv(send.data_ptr(), counts[rank_], MPI_BYTE, gathered.data_ptr(),
                            counts.data(), displs.data(), MPI_BYTE, comm_, &requests[0]),
            name);
      wait_all(requests, name, [&] { return describe(mine); }, {send, gathered});
    }
    const char* p = static_cast<const char*>(gathered.data_ptr());
    std::vector<std::string> out;
    for (int r = 0; r < size_; ++r) out.emplace_back(p + displs[r], static_cast<size_t>(counts[r]));
    return out;
  }

  std::string broadcast_bytes(const std::string& bytes, int root) override {
    const char* name = "broadcast_bytes";
    CallMeta mine = call_meta(Collective::BroadcastBytes, nullptr, std::nullopt, root);
    mine.count = static_cast<int64_t>(bytes.size());
    const std::vector<CallMeta> all = agree_all(mine, name);
    check_root(root, name);
    const int64_t length = all[root].count;
    Tensor buf = empty({std::max<int64_t>(1, length)}, {.dtype = kUInt8});
    char* p = static_cast<char*>(buf.data_ptr());
    if (rank_ == root) std::memcpy(p, bytes.data(), bytes.size());
    std::vector<MPI_Request> requests;
    for (int64_t off = 0; off < length; off += kMaxChunk) {
      const int n = static_cast<int>(std::min(kMaxChunk, length - off));
      requests.push_back(MPI_REQUEST_NULL);
      check(MPI_Ibcast(p + off, n, MPI_BYTE, root, comm_, &requests.back()), name);
    }
    wait_all(requests, name, [&] { return describe(mine); }, {buf});
    return std::string(p, static_cast<size_t>(length));
  }

  [[noreturn]] void abort(int exit_code, const std::string& why) override {
    std::fprintf(stderr, "fulgur: rank %d aborting the job: %s\n", rank_, why.c_str());
    std::fflush(stderr);
    std::fflush(stdout);
    MPI_Abort(comm_, exit_code);
    std::_Exit(exit_code);  // MPI_Abort does not return; in case an MPI library does
  }

  // Polls the requests until all are done, or throws after options().timeout (the group is
  // then broken; `in_use` is kept alive because MPI may still write into it).
  // `what` (a callable giving the call's description) only runs for the timeout message.
  template <typename What>
  void wait_all(std::vector<MPI_Request>& requests, const char* op, const What& what,
                std::initializer_list<Tensor> in_use) {
    const auto start = Clock::now();
    const auto deadline = start + options().timeout;
    auto sleep = kFirstSleep;
    for (uint64_t polls = 0;; ++polls) {
      int done = 0;
      const int rc = MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done,
                                 MPI_STATUSES_IGNORE);
      if (rc != MPI_SUCCESS) {
        for (const Tensor& t : in_use) abandoned_.push_back(t);
        mark_broken();
        check(rc, op);
      }
      if (done) return;
      const auto now = Clock::now();
      if (now >= deadline) {
        for (const Tensor& t : in_use) abandoned_.push_back(t);
        mark_broken();
        FULGUR_FAIL(op, "timed out after ", format_duration(options().timeout), " on rank ",
                    rank_, " of ", size_, " (", what(), "); the group is now broken; hint: ",
                    "another rank failed, exited, or is not calling the same collective in the ",
                    "same order; end the job with ProcessGroup::abort, since the other ranks ",
                    "may still be waiting");
      }
      if (now - start < kBusyFor) {
        continue;
      } else if (now - start < kSpinFor) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(sleep);
        sleep = std::min(sleep * 2, kMaxSleep);
      }
    }
  }

  void check(int rc, const char* op) {
    if (rc == MPI_SUCCESS) return;
    mark_broken();
    FULGUR_FAIL(op, "MPI error on rank ", rank_, " of ", size_, ": ", mpi_error_string(rc),
                "; hint: another rank may have failed; end the job with ProcessGroup::abort");
  }

  void check_usable(const char* op) const {
    FULGUR_CHECK(!broken(), op, "the process group is broken (an earlier collective failed or ",
                 "timed out on rank ", rank_, "); hint: end the job with ProcessGroup::abort");
  }

 private:
  static std::string not_cuda_aware(const Tensor& t) {
    return detail::str_cat("got a ", t.device().str(), " tensor; the MPI backend works on CPU ",
                           "tensors only (MPI here is not assumed CUDA-aware); hint: use the ",
                           "NCCL backend (distributed/nccl_process_group.h) for CUDA tensors, ",
                           "or move the tensor to the CPU");
  }

  // Gathers every rank's CallMeta; throws on every rank alike when they differ.
  std::vector<CallMeta> agree_all(const CallMeta& mine, const char* op) {
    check_usable(op);
    // Tensors, not locals: after a timeout the pending request may still write into them.
    const int64_t meta_bytes = sizeof(CallMeta);
    Tensor send = empty({meta_bytes}, {.dtype = kUInt8});
    Tensor recv = empty({size_ * meta_bytes}, {.dtype = kUInt8});
    std::memcpy(send.data_ptr(), &mine, sizeof(CallMeta));
    std::vector<MPI_Request> requests(1, MPI_REQUEST_NULL);
    check(MPI_Iallgather(send.data_ptr(), sizeof(CallMeta), MPI_BYTE, recv.data_ptr(),
                         sizeof(CallMeta), MPI_BYTE, comm_, &requests[0]),
          op);
    wait_all(requests, op, [&] { return describe(mine); }, {send, recv});
    std::vector<CallMeta> all(static_cast<size_t>(size_));
    std::memcpy(all.data(), recv.data_ptr(), all.size() * sizeof(CallMeta));
    std::vector<int> differing;
    for (int r = 1; r < size_; ++r) {
      if (!same_call(all[r], all[0])) differing.push_back(r);
    }
    if (!differing.empty()) {
      std::ostringstream os;
      os << "the ranks' calls do not agree: rank 0: " << describe(all[0]);
      const size_t shown = std::min<size_t>(differing.size(), 8);
      for (size_t i = 0; i < shown; ++i) {
        os << "; rank " << differing[i] << ": " << describe(all[differing[i]]);
      }
      if (differing.size() > shown) os << "; and " << differing.size() - shown << " more ranks";
      os << "; hint: every rank must call the same collectives in the same order, with tensors "
            "of the same dtype and shape (and the same op and root)";
      FULGUR_FAIL(op, os.str());
    }
    return all;
  }

  CallMeta agree(const CallMeta& mine, const char* op) { return agree_all(mine, op)[0]; }

  // Checks made after the exchange from what every rank agreed on, so that all ranks throw.
  void check_tensor(const CallMeta& m, const char* op) const {
    FULGUR_CHECK(m.dtype >= 0, op, "the tensor is undefined (on every rank)");
    FULGUR_CHECK(m.device == 0, op, "got a CUDA tensor; the MPI backend works on CPU tensors ",
                 "only (MPI here is not assumed CUDA-aware); hint: use the NCCL backend ",
                 "(distributed/nccl_process_group.h) for CUDA tensors, or move the tensor to ",
                 "the CPU");
  }
  void check_reduction(const CallMeta& m, const char* op) const {
    check_tensor(m, op);
    FULGUR_CHECK(!(m.dtype == static_cast<int64_t>(DType::Bool) &&
                   m.reduce_op == static_cast<int64_t>(ReduceOp::Avg)),
                 op, "avg of a bool tensor is not defined; hint: use sum (any) or min (all)");
  }
  void check_root(int root, const char* op) const {
    FULGUR_CHECK(root >= 0 && root < size_, op, "root ", root, " is not a rank of this group of ",
                 size_, "; hint: a root in [0, ", size_ - 1, "]");
  }

  std::vector<MPI_Request> post_all_reduce(Tensor& buf, ReduceOp op, DType original) {
    std::vector<MPI_Request> requests;
    const MPI_Datatype type = mpi_type(buf.dtype());
    const MPI_Op mop = mpi_op(op, original);
    char* p = static_cast<char*>(buf.data_ptr());
    const int64_t count = buf.numel();
    for (int64_t off = 0; off < count; off += kMaxChunk) {
      const int n = static_cast<int>(std::min(kMaxChunk, count - off));
      requests.push_back(MPI_REQUEST_NULL);
      check(MPI_Iallreduce(MPI_IN_PLACE, p + off * static_cast<int64_t>(buf.element_size()), n,
                           type, mop, comm_, &requests.back()),
            "all_reduce");
    }
    return requests;
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  std::vector<Tensor> abandoned_;  // buffers of requests still pending after a timeout

  friend class MpiWork;
};

MpiWork::~MpiWork() {
  if (done_ || group_->broken()) return;
  try {
    wait();
  } catch (const Error& e) {
    std::fprintf(stderr, "fulgur: an unfinished all_reduce_async Work was destroyed and its wait "
                         "failed: %s\n", e.what());
  }
}

bool MpiWork::test() {
  if (done_) return true;
  group_->check_usable("Work::test");
  int done = 0;
  const int rc = MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done,
                             MPI_STATUSES_IGNORE);
  group_->check(rc, "Work::test");
  if (done) finish();
  return done_;
}

void MpiWork::wait() {
  if (done_) return;
  group_->check_usable("Work::wait");
  group_->wait_all(requests_, "all_reduce_async", [&] { return what_; }, {buffer_, tensor_});
  finish();
}

void MpiWork::finish() {
  if (op_ == ReduceOp::Avg) divide_by(buffer_, group_->size());
  if (!buffer_.is_same(tensor_)) tensor_.copy_(buffer_);
  done_ = true;
}

std::mutex g_init_mutex;
bool g_initialized_by_fulgur = false;

void finalize_mpi_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace

std::shared_ptr<ProcessGroup> mpi_process_group(MPI_Comm comm, ProcessGroupOptions options) {
  return std::make_shared<MpiProcessGroup>(comm, options);
}

std::shared_ptr<ProcessGroup> init_mpi_process_group(ProcessGroupOptions options) {
  {
    std::lock_guard<std::mutex> lock(g_init_mutex);
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    FULGUR_CHECK(!finalized, "init_mpi_process_group", "MPI was already finalized in this ",
                 "process and cannot be initialised again; hint: make the group before ",
                 "MPI_Finalize");
    if (!initialized) {
      // Open MPI's libnbc picks a binomial tree for MPI_Iallreduce below 4 ranks and for
      // every MPI_IN_PLACE call (ours are in place): a reduce then a broadcast of the whole
      // buffer, about half the bus bandwidth of the blocking MPI_Allreduce at 2 ranks
      // (docs/PERFORMANCE.md, "Distributed (MPI)"). Ask for reduce-scatter + all-gather
      // (Rabenseifner: log p steps, bandwidth-optimal; libnbc falls back to its ring when the
      // count is below the power of two under p) unless the user chose. Only here, where
      // fulgur initialises MPI: a host that initialises MPI sets its own MCA parameters.
      setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "3", /*overwrite=*/0);
      int provided = 0;
      const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
      FULGUR_CHECK(rc == MPI_SUCCESS, "init_mpi_process_group", "MPI_Init_thread failed: ",
                   mpi_error_string(rc), "; hint: run under mpirun or srun");
      g_initialized_by_fulgur = true;
      std::atexit(finalize_mpi_at_exit);
    }
  }
  return mpi_process_group(MPI_COMM_WORLD, options);
}

bool mpi_is_initialized() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

bool mpi_initialized_by_fulgur() {
  std::lock_guard<std::mutex> lock(g_init_mutex);
  return g_initialized_by_fulgur;
}

std::shared_ptr<ProcessGroup> init_process_group(const std::string& backend,
                                                 ProcessGroupOptions options) {
  FULGUR_CHECK(backend == "mpi", "init_process_group", "unknown backend '",
               printable(backend, 60, true), "'; hint: \"mpi\" (the NCCL backend is made over ",
               "an MPI group: distributed/nccl_process_group.h)");
  return init_mpi_process_group(options);
}

}  // namespace fulgur::distributed
