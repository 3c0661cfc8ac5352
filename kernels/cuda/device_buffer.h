// A block of device memory owned by one object, with checked copies to and from the host.
// Plain cudaMalloc/cudaFree for now (the caching allocator of the CUDA issue replaces it);
// used by the GPU tests and benchmarks. Only in CUDA builds (FULGUR_WITH_CUDA).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace fulgur::cuda {

// Throws fulgur::Error naming `what` and the CUDA error when a runtime call failed.
void check(int cuda_error, const char* what);

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  template <typename T>
  static DeviceBuffer from(const std::vector<T>& host) {
    DeviceBuffer b(host.size() * sizeof(T));
    b.upload(host.data(), host.size() * sizeof(T));
    return b;
  }
  template <typename T>
  std::vector<T> to_host() const {
    std::vector<T> out(bytes_ / sizeof(T));
    download(out.data(), out.size() * sizeof(T));
    return out;
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }

  void upload(const void* host, size_t bytes);
  void download(void* host, size_t bytes) const;
  // Fills every byte with `value` (0xFF poisons float outputs with NaN before a kernel runs).
  void fill_bytes(int value);
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

// cudaDeviceSynchronize + cudaGetLastError, throwing on a launch or execution error.
void synchronize(const char* what);

}  // namespace fulgur::cuda
