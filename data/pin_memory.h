// pin_memory: puts a batch's CPU tensors in page-locked (pinned) host memory, so that the
// Trainer's (or the user's) .to(cuda, {.non_blocking = true}) copy runs asynchronously
// (DataLoader's pin_memory=true; PyTorch's torch.utils.data._utils.pin_memory.pin_memory).
// Lists, tuples and dicts are walked; CPU tensors are replaced by pinned copies
// (Tensor::pin_memory, which returns an already pinned tensor as it is); other tensors,
// strings and numbers are kept. Without a CUDA device the batch is returned unchanged: pinning
// only helps copies to a GPU, and PyTorch likewise skips it (with a warning) there.
#pragma once

#include "fulgur/tensor/value.h"

namespace fulgur::data {

Value pin_memory(Value batch);

}  // namespace fulgur::data
