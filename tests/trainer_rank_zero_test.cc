// rank_zero_printf: Lightning's rank_zero_warn / rank_zero_info print on global rank 0 only,
// with the rank read from the launcher's environment (set here with setenv, as torchrun and
// mpirun would). Under mpirun the Trainer's warnings are checked in trainer_ddp_mpi_test.
#include <cstdlib>
#include <string>

#include "fulgur/trainer/rank_zero.h"
#include "tests/test_util.h"

using fulgur::testing::captured_stderr;
namespace L = fulgur::lightning;

namespace {

// torchrun's variables for the scope (no other launcher's are set in a test).
class TorchrunEnv {
 public:
  TorchrunEnv(const char* world_size, const char* rank) {
    setenv("WORLD_SIZE", world_size, 1);
    setenv("RANK", rank, 1);
  }
  ~TorchrunEnv() {
    unsetenv("WORLD_SIZE");
    unsetenv("RANK");
  }
};

std::string printed() {
  return captured_stderr([] { L::rank_zero_printf("epoch %d of %s\n", 3, "fit"); });
}

}  // namespace

TEST_CASE("rank_zero_printf: one process is rank 0") {
  REQUIRE(fulgur::distributed::detect_launch_environment().launcher == "none");
  CHECK(L::is_rank_zero());
  CHECK(printed() == "epoch 3 of fit\n");
}

TEST_CASE("rank_zero_printf: global rank 0 of a job prints, the other ranks do not") {
  {
    TorchrunEnv env("2", "0");
    CHECK(L::is_rank_zero());
    CHECK(printed() == "epoch 3 of fit\n");
  }
  {
    TorchrunEnv env("2", "1");
    CHECK_FALSE(L::is_rank_zero());
    CHECK(printed().empty());
  }
  {
    TorchrunEnv env("4", "3");
    CHECK(printed().empty());
  }
}

TEST_CASE("rank_zero_printf: unreadable launcher variables count as rank 0 (the Trainer reports them)") {
  TorchrunEnv env("2", "one");
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
  TorchrunEnv env("2", "1");
  CHECK_FALSE(fulgur::testing::contains(precision_warning(), alias));
}
