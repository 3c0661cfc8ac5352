// IDX files (the MNIST format, http://yann.lecun.com/exdb/mnist/): a 4-byte magic
// 0x00 0x00 <type> <ndim>, ndim big-endian uint32 sizes, then the elements, big-endian,
// row-major. Types: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
// 0x0E float64.
//
// The file may be gzip-compressed (detected by the gzip magic 1f 8b, whatever its name):
// the gzip stream must be complete (end marker, CRC-32 and length trailer).
//
// The element count (product of the sizes, overflow-checked) must match the file content
// exactly; this is checked before the tensor is allocated: for a plain file against its
// length, for a gzip file against the deflate ratio bound and the gzip length trailer.
// Errors: fulgur::Error("idx: '<file>': <problem>").
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "fulgur/serialize/byte_source.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::data {

// Reads an IDX file (plain or gzip) into a contiguous CPU tensor of the file's type and shape.
Tensor read_idx(const std::string& path);
// The same from any byte source (an in-memory buffer: tests and fuzzing).
Tensor read_idx(const serialize::ByteSource& source);

}  // namespace fulgur::data
