// The fulgur_trainer handle: an L::Trainer, the adaptor module of the running fit, the host's
// callbacks, and the process group of a trainer made over the host's MPI communicator.
#pragma once

#include <memory>

#include "fulgur/distributed/process_group.h"
#include "fulgur/fulgur.h"
#include "fulgur/fulgur_c.h"

struct fulgur_trainer {
  std::shared_ptr<fulgur::distributed::ProcessGroup> process_group;  // null: one process / MPI_COMM_WORLD
  std::unique_ptr<fulgur::lightning::Trainer> trainer;
  std::unique_ptr<fulgur::lightning::LightningModule> module;  // between begin and end
  fulgur_step_callback on_train_batch_end = nullptr;
  fulgur_step_callback on_validation_end = nullptr;
  void* user_data = nullptr;
  // fulgur_trainer_set_lr_schedule: built by configure_optimizers at each begin.
  int32_t lr_schedule = FULGUR_LR_CONSTANT;
  double lr_param1 = 0;
  double lr_param2 = 0;
  int64_t lr_every_n_steps = 0;
};

namespace fulgur::capi {
// fulgur_trainer_create and fulgur_trainer_create_mpi (trainer_mpi.cc).
void create_trainer(const fulgur_trainer_options* options, std::shared_ptr<distributed::ProcessGroup> group,
                    fulgur_trainer** out);
}  // namespace fulgur::capi
