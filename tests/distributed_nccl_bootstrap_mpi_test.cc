// nccl_process_group over a real MPI bootstrap (mpirun -np 2 and 3; tests/BUILD), on machines
// without a GPU: the start-up exchange must make every rank fail with the same list of ranks
// that could not take part, and leave the MPI group usable, instead of one rank throwing while
// the others wait for it in NCCL. (The collectives need GPUs: tests/gpu/.)
#include <mpi.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "fulgur/distributed/init_process_group.h"
#include "fulgur/distributed/launch_environment.h"
#include "fulgur/distributed/nccl_process_group.h"
#include "fulgur/kernels/cuda/runtime.h"
#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::distributed;

namespace {

std::shared_ptr<ProcessGroup> world() {
  static std::shared_ptr<ProcessGroup> group = init_process_group("mpi", {.timeout = std::chrono::seconds(60)});
  return group;
}

std::string error_of(const auto& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("every rank fails together, naming every rank without a device, and MPI still works") {
  auto group = world();
  const int size = group->size();
  if (cuda::is_available()) {
    MESSAGE("this machine has a CUDA device: the no-device path is not reachable here");
    return;
  }
  const int device = detect_launch_environment().local_rank;
  const auto start = std::chrono::steady_clock::now();
  const std::string message = error_of([&] { nccl_process_group(group, device); });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(seconds < 30);  // an answer, not a wait for the 60 s timeout
  CHECK(contains(message, "nccl_process_group"));

  std::string failures;
  if (!nccl_is_available()) {
    // No exchange without NCCL: every rank throws at once, for the same reason.
    CHECK(contains(message, "built without NCCL"));
    failures = message;
  } else {
    CHECK(contains(message, "cannot create the NCCL communicator of " + std::to_string(size) + " rank(s)"));
    const std::string marker = "ranks that could not take part:";
    REQUIRE(contains(message, marker));
    failures = message.substr(message.find(marker));
    for (int r = 0; r < size; ++r) {
      CAPTURE(r);
      CHECK(contains(failures, "\n  rank " + std::to_string(r) + ": "));
    }
    CHECK(contains(failures, "no usable CUDA device"));
  }
  // The same list on every rank, and the bootstrap group is fine after the failed start.
  const std::vector<std::string> all = group->all_gather_bytes(failures);
  REQUIRE(static_cast<int>(all.size()) == size);
  for (int r = 0; r < size; ++r) CHECK(all[static_cast<size_t>(r)] == failures);
  CHECK_FALSE(group->broken());
  group->barrier();
}
