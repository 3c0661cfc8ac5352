// A host program that runs MPI itself (its own main(): MPI_Init_thread before the tests,
// MPI_Finalize after): fulgur must neither initialise nor finalise MPI, and its groups must
// work over the host's communicators. Run by mpirun on 2 and 3 ranks (tests/BUILD).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <mpi.h>

#include <cstdio>

#include "fulgur/distributed/init_process_group.h"
#include "fulgur/distributed/mpi_process_group.h"
#include "fulgur/tests/test_util.h"

using namespace fulgur;

TEST_CASE("MPI initialised by the host: fulgur does not own it, and its groups work") {
  REQUIRE(distributed::mpi_is_initialized());
  auto world = distributed::init_process_group("mpi", {.timeout = std::chrono::seconds(60)});
  CHECK_FALSE(distributed::mpi_initialized_by_fulgur());
  int rank = -1, size = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CHECK(world->rank() == rank);
  CHECK(world->size() == size);
  Tensor t = full({4}, rank + 1.0);
  world->all_reduce(t);
  // 1 + 2 + ... + size on every element.
  CHECK(t.to_vector<float>() == std::vector<float>(4, size * (size + 1) / 2.0f));
  // A group over MPI_COMM_SELF: one rank, whatever the job's size.
  auto self = distributed::mpi_process_group(MPI_COMM_SELF);
  CHECK(self->size() == 1);
  CHECK(self->rank() == 0);
  CHECK(self->all_gather_bytes("x") == std::vector<std::string>{"x"});
}

int main(int argc, char** argv) {
  int provided = 0;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) return 1;
  doctest::Context context(argc, argv);
  int rc = context.run();
  // The groups are gone; MPI must still be up (fulgur registered no MPI_Finalize of its own).
  int finalized = 1;
  MPI_Finalized(&finalized);
  if (finalized) {
    std::fprintf(stderr, "FAILED: MPI was finalized before the host's MPI_Finalize\n");
    rc = 1;
  }
  MPI_Finalize();
  return rc;
}
