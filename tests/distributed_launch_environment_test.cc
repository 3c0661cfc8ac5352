// detect_launch_environment from each launcher's variables (set with setenv, as mpirun, srun,
// hydra and torchrun would; expected values written from those launchers' documentation).
// Under mpirun it is checked against MPI itself: distributed_collectives_mpi_test.
#include <cstdlib>
#include <string>

#include "fulgur/distributed/launch_environment.h"
#include "fulgur/tests/test_util.h"

using fulgur::Error;
using fulgur::distributed::detect_launch_environment;
using fulgur::distributed::LaunchEnvironment;

namespace {

// Clears every variable the detector reads, and sets the given ones for the scope.
class ScopedEnv {
 public:
  explicit ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> vars) {
    clear();
    for (const auto& [name, value] : vars) setenv(name, value, 1);
  }
  ~ScopedEnv() { clear(); }

 private:
  static void clear() {
    for (const char* name :
         {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK",
          "OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID",
          "SLURM_NODEID", "SLURM_NTASKS_PER_NODE", "PMI_SIZE", "PMI_RANK", "MPI_LOCALRANKID",
          "MPI_LOCALNRANKS", "WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE",
          "GROUP_RANK"}) {
      unsetenv(name);
    }
  }
};

void check_env(const LaunchEnvironment& e, const char* launcher, int world, int rank, int local,
               int local_world, int node) {
  CHECK(e.launcher == launcher);
  CHECK(e.world_size == world);
  CHECK(e.rank == rank);
  CHECK(e.local_rank == local);
  CHECK(e.local_world_size == local_world);
  CHECK(e.node_rank == node);
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("nothing set: one process") {
  ScopedEnv env({});
  check_env(detect_launch_environment(), "none", 1, 0, 0, 1, 0);
}

TEST_CASE("Open MPI's mpirun: 8 ranks, 4 per node; node_rank derived") {
  ScopedEnv env({{"OMPI_COMM_WORLD_SIZE", "8"},
                 {"OMPI_COMM_WORLD_RANK", "6"},
                 {"OMPI_COMM_WORLD_LOCAL_RANK", "2"},
                 {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}});
  check_env(detect_launch_environment(), "openmpi", 8, 6, 2, 4, 1);
}

TEST_CASE("Slurm's srun: node id given, uneven tasks-per-node list") {
  ScopedEnv env({{"SLURM_NTASKS", "5"},
                 {"SLURM_PROCID", "4"},
                 {"SLURM_LOCALID", "1"},
                 {"SLURM_NODEID", "1"},
                 {"SLURM_NTASKS_PER_NODE", "3,2"}});
  check_env(detect_launch_environment(), "slurm", 5, 4, 1, 3, 1);
}

TEST_CASE("a Slurm batch shell (no SLURM_PROCID) is not a rank") {
  ScopedEnv env({{"SLURM_NTASKS", "4"}, {"SLURM_NTASKS_PER_NODE", "2"}});
  check_env(detect_launch_environment(), "none", 1, 0, 0, 1, 0);
}

TEST_CASE("MPICH / hydra: PMI_SIZE and PMI_RANK, local ranks when given") {
  {
    ScopedEnv env({{"PMI_SIZE", "4"}, {"PMI_RANK", "3"}});
    check_env(detect_launch_environment(), "pmi", 4, 3, 3, 4, 0);
  }
  ScopedEnv env({{"PMI_SIZE", "4"}, {"PMI_RANK", "3"}, {"MPI_LOCALRANKID", "1"}, {"MPI_LOCALNRANKS", "2"}});
  check_env(detect_launch_environment(), "pmi", 4, 3, 1, 2, 1);
}

TEST_CASE("torchrun's variables as a last resort; Open MPI's win when both are set") {
  {
    ScopedEnv env({{"WORLD_SIZE", "4"}, {"RANK", "3"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"}});
    check_env(detect_launch_environment(), "torchrun", 4, 3, 1, 2, 1);
  }
  ScopedEnv env({{"WORLD_SIZE", "4"}, {"RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_RANK", "1"}});
  check_env(detect_launch_environment(), "openmpi", 2, 1, 1, 2, 0);
}

TEST_CASE("bad values are errors naming the variable") {
  {
    ScopedEnv env({{"OMPI_COMM_WORLD_SIZE", "two"}});
    CHECK(error_of([] { detect_launch_environment(); })
              .find("detect_launch_environment: OMPI_COMM_WORLD_SIZE='two' is not a non-negative integer") !=
          std::string::npos);
  }
  ScopedEnv env({{"PMI_SIZE", "2"}, {"PMI_RANK", "2"}});
  CHECK(error_of([] { detect_launch_environment(); })
            .find("inconsistent values from the pmi launcher: rank 2 of world size 2") != std::string::npos);
}
