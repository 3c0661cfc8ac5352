// Temporary device memory for a launcher, and small device-to-host reads.
//
// Scratch<T>: `count` elements of stream-ordered device memory (cudaMallocAsync: no
// device-wide synchronisation; freed on the same stream when the launcher returns, after the
// kernels queued on it), host memory under the SIMT emulator.
// read_to_host(): copies a few values back and waits for the stream, for launchers that must
// report what a kernel found (an index out of range) as fulgur::Error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fulgur/kernels/cuda/simt.h"
#include "fulgur/kernels/error.h"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

template <typename T>
class Scratch {
 public:
  // zeroed: the memory starts as zero bytes (asynchronously on the GPU).
  Scratch(int64_t count, void* stream, const char* op, bool zeroed = false) : stream_(stream) {
    const size_t bytes = static_cast<size_t>(count > 0 ? count : 1) * sizeof(T);
#if FULGUR_SIMT_EMULATED
    (void)op;
    host_.assign(bytes, 0);
    data_ = reinterpret_cast<T*>(host_.data());
    (void)zeroed;
#else
    cudaError_t e = cudaMallocAsync(reinterpret_cast<void**>(&data_), bytes, static_cast<cudaStream_t>(stream_));
    if (e == cudaSuccess && zeroed) e = cudaMemsetAsync(data_, 0, bytes, static_cast<cudaStream_t>(stream_));
    if (e != cudaSuccess) {
      throw Error(std::string(op) + " (cuda): cannot allocate a workspace of " + std::to_string(bytes) +
                  " bytes: " + cudaGetErrorString(e));
    }
#endif
  }
  ~Scratch() {
#if !FULGUR_SIMT_EMULATED
    cudaFreeAsync(data_, static_cast<cudaStream_t>(stream_));
#endif
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* data() const { return data_; }

 private:
  void* stream_;
  T* data_ = nullptr;
#if FULGUR_SIMT_EMULATED
  std::vector<unsigned char> host_;  // bytes, so that any T (even without a default constructor) fits
#endif
};

// Copies n values of device memory to host memory once the stream's queued work is done.
template <typename T>
void read_to_host(const T* device, T* host, int64_t n, void* stream, const char* op) {
#if FULGUR_SIMT_EMULATED
  (void)stream;
  (void)op;
  for (int64_t i = 0; i < n; ++i) host[i] = device[i];  // launches ran to completion already
#else
  const auto s = static_cast<cudaStream_t>(stream);
  cudaError_t e = cudaMemcpyAsync(host, device, static_cast<size_t>(n) * sizeof(T), cudaMemcpyDeviceToHost, s);
  if (e == cudaSuccess) e = cudaStreamSynchronize(s);
  if (e != cudaSuccess) throw Error(std::string(op) + " (cuda): reading a kernel's result back: " + cudaGetErrorString(e));
#endif
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS
