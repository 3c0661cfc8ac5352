// cpp_embed: a plain C++ MPI program that embeds fulgur the way a simulation code would. The
// program owns MPI, its communicator, its time loop and its memory; every K steps it trains an
// MLP surrogate of its own time step, online, on the fields it just computed, with fulgur's
// host-driven Trainer (DDP over the program's communicator), then uses the surrogate.
//
//   mpirun -np 2 ./cpp_embed --steps 200 --train-every 10 --checkpoint-dir ckpt
//   mpirun -np 2 ./cpp_embed --steps 400 --train-every 10 --checkpoint-dir ckpt --resume ckpt/last.ckpt
//
// Prints on rank 0, one line each (README.md describes them):
//   cpp_embed: ranks=<P> start_step=<0, or the resumed one> start_global_step=<optimizer steps then>
//              steps=<at the end> global_step=<optimizer steps> epochs=<training events>
//   cpp_embed: surrogate_rms=<rollout error> change_rms=<the solver's change> infer_steps=<S>
//   cpp_embed: train_loss=<last step's, mean over ranks> val_loss=<last validation's>
// and on every rank: cpp_embed: rank=<R> param_checksum=<FNV-1a of the weights' bytes>
#include <fulgur/distributed/mpi_process_group.h>
#include <fulgur/fulgur.h>
#include <mpi.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <string>
#include <vector>

#include "heat_solver.h"
#include "host_state.h"
#include "options.h"
#include "stencil_samples.h"
#include "surrogate.h"

using namespace fulgur;
using namespace cpp_embed;

namespace {

L::TrainerOptions trainer_options(MPI_Comm comm, const Options& o) {
  L::TrainerOptions t;
  t.max_epochs = -1;  // the host decides when training ends
  t.logger = false;
  t.enable_progress_bar = false;
  t.enable_model_summary = false;
  // Each rank feeds its own rows' samples: no DistributedSampler splitting them again.
  t.use_distributed_sampler = false;
  // Gradients averaged over the program's communicator (fulgur duplicates it, never touching
  // MPI_COMM_WORLD or MPI_Init/MPI_Finalize).
  t.strategy = std::make_shared<L::DDPStrategy>(
      L::DDPStrategyOptions{.process_group = distributed::mpi_process_group(comm)});
  t.enable_checkpointing = !o.checkpoint_dir.empty();
  if (*t.enable_checkpointing) {
    // Written by rank 0 at every epoch end (one epoch = one training event): the best one on
    // val_loss and last.ckpt, which --resume takes.
    t.callbacks.push_back(std::make_shared<L::callbacks::ModelCheckpoint>(L::callbacks::ModelCheckpointOptions{
        .dirpath = o.checkpoint_dir, .monitor = "val_loss", .save_last = true, .save_on_train_epoch_end = true}));
  }
  return t;
}

// sqrt(mean over the whole grid of (a - b)^2), interior points only.
double global_rms(const HeatSolver& grid, const std::vector<float>& a, const std::vector<float>& b) {
  double local = 0;
  for (int64_t i = 1; i <= grid.rows(); ++i) {
    for (int64_t j = 1; j <= grid.n(); ++j) {
      const double d = static_cast<double>(a[grid.at(i, j)]) - static_cast<double>(b[grid.at(i, j)]);
      local += d * d;
    }
  }
  double total = 0;
  MPI_Allreduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, grid.comm());
  return std::sqrt(total / static_cast<double>(grid.n() * grid.n()));
}

// The surrogate in place of the solver: `steps` steps from u (halos exchanged by the host, as
// its solver does), the features in a host buffer fulgur views.
std::vector<float> surrogate_rollout(StencilSurrogate& model, const HeatSolver& grid, std::vector<float> u,
                                     int64_t steps) {
  const int64_t points = grid.rows() * grid.n();
  std::vector<float> features(static_cast<size_t>(points * kFeatures));
  const Tensor x = from_blob(features.data(), {points, kFeatures}, DType::Float32);
  model.eval();
  NoGradGuard no_grad;
  for (int64_t s = 0; s < steps; ++s) {
    grid.exchange_halos(u);
    stencil_features(grid, u, features.data());
    const std::vector<float> next = model.forward(x).to_vector<float>();
    for (int64_t i = 1, p = 0; i <= grid.rows(); ++i) {
      for (int64_t j = 1; j <= grid.n(); ++j) u[grid.at(i, j)] = next[p++];
    }
  }
  return u;
}

int run(MPI_Comm comm, const Options& o) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  HeatSolver solver(comm, o.grid, o.r);
  solver.initial_condition();
  int64_t step = 0;
  HostState resumed;
  if (!o.resume.empty()) {
    resumed = load_host_state(host_state_path(o.resume, rank));
    FULGUR_CHECK(resumed.grid == o.grid && resumed.ranks == size && resumed.rank == rank && resumed.r == o.r &&
                     resumed.field.size() == solver.field().size(),
                 "cpp_embed --resume", host_state_path(o.resume, rank), " was written with --grid ", resumed.grid,
                 " --r ", resumed.r, " on ", resumed.ranks, " ranks (rank ", resumed.rank, "); this run has --grid ",
                 o.grid, " --r ", o.r, " on ", size, " ranks (rank ", rank, "); hint: resume with the same grid, "
                 "diffusion number and number of ranks");
    solver.field() = resumed.field;
    step = resumed.step;
  }

  StencilSurrogate model(o.hidden, o.lr);
  L::Trainer trainer(trainer_options(comm, o));
  trainer.fit_begin(model, {}, {.ckpt_path = o.resume});
  FULGUR_CHECK(o.resume.empty() ||
                   (trainer.current_epoch() == resumed.epoch && trainer.global_step() == resumed.global_step),
               "cpp_embed --resume", o.resume, " is at epoch ", trainer.current_epoch(), ", step ",
               trainer.global_step(), " but its host state at epoch ", resumed.epoch, ", step ", resumed.global_step,
               "; hint: the two files come from different runs (or a run stopped between writing them)");
  const int64_t start_step = step, start_global_step = trainer.global_step();

  StencilSamples samples(solver);
  data::DataLoader val_loader(std::make_shared<data::TensorDataset>(samples.val_inputs(), samples.val_targets()),
                              {.batch_size = samples.val_inputs().size(0)});
  const int64_t train_count = samples.train_inputs().size(0);
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  while (step < o.steps) {
    solver.step();
    ++step;
    if (step % o.train_every != 0) continue;
    // One training event = one epoch: minibatches of the samples just produced (views of the
    // host's buffers), validation on the held-out points, the epoch's end (checkpoints).
    samples.fill(solver);
    for (int64_t first = 0; first < train_count; first += o.batch) {
      const int64_t len = std::min(o.batch, train_count - first);
      trainer.fit_step(Value::list({samples.train_inputs().narrow(0, first, len),
                                    samples.train_targets().narrow(0, first, len)}));
    }
    const auto metrics = trainer.fit_validate(val_loader);
    if (auto it = metrics.find("val_loss"); it != metrics.end()) val_loss = it->second;
    trainer.fit_epoch_end();
    if (trainer.checkpoint_callback() != nullptr) {
      // The host's half of the checkpoint, next to the Trainer's last.ckpt (every rank its rows).
      save_host_state(host_state_path(trainer.checkpoint_callback()->last_model_path(), rank),
                      {.grid = o.grid, .ranks = size, .rank = rank, .r = o.r, .step = step,
                       .epoch = trainer.current_epoch(), .global_step = trainer.global_step(),
                       .field = solver.field()});
    }
    if (trainer.should_stop()) break;
  }
  const auto& cm = trainer.callback_metrics();
  const auto loss_it = cm.find("train_loss");
  const double train_loss = loss_it == cm.end() ? std::numeric_limits<double>::quiet_NaN() : loss_it->second;
  trainer.fit_end();

  // Inference: the surrogate advances the solver's current field; the solver does the same
  // steps for reference. change_rms is what "nothing changes" would miss by.
  HeatSolver reference = solver;
  for (int64_t s = 0; s < o.infer_steps; ++s) reference.step();
  const std::vector<float> predicted = surrogate_rollout(model, solver, solver.field(), o.infer_steps);
  const double surrogate_rms = global_rms(solver, predicted, reference.field());
  const double change_rms = global_rms(solver, solver.field(), reference.field());
  const uint64_t checksum = parameter_checksum(model);
  if (rank == 0) {
    std::printf("cpp_embed: ranks=%d start_step=%" PRId64 " start_global_step=%" PRId64 " steps=%" PRId64
                " global_step=%" PRId64 " epochs=%" PRId64 "\n",
                size, start_step, start_global_step, step, trainer.global_step(), trainer.current_epoch());
    std::printf("cpp_embed: surrogate_rms=%.17g change_rms=%.17g infer_steps=%" PRId64 "\n", surrogate_rms,
                change_rms, o.infer_steps);
    std::printf("cpp_embed: train_loss=%.17g val_loss=%.17g\n", train_loss, val_loss);
  }
  std::fflush(stdout);
  MPI_Barrier(comm);  // rank 0's summary first, then the checksums
  std::printf("cpp_embed: rank=%d param_checksum=%016" PRIx64 "\n", rank, checksum);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS ||
      provided < MPI_THREAD_SERIALIZED) {
    std::fprintf(stderr, "cpp_embed: MPI_Init_thread did not give MPI_THREAD_SERIALIZED\n");
    return 1;
  }
  // The program's own communicator: what a simulation hands to its libraries.
  MPI_Comm comm;
  MPI_Comm_dup(MPI_COMM_WORLD, &comm);
  int rc = 0;
  try {
    rc = run(comm, parse_options(argc, argv));
  } catch (const std::exception& e) {
    // Every rank sees the same flags and files, but a failure on one rank must not leave the
    // others waiting in a collective.
    std::fprintf(stderr, "cpp_embed: error: %s\n", e.what());
    MPI_Abort(comm, 2);
  }
  MPI_Comm_free(&comm);
  MPI_Finalize();
  return rc;
}
