#include "stencil_samples.h"

#include <algorithm>

using namespace fulgur;

namespace cpp_embed {

void stencil_features(const HeatSolver& grid, const std::vector<float>& u, float* out) {
  const int64_t w = grid.width();
  for (int64_t i = 1; i <= grid.rows(); ++i) {
    for (int64_t j = 1; j <= grid.n(); ++j) {
      const int64_t k = grid.at(i, j);
      const float c = u[k];
      // Differences to the centre: the Laplacian is their sum, and they are O(field) on a
      // coarse grid, so the network sees well-scaled inputs.
      *out++ = c;
      *out++ = u[k - w] - c;
      *out++ = u[k + w] - c;
      *out++ = u[k - 1] - c;
      *out++ = u[k + 1] - c;
    }
  }
}

StencilSamples::StencilSamples(const HeatSolver& grid) {
  int64_t held = 0;
  for (int64_t i = 1; i <= grid.rows(); ++i) {
    for (int64_t j = 1; j <= grid.n(); ++j) held += held_out(grid.first_row() + i - 1, j - 1) ? 1 : 0;
  }
  const int64_t total = grid.rows() * grid.n();
  const int64_t trained = total - held;
  train_x_buf_.resize(static_cast<size_t>(trained * kFeatures));
  train_y_buf_.resize(static_cast<size_t>(trained));
  val_x_buf_.resize(static_cast<size_t>(held * kFeatures));
  val_y_buf_.resize(static_cast<size_t>(held));
  all_features_.resize(static_cast<size_t>(total * kFeatures));
  // Views of the host's buffers, made once: the vectors never reallocate after this.
  train_x_ = from_blob(train_x_buf_.data(), {trained, kFeatures}, DType::Float32);
  train_y_ = from_blob(train_y_buf_.data(), {trained, 1}, DType::Float32);
  val_x_ = from_blob(val_x_buf_.data(), {held, kFeatures}, DType::Float32);
  val_y_ = from_blob(val_y_buf_.data(), {held, 1}, DType::Float32);
}

void StencilSamples::fill(const HeatSolver& solver) {
  stencil_features(solver, solver.previous(), all_features_.data());
  const std::vector<float>& next = solver.field();
  float* tx = train_x_buf_.data();
  float* ty = train_y_buf_.data();
  float* vx = val_x_buf_.data();
  float* vy = val_y_buf_.data();
  const float* f = all_features_.data();
  for (int64_t i = 1; i <= solver.rows(); ++i) {
    for (int64_t j = 1; j <= solver.n(); ++j, f += kFeatures) {
      const bool val = held_out(solver.first_row() + i - 1, j - 1);
      float*& x = val ? vx : tx;
      float*& y = val ? vy : ty;
      x = std::copy(f, f + kFeatures, x);
      *y++ = next[solver.at(i, j)];
    }
  }
}

}  // namespace cpp_embed
