// fulgur_trainer_create_mpi (capi/fulgur_c_mpi.h) on 2 ranks: a host program that owns MPI
// (MPI_Init / MPI_Finalize here) gives its communicator as an MPI_Fint; the C trainer then
// averages gradients over the ranks. Reference: one process of the C API's own loop over both
// ranks' batches at once (batch 2B), computed on every rank without MPI.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <mpi.h>

#include <cmath>
#include <string>
#include <vector>

#include "fulgur/fulgur_c_mpi.h"
#include "tests/capi_test_util.h"

namespace {

constexpr fulgur_device kHost = {FULGUR_DEVICE_CPU, 0};
#define CHECK_OK(call) REQUIRE_MESSAGE((call) == FULGUR_OK, std::string(fulgur_last_error()))

// Sample i of y = x0 - 2 x1 + 0.5 x2 (float64: the comparison below is 1e-9 relative).
void sample(int64_t i, double* x, double* y) {
  for (int j = 0; j < 3; ++j) x[j] = std::sin(0.37 * static_cast<double>(i * 3 + j));
  *y = x[0] - 2 * x[1] + 0.5 * x[2];
}

// Samples [first, first + n) as borrowed float64 tensors.
struct Batch {
  std::vector<double> x, y;
  fulgur_tensor* xt = nullptr;
  fulgur_tensor* yt = nullptr;
  Batch(int64_t first, int64_t n, int64_t stride = 1) : x(static_cast<size_t>(n * 3)), y(static_cast<size_t>(n)) {
    for (int64_t i = 0; i < n; ++i) sample(first + i * stride, &x[i * 3], &y[i]);
    const int64_t xs[2] = {n, 3}, ys[2] = {n, 1};
    CHECK_OK(fulgur_tensor_from_data(x.data(), FULGUR_FLOAT64, 2, xs, nullptr, kHost, &xt));
    CHECK_OK(fulgur_tensor_from_data(y.data(), FULGUR_FLOAT64, 2, ys, nullptr, kHost, &yt));
  }
  ~Batch() {
    fulgur_tensor_destroy(xt);
    fulgur_tensor_destroy(yt);
  }
};

void build(fulgur_model** m, fulgur_optimizer** o) {
  CHECK_OK(fulgur_model_create(5, m));
  CHECK_OK(fulgur_model_add_linear(*m, 3, 4, 1));
  CHECK_OK(fulgur_model_add_tanh(*m));
  CHECK_OK(fulgur_model_add_linear(*m, 4, 1, 1));
  CHECK_OK(fulgur_optimizer_sgd(*m, 0.1, 0.0, 0.0, 0, o));
}

std::vector<float> params(fulgur_model* m) { return fulgur::capi_testing::all_parameter_values(m); }

}  // namespace

TEST_CASE("C trainer over the host's communicator: 2 ranks x batch 4 train like 1 process x batch 8") {
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  REQUIRE(size == 2);
  // The host's own communicator: both ranks, reversed order (fulgur must use comm's ranks).
  MPI_Comm host_comm;
  MPI_Comm_split(MPI_COMM_WORLD, 0, size - rank, &host_comm);
  int comm_rank = 0;
  MPI_Comm_rank(host_comm, &comm_rank);

  fulgur_model* model = nullptr;
  fulgur_optimizer* opt = nullptr;
  build(&model, &opt);
  fulgur_trainer_options o;
  fulgur_trainer_options_default(&o);
  fulgur_trainer* trainer = nullptr;
  CHECK_OK(fulgur_trainer_create_mpi(&o, MPI_Comm_c2f(host_comm), &trainer));
  CHECK_OK(fulgur_trainer_begin(trainer, model, opt, FULGUR_LOSS_MSE, nullptr));
  // Step k: global samples 8k .. 8k+7; this rank takes 4 of them (its comm rank's half).
  for (int64_t k = 0; k < 5; ++k) {
    Batch b(8 * k + 4 * comm_rank, 4);
    CHECK_OK(fulgur_trainer_step(trainer, b.xt, b.yt, nullptr));
  }
  // Validation on each rank's own 4 samples: val_loss is the mean over all 8 (sync_dist), the
  // host's batch is not split again by a DistributedSampler.
  Batch val(100 + 4 * comm_rank, 4);
  double val_loss = 0;
  CHECK_OK(fulgur_trainer_validate(trainer, val.xt, val.yt, &val_loss));
  CHECK_OK(fulgur_trainer_end(trainer));
  fulgur_trainer_destroy(trainer);

  fulgur_model* ref = nullptr;
  fulgur_optimizer* ref_opt = nullptr;
  build(&ref, &ref_opt);
  for (int64_t k = 0; k < 5; ++k) {
    Batch b(8 * k, 8);
    CHECK_OK(fulgur_optimizer_zero_grad(ref_opt));
    fulgur_tensor* out = nullptr;
    fulgur_tensor* loss = nullptr;
    CHECK_OK(fulgur_model_forward(ref, b.xt, &out));
    CHECK_OK(fulgur_loss(FULGUR_LOSS_MSE, out, b.yt, &loss));
    CHECK_OK(fulgur_tensor_backward(loss));
    CHECK_OK(fulgur_optimizer_step(ref_opt));
    fulgur_tensor_destroy(loss);
    fulgur_tensor_destroy(out);
  }
  const std::vector<float> got = params(model), want = params(ref);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(std::abs(got[i] - want[i]) <= 1e-6f * std::abs(want[i]) + 1e-7f);  // float32 model
  }
  {
    Batch all(100, 8);
    CHECK_OK(fulgur_model_set_training(ref, 0));
    fulgur_tensor* out = nullptr;
    fulgur_tensor* loss = nullptr;
    CHECK_OK(fulgur_model_forward(ref, all.xt, &out));
    CHECK_OK(fulgur_loss(FULGUR_LOSS_MSE, out, all.yt, &loss));
    double want_val = 0;
    CHECK_OK(fulgur_tensor_item(loss, &want_val));
    fulgur_tensor_destroy(loss);
    fulgur_tensor_destroy(out);
    CHECK(val_loss == doctest::Approx(want_val).epsilon(1e-5));
  }
  // Both ranks hold the same weights.
  std::vector<float> other(got.size());
  MPI_Allreduce(got.data(), other.data(), static_cast<int>(got.size()), MPI_FLOAT, MPI_MAX, host_comm);
  CHECK(other == got);
  fulgur_optimizer_destroy(ref_opt);
  fulgur_model_destroy(ref);
  fulgur_optimizer_destroy(opt);
  fulgur_model_destroy(model);
  MPI_Comm_free(&host_comm);
}

int main(int argc, char** argv) {
  int provided = 0;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) return 1;
  doctest::Context context(argc, argv);
  const int rc = context.run();
  MPI_Finalize();  // the host's: fulgur must have left MPI up and freed its duplicate
  return rc;
}
