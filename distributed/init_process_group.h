// Making a process group without <mpi.h>: what the Trainer and user code call. The processes
// come from the launcher (mpirun, srun; distributed/launch_environment.h says which rank this
// process is before any group exists).
#pragma once

#include <memory>
#include <string>

#include "fulgur/distributed/process_group.h"

namespace fulgur::distributed {

// backend "mpi": init_mpi_process_group(options) (distributed/mpi_process_group.h): a group
// over MPI_COMM_WORLD, initialising MPI if nobody did. Other names throw fulgur::Error (the
// NCCL backend is built over an existing group: distributed/nccl_process_group.h).
std::shared_ptr<ProcessGroup> init_process_group(const std::string& backend,
                                                 ProcessGroupOptions options = {});

// MPI_Initialized() and not yet MPI_Finalized(): whether an MPI group can be made now without
// initialising MPI.
bool mpi_is_initialized();

// Whether fulgur itself called MPI_Init_thread (and will call MPI_Finalize at exit).
bool mpi_initialized_by_fulgur();

}  // namespace fulgur::distributed
