#include "fulgur/kernels/cuda/stream.h"

#include <string>
#include <utility>
#include <vector>

#if FULGUR_WITH_CUDA
#include <cuda_runtime.h>
#endif

#include "fulgur/kernels/cuda/cuda_check.h"
#include "fulgur/kernels/cuda/runtime.h"
#include "fulgur/kernels/error.h"

namespace fulgur::cuda {
namespace {

#if !FULGUR_WITH_CUDA
// Without a toolkit, require_device throws before any of these is reached.
[[noreturn]] void no_cuda(const char* op) { FULGUR_FAIL(op, "built without CUDA"); }
#endif

void require_any_device(const char* op) { require_device(0, op); }

// Per thread, per device: the current stream. Unset entries mean the default stream.
std::vector<Stream>& thread_streams() {
  thread_local std::vector<Stream> streams;
  if (streams.empty()) {
    for (int d = 0; d < device_count(); ++d) streams.push_back(Stream::default_stream(d));
  }
  return streams;
}

}  // namespace

int current_device() {
  require_any_device("cuda::current_device");
#if FULGUR_WITH_CUDA
  int device = 0;
  cuda_check(cudaGetDevice(&device), "cudaGetDevice");
  return device;
#else
  no_cuda("cuda::current_device");
#endif
}

void set_device(int device) {
  require_device(device, "cuda::set_device");
#if FULGUR_WITH_CUDA
  cuda_check(cudaSetDevice(device), "cudaSetDevice", "device " + std::to_string(device));
#endif
}

void synchronize_device(int device) {
  DeviceGuard guard(device);
#if FULGUR_WITH_CUDA
  // An error of earlier asynchronous work (a failed launch) is reported here.
  cuda_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize",
             "device " + std::to_string(device) + " (an error of earlier asynchronous work)");
#endif
}

void synchronize_device() { synchronize_device(current_device()); }

DeviceGuard::DeviceGuard(int device) : previous_(current_device()), device_(device) {
  if (device != previous_) set_device(device);
}

DeviceGuard::~DeviceGuard() {
#if FULGUR_WITH_CUDA
  // No throwing from a destructor; the device existed when the guard was made.
  if (device_ != previous_) cudaSetDevice(previous_);
#endif
}

Stream Stream::default_stream(int device) {
  require_device(device, "cuda::Stream::default_stream");
  return Stream(device, nullptr, nullptr);
}

Stream Stream::create(int device, int priority) {
  DeviceGuard guard(device);
#if FULGUR_WITH_CUDA
  cudaStream_t s = nullptr;
  cuda_check(cudaStreamCreateWithPriority(&s, cudaStreamNonBlocking, priority), "cudaStreamCreateWithPriority",
             "device " + std::to_string(device) + ", priority " + std::to_string(priority));
  std::shared_ptr<void> owner(s, [device](void* h) {
    // Destroying a stream with queued work is allowed: CUDA releases it when the work is done.
    int previous = 0;
    cudaGetDevice(&previous);
    cudaSetDevice(device);
    cudaStreamDestroy(static_cast<cudaStream_t>(h));
    cudaSetDevice(previous);
  });
  return Stream(device, s, std::move(owner));
#else
  (void)priority;
  no_cuda("cuda::Stream::create");
#endif
}

bool Stream::query() const {
#if FULGUR_WITH_CUDA
  const cudaError_t err = cudaStreamQuery(static_cast<cudaStream_t>(handle_));
  if (err == cudaErrorNotReady) {
    cudaGetLastError();  // not an error: the work is still running
    return false;
  }
  cuda_check(err, "cudaStreamQuery", "device " + std::to_string(device_));
  return true;
#else
  no_cuda("cuda::Stream::query");
#endif
}

void Stream::synchronize() const {
#if FULGUR_WITH_CUDA
  cuda_check(cudaStreamSynchronize(static_cast<cudaStream_t>(handle_)), "cudaStreamSynchronize",
             "device " + std::to_string(device_) + " (an error of earlier asynchronous work on this stream)");
#else
  no_cuda("cuda::Stream::synchronize");
#endif
}

Stream current_stream(int device) {
  require_device(device, "cuda::current_stream");
  return thread_streams()[static_cast<size_t>(device)];
}

Stream current_stream() { return current_stream(current_device()); }

void set_current_stream(const Stream& stream) {
  require_device(stream.device(), "cuda::set_current_stream");
  thread_streams()[static_cast<size_t>(stream.device())] = stream;
}

StreamGuard::StreamGuard(const Stream& stream) : previous_(current_stream(stream.device())) {
  set_current_stream(stream);
}

StreamGuard::~StreamGuard() { thread_streams()[static_cast<size_t>(previous_.device())] = previous_; }

Event::~Event() { destroy(); }

Event::Event(Event&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)),
      device_(std::exchange(other.device_, -1)),
      timing_(other.timing_) {}

Event& Event::operator=(Event&& other) noexcept {
  if (this != &other) {
    destroy();
    handle_ = std::exchange(other.handle_, nullptr);
    device_ = std::exchange(other.device_, -1);
    timing_ = other.timing_;
  }
  return *this;
}

void Event::destroy() noexcept {
#if FULGUR_WITH_CUDA
  if (handle_ != nullptr) cudaEventDestroy(static_cast<cudaEvent_t>(handle_));
#endif
  handle_ = nullptr;
}

void Event::record(const Stream& stream) {
  FULGUR_CHECK(handle_ == nullptr || device_ == stream.device(), "cuda::Event::record",
               "the event belongs to device ", device_, " and cannot be recorded on a stream of device ",
               stream.device(), "; hint: use one Event per device");
  DeviceGuard guard(stream.device());
#if FULGUR_WITH_CUDA
  if (handle_ == nullptr) {
    cudaEvent_t e = nullptr;
    cuda_check(cudaEventCreateWithFlags(&e, timing_ ? cudaEventDefault : cudaEventDisableTiming),
               "cudaEventCreateWithFlags", "device " + std::to_string(stream.device()));
    handle_ = e;
    device_ = stream.device();
  }
  cuda_check(cudaEventRecord(static_cast<cudaEvent_t>(handle_), static_cast<cudaStream_t>(stream.handle())),
             "cudaEventRecord", "device " + std::to_string(device_));
#endif
}

bool Event::query() const {
  if (handle_ == nullptr) return true;
#if FULGUR_WITH_CUDA
  const cudaError_t err = cudaEventQuery(static_cast<cudaEvent_t>(handle_));
  if (err == cudaErrorNotReady) {
    cudaGetLastError();  // not an error: the work is still running
    return false;
  }
  cuda_check(err, "cudaEventQuery", "device " + std::to_string(device_));
#endif
  return true;
}

void Event::synchronize() const {
  if (handle_ == nullptr) return;
#if FULGUR_WITH_CUDA
  cuda_check(cudaEventSynchronize(static_cast<cudaEvent_t>(handle_)), "cudaEventSynchronize",
             "device " + std::to_string(device_) + " (an error of earlier asynchronous work)");
#endif
}

float Event::elapsed_ms(const Event& end) const {
  FULGUR_CHECK(handle_ != nullptr && end.handle_ != nullptr, "cuda::Event::elapsed_ms",
               "both events must be recorded first (start recorded: ", handle_ != nullptr,
               ", end recorded: ", end.handle_ != nullptr, ")");
  FULGUR_CHECK(timing_ && end.timing_, "cuda::Event::elapsed_ms",
               "both events need timing; hint: construct them as Event(/*enable_timing=*/true)");
#if FULGUR_WITH_CUDA
  float ms = 0;
  cuda_check(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(handle_), static_cast<cudaEvent_t>(end.handle_)),
             "cudaEventElapsedTime", "hint: synchronize the end event first; both must be on the same device");
  return ms;
#else
  no_cuda("cuda::Event::elapsed_ms");
#endif
}

}  // namespace fulgur::cuda
