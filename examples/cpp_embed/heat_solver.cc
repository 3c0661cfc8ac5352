#include "heat_solver.h"

#include <fulgur/kernels/error.h>

#include <cmath>
#include <numbers>
#include <string>

namespace cpp_embed {

HeatSolver::HeatSolver(MPI_Comm comm, int64_t n, double r) : comm_(comm), n_(n), r_(r) {
  MPI_Comm_rank(comm, &rank_);
  MPI_Comm_size(comm, &size_);
  FULGUR_CHECK(n >= 3 && n % size_ == 0, "HeatSolver", "grid of ", n, " x ", n, " interior points on ", size_,
               " ranks; hint: --grid must be at least 3 and a multiple of the number of ranks");
  FULGUR_CHECK(r > 0 && r <= 0.25, "HeatSolver", "diffusion number r = dt/h^2 = ", r,
               "; hint: explicit Euler on the 5-point stencil is stable for 0 < r <= 0.25");
  rows_ = n / size_;
  first_row_ = rank_ * rows_;
  u_.assign(static_cast<size_t>((rows_ + 2) * width()), 0.0f);
  prev_ = u_;
}

void HeatSolver::initial_condition() {
  const double h = 1.0 / static_cast<double>(n_ + 1);
  const double pi = std::numbers::pi;
  for (int64_t i = 1; i <= rows_; ++i) {
    const double y = static_cast<double>(first_row_ + i) * h;
    for (int64_t j = 1; j <= n_; ++j) {
      const double x = static_cast<double>(j) * h;
      u_[at(i, j)] = static_cast<float>(std::sin(pi * x) * std::sin(pi * y) +
                                        0.5 * std::sin(3 * pi * x) * std::sin(2 * pi * y) +
                                        0.25 * std::sin(5 * pi * x) * std::sin(4 * pi * y));
    }
  }
}

void HeatSolver::exchange_halos(std::vector<float>& u) const {
  const int up = rank_ > 0 ? rank_ - 1 : MPI_PROC_NULL;  // MPI_PROC_NULL: the halo keeps its zeros
  const int down = rank_ + 1 < size_ ? rank_ + 1 : MPI_PROC_NULL;
  const int count = static_cast<int>(width());
  // First row up, bottom halo from below; then last row down, top halo from above.
  MPI_Sendrecv(&u[at(1, 0)], count, MPI_FLOAT, up, 0, &u[at(rows_ + 1, 0)], count, MPI_FLOAT, down, 0, comm_,
               MPI_STATUS_IGNORE);
  MPI_Sendrecv(&u[at(rows_, 0)], count, MPI_FLOAT, down, 1, &u[at(0, 0)], count, MPI_FLOAT, up, 1, comm_,
               MPI_STATUS_IGNORE);
}

void HeatSolver::step() {
  exchange_halos(u_);
  prev_.swap(u_);
  const float r = static_cast<float>(r_);
  const int64_t w = width();
  for (int64_t i = 1; i <= rows_; ++i) {
    for (int64_t j = 1; j <= n_; ++j) {
      const int64_t k = at(i, j);
      u_[k] = prev_[k] + r * (prev_[k - w] + prev_[k + w] + prev_[k - 1] + prev_[k + 1] - 4 * prev_[k]);
    }
  }
}

}  // namespace cpp_embed
