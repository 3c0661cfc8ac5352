// safetensors (https://github.com/huggingface/safetensors, format section of its README):
//   8 bytes   N, little-endian uint64: the header's length
//   N bytes   a JSON object, UTF-8, padded with spaces:
//               {"__metadata__": {"k": "v"},            (optional, str -> str)
//                "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
//   the data  every tensor's bytes, row-major, little-endian; offsets are relative to here
//
// Reading enforces the format's rules: the header is at most 100,000,000 bytes and fits in
// the file; it starts with '{'; JSON is strict (no duplicate keys, no unknown fields in a
// tensor entry); dtypes are known; shapes and offsets are checked for overflow; each tensor's
// byte range has exactly numel * element size bytes, and the ranges, in order, cover the data
// exactly with no gap and no overlap. Errors: fulgur::Error("load_safetensors: '<file>': ...").
//
// Writing lays the tensors out in the given order, header keys in the same order after
// "__metadata__", the header padded with spaces to a multiple of 8 bytes (as the reference
// writer does, so the data is aligned). Atomic, like fulgur::save.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fulgur/serialize/byte_source.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using SafetensorsMetadata = std::vector<std::pair<std::string, std::string>>;

struct SafetensorsFile {
  NamedTensors tensors;          // in header order; each owns its memory (CPU, contiguous)
  SafetensorsMetadata metadata;  // "__metadata__", in header order
};

// Names must be unique, non-empty and not "__metadata__"; tensors are written contiguous
// (GPU tensors are copied to the host). Shared storage is not preserved (the format has none).
void save_safetensors(const NamedTensors& tensors, const std::string& path,
                      const SafetensorsMetadata& metadata = {});
SafetensorsFile load_safetensors(const std::string& path);

namespace serialize {

inline constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;

std::string safetensors_to_string(const NamedTensors& tensors, const SafetensorsMetadata& metadata = {});
SafetensorsFile load_safetensors_from(const std::shared_ptr<const ByteSource>& source);

}  // namespace serialize
}  // namespace fulgur
