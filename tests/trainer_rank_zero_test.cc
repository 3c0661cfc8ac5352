// rank_zero_printf: Lightning's rank_zero_warn / rank_zero_info print on global rank 0 only,
// with the rank read from the launcher's environment (set here with setenv, as torchrun and
// mpirun would). Under mpirun the Trainer's warnings are checked in trainer_ddp_mpi_test.
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "fulgur/trainer/rank_zero.h"
#include "tests/test_util.h"

using fulgur::testing::captured_stderr;
namespace L = fulgur::lightning;

namespace {

// The launchers' variables (distributed/launch_environment.h) as given for the scope: the others
// unset, all of them restored afterwards, so the test does not depend on how it was started.
class LauncherEnv {
 public:
  explicit LauncherEnv(std::initializer_list<std::pair<const char*, const char*>> vars = {}) {
    for (const char* name : kNames) {
      if (const char* v = std::getenv(name)) saved_.emplace_back(name, v);
      unsetenv(name);
    }
    for (const auto& [name, value] : vars) setenv(name, value, 1);
  }
  ~LauncherEnv() {
    for (const char* name : kNames) unsetenv(name);
    for (const auto& [name, value] : saved_) setenv(name.c_str(), value.c_str(), 1);
  }

 private:
  static constexpr const char* kNames[] = {
      "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE",
      "SLURM_NTASKS",         "SLURM_PROCID",         "SLURM_LOCALID",              "SLURM_NODEID",
      "SLURM_NTASKS_PER_NODE", "PMI_SIZE",            "PMI_RANK",                   "MPI_LOCALRANKID",
      "MPI_LOCALNRANKS",      "WORLD_SIZE",           "RANK",                       "LOCAL_RANK",
      "LOCAL_WORLD_SIZE",     "GROUP_RANK"};
  std::vector<std::pair<std::string, std::string>> saved_;
};

std::string printed() {
  return captured_stderr([] { L::rank_zero_printf("epoch %d of %s\n", 3, "fit"); });
}

}  // namespace

TEST_CASE("rank_zero_printf: one process is rank 0") {
  LauncherEnv env;
  REQUIRE(fulgur::distributed::detect_launch_environment().launcher == "none");
  CHECK(L::is_rank_zero());
  CHECK(printed() == "epoch 3 of fit\n");
}

TEST_CASE("rank_zero_printf: global rank 0 of a job prints, the other ranks do not") {
  {
    LauncherEnv env({{"WORLD_SIZE", "2"}, {"RANK", "0"}});
    CHECK(L::is_rank_zero());
    CHECK(printed() == "epoch 3 of fit\n");
  }
  {
    LauncherEnv env({{"WORLD_SIZE", "2"}, {"RANK", "1"}});
    CHECK_FALSE(L::is_rank_zero());
    CHECK(printed().empty());
  }
  {
    LauncherEnv env({{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_RANK", "3"}});
    CHECK(printed().empty());
  }
}

TEST_CASE("rank_zero_printf: unreadable launcher variables count as rank 0 (the Trainer reports them)") {
  LauncherEnv env({{"WORLD_SIZE", "2"}, {"RANK", "one"}});
  CHECK_THROWS_AS(fulgur::distributed::detect_launch_environment(), fulgur::Error);
  CHECK(L::is_rank_zero());
  CHECK(printed() == "epoch 3 of fit\n");
}

TEST_CASE("rank_zero_printf: a Trainer's warnings print on rank 0 only") {
  const auto precision_warning = [] {
    return captured_stderr([] { L::Trainer trainer({.accelerator = "cpu", .precision = "bf16"}); });
  };
  const std::string alias = "`precision=bf16` is supported for historical reasons but its usage is discouraged.";
  CHECK(fulgur::testing::contains(precision_warning(), alias));
  LauncherEnv env({{"WORLD_SIZE", "2"}, {"RANK", "1"}});
  CHECK_FALSE(fulgur::testing::contains(precision_warning(), alias));
}
