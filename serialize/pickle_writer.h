// Pickles a fulgur::Value the way torch.save does (pickle protocol 2), so that Python's
// torch.load reads it back as the same objects:
//   None, bool, int, float, str          -> the Python scalar (int beyond 32 bits: LONG1)
//   list, tuple                          -> list, tuple
//   dict                                 -> dict; a non-empty dict whose keys are all strings
//                                           and whose values are all tensors (a module
//                                           state_dict) -> collections.OrderedDict, as
//                                           nn.Module.state_dict() returns
//   Tensor                               -> torch._utils._rebuild_tensor_v2 over a persistent
//                                           storage id ('storage', torch.<T>Storage, key,
//                                           location, numel), with the tensor's own offset,
//                                           sizes, strides and requires_grad
// Tensors that share a storage refer to one storage record (the whole storage, written
// once), so views keep their offsets and strides and stay views after loading.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fulgur/kernels/dtype.h"
#include "fulgur/tensor/storage.h"
#include "fulgur/tensor/value.h"

namespace fulgur::serialize {

// A storage the pickle refers to; the container writes its bytes as data/<key>.
struct PickledStorage {
  std::string key;  // "0", "1", ... in order of first use
  Storage storage;
  DType dtype;
  int64_t numel;  // elements of dtype in the whole storage
};

struct PickleOutput {
  std::string bytes;                     // data.pkl
  std::vector<PickledStorage> storages;  // in key order
};

// Throws fulgur::Error for an undefined tensor, a string that is not UTF-8, or two tensors
// viewing one storage with different dtypes.
PickleOutput pickle_value(const Value& value);

}  // namespace fulgur::serialize
