#include "fulgur/nn/dropout.h"

#include "fulgur/nn/functional/dropout.h"

namespace fulgur::nn {

Dropout::Dropout(const DropoutOptions& o) : p(o.p), inplace(o.inplace), generator(o.generator) {
  FULGUR_CHECK(p >= 0 && p <= 1, "Dropout", "dropout probability has to be between 0 and 1, but got ", p);
}

Tensor Dropout::forward(const Tensor& x) { return functional::dropout(x, p, is_training(), inplace, generator); }

std::string Dropout::extra_repr() const { return "p=" + repr_float(p) + ", inplace=" + repr_bool(inplace); }

}  // namespace fulgur::nn
