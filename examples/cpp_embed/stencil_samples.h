// Training samples from the solver's fields, in buffers the program owns and fulgur views
// (fulgur::from_blob: no copy). Sample of interior point (i, j): the input is the 5-point
// neighbourhood of u^n there as (centre, north - centre, south - centre, west - centre,
// east - centre), the target u^{n+1} at the centre.
//
// Every rank holds the same number of samples (equal rows), split the same way: points with
// (global row + column) % 8 == 0 are held out for validation, the others train.
#pragma once

#include <fulgur/fulgur.h>

#include <cstdint>
#include <vector>

#include "heat_solver.h"

namespace cpp_embed {

using fulgur::Tensor;

inline constexpr int64_t kFeatures = 5;

// The features of every interior point of `u` (halos exchanged), in row-major point order,
// written to out[0 .. rows * n * kFeatures).
void stencil_features(const HeatSolver& grid, const std::vector<float>& u, float* out);

class StencilSamples {
 public:
  explicit StencilSamples(const HeatSolver& grid);
  // Refills the buffers in place from (previous(), field()) of the solver: the tensors below
  // keep viewing them.
  void fill(const HeatSolver& solver);
  // [count, kFeatures] and [count, 1] float32 tensors over the buffers.
  const Tensor& train_inputs() const { return train_x_; }
  const Tensor& train_targets() const { return train_y_; }
  const Tensor& val_inputs() const { return val_x_; }
  const Tensor& val_targets() const { return val_y_; }

 private:
  static bool held_out(int64_t global_row, int64_t column) { return (global_row + column) % 8 == 0; }
  std::vector<float> train_x_buf_, train_y_buf_, val_x_buf_, val_y_buf_, all_features_;
  Tensor train_x_, train_y_, val_x_, val_y_;
};

}  // namespace cpp_embed
