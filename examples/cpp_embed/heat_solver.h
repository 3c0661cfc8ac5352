// The host's PDE: the heat equation u_t = Δu on the unit square with u = 0 on the boundary,
// explicit Euler on the 5-point stencil, grid rows split across the ranks of the host's
// communicator with one halo row above and below (exchanged with MPI_Sendrecv).
//
// The fields are std::vector<float> the program owns; fulgur only ever views them.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <vector>

namespace cpp_embed {

class HeatSolver {
 public:
  // n x n interior points; r = dt / h^2 (the diffusion number; explicit Euler is stable for
  // r <= 1/4). n must be a multiple of the communicator's size (equal rows on every rank, so
  // every rank feeds the trainer the same number of batches).
  HeatSolver(MPI_Comm comm, int64_t n, double r);

  int64_t n() const { return n_; }
  double r() const { return r_; }
  int64_t rows() const { return rows_; }             // interior rows this rank owns
  int64_t first_row() const { return first_row_; }   // global index of its first interior row
  int64_t width() const { return n_ + 2; }           // a stored row: boundary, n points, boundary
  MPI_Comm comm() const { return comm_; }

  // u at the current step and at the step before it, (rows + 2) x (n + 2) row-major: local row
  // 0 and rows + 1 are halos (zero at the global boundary), columns 0 and n + 1 the boundary.
  std::vector<float>& field() { return u_; }
  const std::vector<float>& field() const { return u_; }
  const std::vector<float>& previous() const { return prev_; }
  // Index of interior point (local row i in 1..rows, column j in 1..n).
  int64_t at(int64_t i, int64_t j) const { return i * width() + j; }

  // Sets u to sin(πx)sin(πy) + 0.5 sin(3πx)sin(2πy) + 0.25 sin(5πx)sin(4πy) (x = j h).
  void initial_condition();
  // Fills u's halo rows from the neighbouring ranks (the global boundary stays zero).
  void exchange_halos(std::vector<float>& u) const;
  // One explicit step: previous() becomes u^n, field() u^{n+1}.
  void step();

 private:
  MPI_Comm comm_;
  int64_t n_, rows_, first_row_;
  double r_;
  int rank_ = 0, size_ = 1;
  std::vector<float> u_, prev_;
};

}  // namespace cpp_embed
