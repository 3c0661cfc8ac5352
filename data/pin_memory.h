// pin_memory: puts a batch's CPU tensors in page-locked (pinned) host memory, so that a later
// .to(cuda, non_blocking) copy can run asynchronously (DataLoader's pin_memory=true).
//
// TODAY THIS IS THE IDENTITY: the tree is returned with its tensors unchanged.
//  - Without a usable CUDA device (cuda::is_available() false) that is exactly right: pinning
//    only matters for host-to-device copies, and PyTorch likewise skips it (with a warning).
//  - With a device, pinning needs a page-locked host allocator, which kernels/ does not have
//    yet. What the CUDA issue must add for this file to pin for real:
//      1. in kernels/cuda: an Allocator over cudaHostAlloc/cudaFreeHost (caching, like
//         PyTorch's CachingHostAllocator, since batches are allocated at a high rate), exposed
//         as e.g. `Allocator& pinned_host_allocator()`, and `bool is_pinned(const void*)`
//         (cudaPointerGetAttributes) for Tensor::is_pinned();
//      2. here: for each CPU tensor not already pinned, allocate numel * element_size bytes
//         from it, wrap them with from_blob(..., deleter returning them to the allocator),
//         copy_ the tensor in, and return the copy (strings, numbers and non-CPU tensors
//         unchanged, as PyTorch's pin_memory does);
//      3. a test in tests/gpu/ that checks is_pinned() and an async copy.
// The DataLoader already calls this on the consuming thread for every batch when
// pin_memory=true (PyTorch's pin-memory thread), so nothing else has to change.
#pragma once

#include "fulgur/tensor/value.h"

namespace fulgur::data {

Value pin_memory(Value batch);

}  // namespace fulgur::data
