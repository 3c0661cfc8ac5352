// Shape utilities. A shape is a list of non-negative sizes: {} is a 0-dim scalar, {3} and
// {3, 1} differ, and zero-size dimensions are legal everywhere.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace fulgur {

// A non-owning view of a list of int64 (sizes, strides, dims), built from a vector, a
// braced list or a single value. Like std::span, it must not outlive what it views.
class IntArrayRef {
 public:
  constexpr IntArrayRef() = default;
  IntArrayRef(const std::vector<int64_t>& v) : data_(v.data()), size_(v.size()) {}  // NOLINT
  // Like std::span, a view of a braced list is valid for the full-expression it is in.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"
  constexpr IntArrayRef(std::initializer_list<int64_t> list)  // NOLINT
      : data_(list.begin()), size_(list.size()) {}
#pragma GCC diagnostic pop
  constexpr IntArrayRef(const int64_t& single) : data_(&single), size_(1) {}  // NOLINT
  constexpr IntArrayRef(const int64_t* data, size_t size) : data_(data), size_(size) {}

  constexpr const int64_t* begin() const { return data_; }
  constexpr const int64_t* end() const { return data_ + size_; }
  constexpr const int64_t* data() const { return data_; }
  constexpr size_t size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }
  constexpr int64_t operator[](size_t i) const { return data_[i]; }
  std::vector<int64_t> vec() const { return {begin(), end()}; }
  friend bool operator==(IntArrayRef a, IntArrayRef b) {
    if (a.size_ != b.size_) return false;
    for (size_t i = 0; i < a.size_; ++i)
      if (a.data_[i] != b.data_[i]) return false;
    return true;
  }

 private:
  const int64_t* data_ = nullptr;
  size_t size_ = 0;
};

using Shape = std::vector<int64_t>;

int64_t numel_of(IntArrayRef sizes);
// Row-major strides (in elements) for sizes.
Shape contiguous_strides(IntArrayRef sizes);
// NumPy broadcasting of two shapes; throws fulgur::Error naming `op` if incompatible.
Shape broadcast_shapes(IntArrayRef a, IntArrayRef b, const char* op);
// Maps a possibly negative dim into [0, ndim); throws fulgur::Error if out of range.
// For ops that insert a dim (unsqueeze, stack) pass ndim + 1.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
// "[2, 3]"
std::string shape_str(IntArrayRef sizes);

}  // namespace fulgur
