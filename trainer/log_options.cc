#include "fulgur/trainer/log_options.h"

#include "fulgur/kernels/error.h"

namespace fulgur::lightning {

double LogValue::number(const std::string& name) const {
  if (is_number_) return number_;
  FULGUR_CHECK(tensor_.defined(), "log", "`self.log(", name, ", value)` was called with an undefined tensor");
  FULGUR_CHECK(tensor_.numel() == 1, "log", "`self.log(", name, ", value)` was called, but the tensor must have a "
               "single element; it has ", tensor_.numel(), ". hint: try `log(\"", name, "\", value.mean())`");
  return tensor_.detach().item<double>();
}

}  // namespace fulgur::lightning
