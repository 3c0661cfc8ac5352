// The MPI backend of ProcessGroup: every collective of process_group.h on CPU tensors of every
// dtype, with the agreement check and timeouts, over Open MPI (or any MPI-3 library).
//
// The only header of the project that includes <mpi.h>: code that does not hold an MPI_Comm
// uses distributed/init_process_group.h instead.
//
// Thread use: one thread at a time per group (fulgur asks for MPI_THREAD_SERIALIZED).
// Collectives are non-blocking MPI calls (MPI_Iallreduce, ...) polled with MPI_Test until done
// or until options().timeout; see mpi_process_group.cc for the polling and the dtype mapping.
#pragma once

#include <mpi.h>

#include <memory>

#include "fulgur/distributed/process_group.h"

namespace fulgur::distributed {

// A group over the caller's communicator, for programs that run MPI themselves. The
// communicator is duplicated (MPI_Comm_idup), so fulgur's messages never match the host's,
// and the duplicate is freed when the group is destroyed. Never calls MPI_Init or
// MPI_Finalize and never touches MPI_COMM_WORLD. Collective over `comm` (every rank of it
// must call). Throws fulgur::Error when MPI is not initialised (or already finalised).
std::shared_ptr<ProcessGroup> mpi_process_group(MPI_Comm comm, ProcessGroupOptions options = {});

// A group over (a duplicate of) MPI_COMM_WORLD. Initialises MPI (MPI_Init_thread,
// MPI_THREAD_SERIALIZED) when nobody has; in that case only, fulgur owns MPI and calls
// MPI_Finalize at process exit (std::atexit). When the host already initialised MPI, it keeps
// owning it. When it initialises MPI it also sets OMPI_MCA_coll_libnbc_iallreduce_algorithm=3
// unless set (Open MPI's non-blocking all-reduce at full bandwidth; mpi_process_group.cc).
// Same as init_process_group("mpi", options) (init_process_group.h).
std::shared_ptr<ProcessGroup> init_mpi_process_group(ProcessGroupOptions options = {});

}  // namespace fulgur::distributed
