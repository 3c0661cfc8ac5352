// NumPy .npy and .npz files (numpy.save / numpy.savez / numpy.savez_compressed).
//
// .npy: "\x93NUMPY", version 1.0, 2.0 or 3.0, a header length (2 bytes in 1.0, 4 after), and
// a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }. Read:
//   descr  little-endian (or byte-order-free) numeric types: |b1 bool, |i1 |u1, <i2 <i4 <i8,
//          <f2 <f4 <f8 ('=' is little-endian here too). Rejected with a clear error:
//          big-endian ('>f4'), object ('|O'), strings, structured and complex dtypes, and
//          unsigned 16/32/64-bit integers (no such Fulgur dtype; astype a signed one).
//   fortran_order  column-major data is returned as a contiguous (row-major) tensor with the
//          same values.
// The data size (product of shape, overflow-checked, times the item size) must equal the
// bytes after the header exactly; checked before allocating.
//
// .npz: a zip archive (serialize/zip_reader.h) of "<name>.npy" entries, stored (savez) or
// deflated (savez_compressed). Arrays come back in archive order under their name without
// ".npy", as numpy.load(...).files lists them; an entry not ending in .npy is an error.
//
// Errors: fulgur::Error("npy: '<file>': <problem>"), "npz: '<file>': entry '<name>': ...".
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fulgur/serialize/byte_source.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::data {

Tensor load_npy(const std::string& path);
Tensor load_npy(const serialize::ByteSource& source);

// The arrays of an .npz file, in archive order.
struct NpzArrays {
  std::vector<std::pair<std::string, Tensor>> items;

  size_t size() const { return items.size(); }
  bool contains(std::string_view name) const;
  const Tensor& at(std::string_view name) const;  // throws, listing the names
  std::vector<std::string> names() const;
};

NpzArrays load_npz(const std::string& path);
NpzArrays load_npz(std::shared_ptr<const serialize::ByteSource> source);

}  // namespace fulgur::data
