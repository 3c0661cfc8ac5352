// fulgur_trainer_create_mpi: a trainer whose DDP group is the host's communicator.
#include "fulgur/fulgur_c_mpi.h"

#include "capi/handles.h"
#include "capi/trainer_handle.h"
#include "fulgur/distributed/mpi_process_group.h"

using namespace fulgur;
using namespace fulgur::capi;

extern "C" {

fulgur_status fulgur_trainer_create_mpi(const fulgur_trainer_options* options, MPI_Fint comm, fulgur_trainer** out) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) fail(FULGUR_INVALID_ARGUMENT, "MPI is not initialised; hint: call MPI_Init before");
    create_trainer(options, distributed::mpi_process_group(MPI_Comm_f2c(comm)), out);
  });
}

}  // extern "C"
