// Shared by the C ABI tests (capi_*_test): reading a C model's parameters back through the
// C ABI itself (fulgur_model_parameter + fulgur_tensor_copy_to, device memory included).
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fulgur/fulgur_c.h"

namespace fulgur::capi_testing {

// The index-th parameter's float32 values, row-major.
inline std::vector<float> parameter_values(const fulgur_model* model, int64_t index) {
  fulgur_tensor* p = nullptr;
  REQUIRE_MESSAGE(fulgur_model_parameter(model, index, &p) == FULGUR_OK, std::string(fulgur_last_error()));
  int64_t n = 0;
  REQUIRE(fulgur_tensor_numel(p, &n) == FULGUR_OK);
  std::vector<float> v(static_cast<size_t>(n));
  const fulgur_status copied = fulgur_tensor_copy_to(p, v.data(), v.size() * sizeof(float));
  fulgur_tensor_destroy(p);
  REQUIRE_MESSAGE(copied == FULGUR_OK, std::string(fulgur_last_error()));
  return v;
}

// Every parameter, concatenated in PyTorch's order.
inline std::vector<float> all_parameter_values(const fulgur_model* model) {
  int64_t count = 0;
  REQUIRE(fulgur_model_num_parameter_tensors(model, &count) == FULGUR_OK);
  std::vector<float> all;
  for (int64_t i = 0; i < count; ++i) {
    const std::vector<float> p = parameter_values(model, i);
    all.insert(all.end(), p.begin(), p.end());
  }
  return all;
}

}  // namespace fulgur::capi_testing
