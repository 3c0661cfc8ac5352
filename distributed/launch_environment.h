// Where this process sits in a job, read from the launcher's environment variables (no MPI
// call, so it works before any process group exists and in processes that never make one).
//
// Checked in this order; the first launcher whose variables are present wins:
//   "openmpi"  mpirun (Open MPI): OMPI_COMM_WORLD_SIZE, _RANK, _LOCAL_RANK, _LOCAL_SIZE
//   "slurm"    srun: SLURM_NTASKS, SLURM_PROCID, SLURM_LOCALID, SLURM_NODEID,
//              SLURM_NTASKS_PER_NODE (only under srun: a batch script's own shell has
//              SLURM_NTASKS but no SLURM_PROCID, and is not a rank)
//   "pmi"      MPICH / Intel MPI (hydra): PMI_SIZE, PMI_RANK (MPI_LOCALRANKID and
//              MPI_LOCALNRANKS when hydra sets them)
//   "torchrun" WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK (last resort: these
//              names are generic enough that other tools may set them)
//   "none"     nothing set: one process, rank 0 of 1.
// node_rank = rank / local_world_size when the launcher does not give it (ranks filled node by
// node, the default of mpirun, srun's block distribution and torchrun).
#pragma once

#include <string>

namespace fulgur::distributed {

struct LaunchEnvironment {
  int world_size = 1;
  int rank = 0;
  int local_rank = 0;
  int local_world_size = 1;
  int node_rank = 0;
  std::string launcher = "none";  // "openmpi", "slurm", "pmi", "torchrun", "none"
};

// Throws fulgur::Error naming the variable when one is present but not a valid number, or
// when the values are inconsistent (rank outside [0, world_size), ...).
LaunchEnvironment detect_launch_environment();

}  // namespace fulgur::distributed
