#include "fulgur/distributed/nccl_process_group.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

#if FULGUR_WITH_NCCL
#include <cuda_runtime.h>
#include <nccl.h>
#endif

#include "fulgur/kernels/cuda/cuda_check.h"
#include "fulgur/kernels/cuda/runtime.h"
#include "fulgur/kernels/error.h"
#include "fulgur/tensor/shape.h"

namespace fulgur::distributed {
namespace {

using Clock = std::chrono::steady_clock;

// The bootstrap exchange: every rank says whether it can take part; rank 0 adds the NCCL id.
constexpr char kReady[] = "ready:";
constexpr char kCannot[] = "cannot:";

std::string describe(int64_t count, DType dtype) {
  return detail::str_cat(count, " elements of ", dtype_name(dtype));
}

std::string describe(int64_t count, DType dtype, ReduceOp op) {
  return detail::str_cat(describe(count, dtype), " (", to_string(op), ")");
}

// Polls with a short spin first (a collective of a few KB finishes in microseconds), then sleeps
// so that a long wait does not take a core away from the rest of the process.
class Backoff {
 public:
  void pause() {
    if (++polls_ < 1000) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

 private:
  int polls_ = 0;
};

#if FULGUR_WITH_NCCL
std::string seconds_str(std::chrono::milliseconds ms) {
  const auto count = ms.count();
  if (count % 1000 == 0) return std::to_string(count / 1000) + " s";
  return detail::str_cat(static_cast<double>(count) / 1000.0, " s");
}

ncclComm_t as_comm(void* comm) {
  return static_cast<ncclComm_t>(comm);
}
cudaStream_t as_stream(cuda::StreamHandle stream) {
  return static_cast<cudaStream_t>(stream);
}

ncclDataType_t nccl_dtype(DType dtype, const char* op) {
  switch (dtype) {
    case DType::Float32: return ncclFloat32;
    case DType::Float64: return ncclFloat64;
    case DType::BFloat16: return ncclBfloat16;
    case DType::Float16: return ncclFloat16;
    case DType::Int32: return ncclInt32;
    case DType::Int64: return ncclInt64;
    case DType::UInt8: return ncclUint8;
    case DType::Int8: return ncclInt8;
    case DType::Bool: return ncclUint8;  // one byte, 0 or 1
    case DType::Int16: break;
  }
  FULGUR_FAIL(op, "NCCL has no ", dtype_name(dtype),
              " type; hint: convert to int32 first (NCCL: float32/64, bfloat16, float16, int32/64, uint8, int8, "
              "bool)");
}

ncclRedOp_t nccl_op(ReduceOp op, DType dtype, const char* name) {
  if (dtype == DType::Bool) {
    // torch's rule for bool: Sum and Max are "any", Min is "all"; a sum of uint8 could wrap.
    FULGUR_CHECK(op != ReduceOp::Avg, name, "avg is not defined for bool tensors; hint: sum (any), max, min (all)");
    return op == ReduceOp::Min ? ncclMin : ncclMax;
  }
  switch (op) {
    case ReduceOp::Sum: return ncclSum;
    case ReduceOp::Avg: return ncclAvg;
    case ReduceOp::Max: return ncclMax;
    case ReduceOp::Min: return ncclMin;
  }
  FULGUR_FAIL(name, "unknown reduce op ", static_cast<int>(op));
}

std::string nccl_error(ncclResult_t result, ncclComm_t comm) {
  std::string message = detail::str_cat("NCCL error ", static_cast<int>(result), " (", ncclGetErrorString(result), ")");
  const char* last = ncclGetLastError(comm);
  if (last != nullptr && last[0] != '\0') message += detail::str_cat(": ", last);
  return message;
}
#else
[[noreturn]] void no_nccl(const char* op) {
  FULGUR_FAIL(op, nccl_unavailable_reason());
}
#endif

}  // namespace

bool nccl_is_available() {
  return FULGUR_WITH_NCCL != 0;
}

std::string nccl_unavailable_reason() {
#if FULGUR_WITH_NCCL
  return "";
#elif FULGUR_WITH_CUDA
  return "built without NCCL: the CUDA toolkit found at configure time has no libnccl.so (install NCCL into "
         "it, then `bazel sync --only=local_cuda`)";
#else
  return "built without NCCL: no CUDA toolkit at configure time, or CUDA switched off (--config=cpu_only, "
         "FULGUR_NO_CUDA=1)";
#endif
}

std::string nccl_version() {
#if FULGUR_WITH_NCCL
  int code = 0;
  if (ncclGetVersion(&code) != ncclSuccess) return "";
  // NCCL_VERSION(X, Y, Z) is X * 10000 + Y * 100 + Z since 2.9 (X * 1000 + Y * 100 + Z before).
  if (code >= 10000) return detail::str_cat(code / 10000, ".", code / 100 % 100, ".", code % 100);
  return detail::str_cat(code / 1000, ".", code / 100 % 10, ".", code % 100);
#else
  return "";
#endif
}

NcclProcessGroup::NcclProcessGroup(PrivateTag, std::shared_ptr<ProcessGroup> bootstrap, int device,
                                   ProcessGroupOptions options)
    : ProcessGroup(options), bootstrap_(std::move(bootstrap)), device_(device) {
  const char* op = "nccl_process_group";
  FULGUR_CHECK(nccl_is_available(), op, nccl_unavailable_reason());
  FULGUR_CHECK(bootstrap_ != nullptr, op,
               "the bootstrap group is null; hint: pass the MPI group (mpi_process_group) or, for one process, "
               "std::make_shared<SelfProcessGroup>()");
  FULGUR_CHECK(!bootstrap_->broken(), op, "the bootstrap group is broken (an earlier collective on it failed)");
  FULGUR_CHECK(options.timeout.count() > 0, op, "options.timeout must be positive, got ", options.timeout.count(),
               " ms");
  rank_ = bootstrap_->rank();
  size_ = bootstrap_->size();

#if FULGUR_WITH_NCCL
  // 1. Every rank checks its device; rank 0 also makes the id. Errors are not thrown yet: they
  //    travel in the exchange so that every rank fails, naming the rank that could not start.
  std::string mine;
  try {
    cuda::require_device(device, op);
    if (rank_ == 0) {
      ncclUniqueId id;
      const ncclResult_t r = ncclGetUniqueId(&id);
      FULGUR_CHECK(r == ncclSuccess, op, "ncclGetUniqueId: ", nccl_error(r, nullptr));
      mine = kReady + std::string(id.internal, sizeof(id.internal));
    } else {
      mine = kReady;
    }
  } catch (const Error& e) {
    mine = kCannot + std::string(e.what());
  }
  const std::vector<std::string> all = bootstrap_->all_gather_bytes(mine);
  FULGUR_CHECK(static_cast<int>(all.size()) == size_, op, "the bootstrap group returned ", all.size(), " entries for ",
               size_, " ranks");
  std::string failures;
  for (int r = 0; r < size_; ++r) {
    if (all[static_cast<size_t>(r)].rfind(kCannot, 0) == 0) {
      failures += detail::str_cat("\n  rank ", r, ": ", all[static_cast<size_t>(r)].substr(sizeof(kCannot) - 1));
    }
  }
  FULGUR_CHECK(failures.empty(), op, "cannot create the NCCL communicator of ", size_, " rank(s) on device ", device,
               " of rank ", rank_, "; ranks that could not take part:", failures);
  const std::string& from_root = all[0];
  ncclUniqueId id;
  FULGUR_CHECK(from_root.size() == sizeof(kReady) - 1 + sizeof(id.internal), op, "rank 0 sent an NCCL id of ",
               from_root.size(), " bytes, expected ", sizeof(id.internal),
               "; hint: every rank must run the same build");
  std::memcpy(id.internal, from_root.data() + sizeof(kReady) - 1, sizeof(id.internal));

  // 2. A non-blocking communicator: initialisation and later calls return ncclInProgress
  //    instead of blocking, so a missing peer ends in our timeout rather than a hang.
  cuda::DeviceGuard guard(device_);
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclComm_t comm = nullptr;
  const ncclResult_t r = ncclCommInitRankConfig(&comm, size_, id, rank_, &config);
  comm_ = comm;
  if (r != ncclSuccess && r != ncclInProgress) {
    fail(detail::str_cat(op, ": ncclCommInitRankConfig failed on ", where(), ": ", nccl_error(r, comm)));
  }
  settle(r, op, "ncclCommInitRankConfig");

  // 3. What barrier() needs: 4 bytes of device memory and a stream of our own.
  try {
    cuda::cuda_check(cudaMalloc(&scratch_, 4), "cudaMalloc", "4 bytes for NcclProcessGroup::barrier");
    cuda::cuda_check(cudaMemset(scratch_, 0, 4), "cudaMemset", "NcclProcessGroup::barrier's scratch");
    stream_ = cuda::Stream::create(device_);
  } catch (...) {
    if (scratch_ != nullptr) cudaFree(scratch_);
    scratch_ = nullptr;
    ncclCommAbort(as_comm(comm_));
    comm_ = nullptr;
    throw;
  }
#endif
}

NcclProcessGroup::~NcclProcessGroup() {
#if FULGUR_WITH_NCCL
  if (comm_ != nullptr) {
    // Finalize flushes what is still queued and waits for the peers; bounded like a collective.
    ncclComm_t comm = as_comm(comm_);
    ncclResult_t state = ncclCommFinalize(comm);
    const auto deadline = Clock::now() + options().timeout;
    Backoff backoff;
    while (state == ncclInProgress && Clock::now() < deadline) {
      backoff.pause();
      if (ncclCommGetAsyncError(comm, &state) != ncclSuccess) break;
    }
    if (state == ncclSuccess) {
      ncclCommDestroy(comm);
    } else {
      ncclCommAbort(comm);
    }
    comm_ = nullptr;
  }
  if (scratch_ != nullptr) {
    // Plain runtime calls (a destructor must not throw): free on our device, restore the caller's.
    int previous = device_;
    cudaGetDevice(&previous);
    cudaSetDevice(device_);
    cudaFree(scratch_);
    cudaSetDevice(previous);
  }
#endif
}

std::string NcclProcessGroup::where() const {
  return detail::str_cat("rank ", rank_, " of ", size_, " (cuda:", device_, ")");
}

void NcclProcessGroup::check_usable(const char* op) const {
  FULGUR_CHECK(!broken(), op, "the NCCL group is broken (an earlier collective failed or timed out on ", where(),
               "); hint: end the job with abort(), the other ranks may still be waiting");
}

void NcclProcessGroup::fail(const std::string& message) {
#if FULGUR_WITH_NCCL
  // Abort first: kernels of this communicator may be spinning on a peer that will never come.
  if (comm_ != nullptr) ncclCommAbort(as_comm(comm_));
#endif
  comm_ = nullptr;
  mark_broken();
  throw Error(message);
}

void NcclProcessGroup::settle(int result, const char* op, const std::string& what) {
#if FULGUR_WITH_NCCL
  ncclResult_t state = static_cast<ncclResult_t>(result);
  if (state == ncclSuccess) return;
  ncclComm_t comm = as_comm(comm_);
  if (state != ncclInProgress) {
    fail(detail::str_cat(op, ": ", nccl_error(state, comm), " on ", where(), "; ", what));
  }
  const auto deadline = Clock::now() + options().timeout;
  Backoff backoff;
  while (true) {
    const ncclResult_t query = ncclCommGetAsyncError(comm, &state);
    if (query != ncclSuccess) state = query;
    if (state == ncclSuccess) return;
    if (state != ncclInProgress) fail(detail::str_cat(op, ": ", nccl_error(state, comm), " on ", where(), "; ", what));
    if (Clock::now() >= deadline) {
      fail(detail::str_cat(op, ": timed out after ", seconds_str(options().timeout), " on ", where(), " (", what,
                           " still in progress); the NCCL communicator was aborted. hint: another rank failed or "
                           "did not make the same call; end the job with abort()"));
    }
    backoff.pause();
  }
#else
  no_nccl(op);
#endif
}

void NcclProcessGroup::wait(cuda::StreamHandle stream) {
  const char* op = "NcclProcessGroup::wait";
  check_usable(op);
#if FULGUR_WITH_NCCL
  cuda::DeviceGuard guard(device_);
  ncclComm_t comm = as_comm(comm_);
  const auto deadline = Clock::now() + options().timeout;
  Backoff backoff;
  while (true) {
    const cudaError_t done = cudaStreamQuery(as_stream(stream));
    if (done == cudaSuccess) return;
    if (done != cudaErrorNotReady) {
      cudaGetLastError();
      mark_broken();
      cuda::cuda_check(done, "cudaStreamQuery", detail::str_cat(op, " on ", where()));
    }
    ncclResult_t state = ncclSuccess;
    const ncclResult_t query = ncclCommGetAsyncError(comm, &state);
    if (query != ncclSuccess) state = query;
    if (state != ncclSuccess && state != ncclInProgress) {
      fail(detail::str_cat(op, ": ", nccl_error(state, comm), " on ", where()));
    }
    if (Clock::now() >= deadline) {
      fail(detail::str_cat(op, ": timed out after ", seconds_str(options().timeout), " on ", where(),
                           " (the stream's work, collectives included, is not done); the NCCL communicator was "
                           "aborted. hint: another rank failed or did not make the same calls; end the job with "
                           "abort()"));
    }
    backoff.pause();
  }
#else
  no_nccl(op);
#endif
}

void NcclProcessGroup::all_reduce(void* device_data, int64_t count, DType dtype, ReduceOp op,
                                  cuda::StreamHandle stream) {
  const char* name = "NcclProcessGroup::all_reduce";
  check_usable(name);
  FULGUR_CHECK(count >= 0, name, "count must be non-negative, got ", count);
  FULGUR_CHECK(device_data != nullptr || count == 0, name, "device_data is null for ", describe(count, dtype));
#if FULGUR_WITH_NCCL
  const ncclDataType_t type = nccl_dtype(dtype, name);
  const ncclRedOp_t red = nccl_op(op, dtype, name);
  if (count == 0) return;  // nothing moves; NCCL would not synchronise the ranks either
  cuda::DeviceGuard guard(device_);
  settle(
      ncclAllReduce(device_data, device_data, static_cast<size_t>(count), type, red, as_comm(comm_), as_stream(stream)),
      name, "all_reduce of " + describe(count, dtype, op));
#else
  no_nccl(name);
#endif
}

void NcclProcessGroup::broadcast(void* device_data, int64_t count, DType dtype, int root, cuda::StreamHandle stream) {
  const char* name = "NcclProcessGroup::broadcast";
  check_usable(name);
  FULGUR_CHECK(count >= 0, name, "count must be non-negative, got ", count);
  FULGUR_CHECK(device_data != nullptr || count == 0, name, "device_data is null for ", describe(count, dtype));
  FULGUR_CHECK(root >= 0 && root < size_, name, "root ", root, " is not a rank of this group (world size ", size_, ")");
#if FULGUR_WITH_NCCL
  const ncclDataType_t type = nccl_dtype(dtype, name);
  if (count == 0) return;
  cuda::DeviceGuard guard(device_);
  settle(ncclBroadcast(device_data, device_data, static_cast<size_t>(count), type, root, as_comm(comm_),
                       as_stream(stream)),
         name, detail::str_cat("broadcast of ", describe(count, dtype), " from rank ", root));
#else
  no_nccl(name);
#endif
}

void NcclProcessGroup::all_gather(const void* device_input, void* device_output, int64_t count, DType dtype,
                                  cuda::StreamHandle stream) {
  const char* name = "NcclProcessGroup::all_gather";
  check_usable(name);
  FULGUR_CHECK(count >= 0, name, "count must be non-negative, got ", count);
  FULGUR_CHECK((device_input != nullptr && device_output != nullptr) || count == 0, name, "a null device buffer for ",
               describe(count, dtype));
#if FULGUR_WITH_NCCL
  const ncclDataType_t type = nccl_dtype(dtype, name);
  if (count == 0) return;
  cuda::DeviceGuard guard(device_);
  settle(
      ncclAllGather(device_input, device_output, static_cast<size_t>(count), type, as_comm(comm_), as_stream(stream)),
      name, detail::str_cat("all_gather of ", describe(count, dtype), " per rank"));
#else
  no_nccl(name);
#endif
}

void NcclProcessGroup::reduce_scatter(const void* device_input, void* device_output, int64_t count, DType dtype,
                                      ReduceOp op, cuda::StreamHandle stream) {
  const char* name = "NcclProcessGroup::reduce_scatter";
  check_usable(name);
  FULGUR_CHECK(count >= 0, name, "count must be non-negative, got ", count);
  FULGUR_CHECK((device_input != nullptr && device_output != nullptr) || count == 0, name, "a null device buffer for ",
               describe(count, dtype, op));
#if FULGUR_WITH_NCCL
  const ncclDataType_t type = nccl_dtype(dtype, name);
  const ncclRedOp_t red = nccl_op(op, dtype, name);
  if (count == 0) return;
  cuda::DeviceGuard guard(device_);
  settle(ncclReduceScatter(device_input, device_output, static_cast<size_t>(count), type, red, as_comm(comm_),
                           as_stream(stream)),
         name, detail::str_cat("reduce_scatter to ", describe(count, dtype, op), " per rank"));
#else
  no_nccl(name);
#endif
}

void NcclProcessGroup::barrier() {
  const char* name = "NcclProcessGroup::barrier";
  check_usable(name);
#if FULGUR_WITH_NCCL
  all_reduce(scratch_, 1, DType::Int32, ReduceOp::Sum, stream_->handle());
  wait(stream_->handle());
#else
  no_nccl(name);
#endif
}

std::vector<std::string> NcclProcessGroup::all_gather_bytes(const std::string& bytes) {
  return bootstrap_->all_gather_bytes(bytes);
}

std::string NcclProcessGroup::broadcast_bytes(const std::string& bytes, int root) {
  return bootstrap_->broadcast_bytes(bytes, root);
}

void NcclProcessGroup::abort(int exit_code, const std::string& why) {
#if FULGUR_WITH_NCCL
  if (comm_ != nullptr) ncclCommAbort(as_comm(comm_));
#endif
  comm_ = nullptr;
  bootstrap_->abort(exit_code, why);
  std::_Exit(exit_code);  // not reached: abort() ends the process in every backend
}

std::shared_ptr<NcclProcessGroup> nccl_process_group(std::shared_ptr<ProcessGroup> bootstrap, int device,
                                                     ProcessGroupOptions options) {
  return std::make_shared<NcclProcessGroup>(NcclProcessGroup::PrivateTag{}, std::move(bootstrap), device, options);
}

}  // namespace fulgur::distributed
