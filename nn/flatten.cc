#include "fulgur/nn/flatten.h"

namespace fulgur::nn {

Tensor Flatten::forward(const Tensor& x) { return x.flatten(start_dim, end_dim); }

std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
}

Unflatten::Unflatten(int64_t dim, Shape sizes) : dim(dim), unflattened_size(std::move(sizes)) {
  FULGUR_CHECK(!unflattened_size.empty(), "Unflatten", "unflattened_size must be non-empty");
}

Tensor Unflatten::forward(const Tensor& x) {
  const int64_t d = wrap_dim(dim, x.dim(), "Unflatten");
  Shape shape(x.sizes().begin(), x.sizes().begin() + d);
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < unflattened_size.size(); ++i) {
    if (unflattened_size[i] == -1) {
      FULGUR_CHECK(infer < 0, "Unflatten", "only one dimension of unflattened_size can be -1, got ",
                   repr_tuple(unflattened_size));
      infer = static_cast<int64_t>(i);
    } else {
      known *= unflattened_size[i];
    }
  }
  const bool ok = infer >= 0 ? (known > 0 && x.size(d) % known == 0) : known == x.size(d);
  FULGUR_CHECK(ok, "Unflatten", "unflattened_size ", repr_tuple(unflattened_size), " does not multiply to size ",
               x.size(d), " of dim ", dim, " of the input ", shape_str(x.sizes()));
  shape.insert(shape.end(), unflattened_size.begin(), unflattened_size.end());
  shape.insert(shape.end(), x.sizes().begin() + d + 1, x.sizes().end());
  return x.view(shape);
}

std::string Unflatten::extra_repr() const {
  return "dim=" + std::to_string(dim) + ", unflattened_size=" + repr_tuple(unflattened_size);
}

}  // namespace fulgur::nn
