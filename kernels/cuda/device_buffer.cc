#include "fulgur/kernels/cuda/device_buffer.h"

// Empty without CUDA: users guard with FULGUR_WITH_CUDA.
#if FULGUR_WITH_CUDA
#include <cuda_runtime.h>

#include <utility>

#include "fulgur/kernels/error.h"

namespace fulgur::cuda {

void check(int cuda_error, const char* what) {
  const auto err = static_cast<cudaError_t>(cuda_error);
  if (err != cudaSuccess) {
    throw Error(std::string(what) + ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
  }
}

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  if (bytes > 0) check(cudaMalloc(&data_, bytes), "cudaMalloc");
}

DeviceBuffer::~DeviceBuffer() {
  if (data_ != nullptr) cudaFree(data_);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) cudaFree(data_);
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void DeviceBuffer::upload(const void* host, size_t bytes) {
  if (bytes > bytes_) throw Error("DeviceBuffer::upload: " + std::to_string(bytes) + " bytes into a buffer of " + std::to_string(bytes_));
  if (bytes > 0) check(cudaMemcpy(data_, host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy host->device");
}

void DeviceBuffer::download(void* host, size_t bytes) const {
  if (bytes > bytes_) throw Error("DeviceBuffer::download: " + std::to_string(bytes) + " bytes from a buffer of " + std::to_string(bytes_));
  if (bytes > 0) check(cudaMemcpy(host, data_, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy device->host");
}

void DeviceBuffer::fill_bytes(int value) {
  if (bytes_ > 0) check(cudaMemset(data_, value, bytes_), "cudaMemset");
}

void synchronize(const char* what) {
  check(cudaGetLastError(), what);
  check(cudaDeviceSynchronize(), what);
}

}  // namespace fulgur::cuda

#endif  // FULGUR_WITH_CUDA
