// The CUDA backend of tensor/: the kernel table for DeviceType::CUDA (tensor_kernels.h) and
// the allocator of CUDA tensors (the caching allocator of each device), registered by
// kernels/backends.cc when a device exists.
//
// Two kinds of device, never both in one process:
//  * a real GPU (cuda::is_available()): kernels run with Exec::Gpu on the current stream of
//    the tensor's device, memory comes from device_caching_allocator(d), host<->device copies
//    are cudaMemcpyAsync on that stream followed by a wait, except copy_bytes_async out of
//    pinned memory (pinned_host_allocator.h), which is not waited for;
//  * the emulated device (emulated_device.h), for machines without a GPU: cuda:0 only, its
//    memory is host memory (256-byte aligned) under a caching allocator of its own, and the
//    same kernel sources run with Exec::Emulated through the SIMT emulator. Enabled by
//    FULGUR_CUDA_EMULATION=1 or enable_emulated_device() before the first CUDA tensor; then
//    it is used even on a machine with a GPU, so that a test behaves the same everywhere.
#pragma once

#include <string>

namespace fulgur::cuda {

enum class BackendKind { None, Gpu, Emulated };

// Registers the CUDA kernel table and allocator if a device exists or emulation is enabled,
// once; later calls do nothing (the first that finds a device registers it).
void register_cuda_backend();

// What backs Device::cuda(n) tensors in this process (None until registered).
BackendKind backend_kind();

// For messages and printing: "emulated CUDA device 0 (SIMT emulator on the CPU)" or
// "CUDA device 0 (NVIDIA H200)"; "no CUDA device" when none is registered.
std::string tensor_device_name(int index);

}  // namespace fulgur::cuda
