#include "fulgur/distributed/launch_environment.h"

#include <cerrno>
#include <cstdlib>
#include <optional>

#include "fulgur/kernels/error.h"

namespace fulgur::distributed {
namespace {

constexpr const char* kOp = "detect_launch_environment";

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] != '\0' ? v : nullptr;
}

// The variable's integer value; nullopt when unset. Garbage is an error, not a silent 0.
std::optional<int> env_int(const char* name) {
  const char* v = env(name);
  if (v == nullptr) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long value = std::strtol(v, &end, 10);
  FULGUR_CHECK(errno == 0 && end != v && *end == '\0' && value >= 0 && value <= (1L << 30), kOp,
               name, "='", printable(v, 60, true), "' is not a non-negative integer; hint: unset it ",
               "or fix the launcher's environment");
  return static_cast<int>(value);
}

// SLURM_NTASKS_PER_NODE is "2" or, with uneven nodes, "2(x3),1"; the first count is this
// layout's per-node size for block distribution, which is what node_rank needs.
std::optional<int> slurm_tasks_per_node() {
  const char* v = env("SLURM_NTASKS_PER_NODE");
  if (v == nullptr) return std::nullopt;
  char* end = nullptr;
  const long value = std::strtol(v, &end, 10);
  FULGUR_CHECK(end != v && value > 0, kOp, "SLURM_NTASKS_PER_NODE='", printable(v, 60, true),
               "' does not start with a positive count");
  return static_cast<int>(value);
}

void check_consistent(const LaunchEnvironment& e) {
  FULGUR_CHECK(e.world_size >= 1 && e.rank < e.world_size && e.local_world_size >= 1 &&
                   e.local_rank < e.local_world_size && e.local_world_size <= e.world_size,
               kOp, "inconsistent values from the ", e.launcher, " launcher: rank ", e.rank,
               " of world size ", e.world_size, ", local rank ", e.local_rank, " of ",
               e.local_world_size, "; hint: a variable from another launcher or an outer job ",
               "may be left in the environment");
}

}  // namespace

LaunchEnvironment detect_launch_environment() {
  LaunchEnvironment e;
  if (auto size = env_int("OMPI_COMM_WORLD_SIZE")) {
    e.launcher = "openmpi";
    e.world_size = *size;
    e.rank = env_int("OMPI_COMM_WORLD_RANK").value_or(0);
    e.local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK").value_or(e.rank);
    e.local_world_size = env_int("OMPI_COMM_WORLD_LOCAL_SIZE").value_or(e.world_size);
    e.node_rank = e.rank / e.local_world_size;
  } else if (env("SLURM_PROCID") != nullptr && env("SLURM_NTASKS") != nullptr) {
    e.launcher = "slurm";
    e.world_size = *env_int("SLURM_NTASKS");
    e.rank = *env_int("SLURM_PROCID");
    e.local_rank = env_int("SLURM_LOCALID").value_or(0);
    e.local_world_size = slurm_tasks_per_node().value_or(e.world_size);
    e.node_rank = env_int("SLURM_NODEID").value_or(e.rank / e.local_world_size);
  } else if (auto size = env_int("PMI_SIZE")) {
    e.launcher = "pmi";
    e.world_size = *size;
    e.rank = env_int("PMI_RANK").value_or(0);
    e.local_rank = env_int("MPI_LOCALRANKID").value_or(e.rank);
    e.local_world_size = env_int("MPI_LOCALNRANKS").value_or(e.world_size);
    e.node_rank = e.rank / e.local_world_size;
  } else if (auto size = env_int("WORLD_SIZE")) {
    e.launcher = "torchrun";
    e.world_size = *size;
    e.rank = env_int("RANK").value_or(0);
    e.local_rank = env_int("LOCAL_RANK").value_or(e.rank);
    e.local_world_size = env_int("LOCAL_WORLD_SIZE").value_or(e.world_size);
    e.node_rank = env_int("GROUP_RANK").value_or(e.rank / e.local_world_size);
  }
  check_consistent(e);
  return e;
}

}  // namespace fulgur::distributed
