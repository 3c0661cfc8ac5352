// The NCCL backend where there is no GPU (CI, the development machines): what the build says
// about NCCL, and the errors a user gets instead of a hang or a crash. The collectives
// themselves need a device: tests/gpu/nccl_process_group_gpu_test.cc.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "fulgur/distributed/nccl_process_group.h"
#include "fulgur/distributed/self_process_group.h"
#include "fulgur/kernels/cuda/runtime.h"
#include "tests/test_util.h"
#if FULGUR_WITH_NCCL
#include <nccl.h>
#endif

using namespace fulgur;
using namespace fulgur::distributed;

namespace {

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

TEST_CASE("nccl_is_available and nccl_version reflect the build") {
#if FULGUR_WITH_NCCL
  // The expected version comes from the toolkit's own nccl.h; nccl_version() asks the library
  // loaded at run time (ncclGetVersion) and decodes its integer.
  CHECK(nccl_is_available());
  CHECK(nccl_unavailable_reason().empty());
  CHECK(nccl_version() == std::to_string(NCCL_MAJOR) + "." + std::to_string(NCCL_MINOR) + "." +
                              std::to_string(NCCL_PATCH));
  MESSAGE("built with NCCL " << nccl_version());
#else
  CHECK_FALSE(nccl_is_available());
  CHECK(contains(nccl_unavailable_reason(), "built without NCCL"));
  CHECK(nccl_version().empty());
  MESSAGE("NCCL unavailable: " << nccl_unavailable_reason());
#endif
}

TEST_CASE("creating an NCCL group without a usable device is a clear error, not a hang") {
  if (cuda::is_available()) {
    MESSAGE("this machine has a CUDA device: the no-device error is not reachable here");
    return;
  }
  auto bootstrap = std::make_shared<SelfProcessGroup>();
  const std::string message = error_of([&] { nccl_process_group(bootstrap, 0); });
  MESSAGE("the error: " << message);
  CHECK(contains(message, "nccl_process_group"));
  if (nccl_is_available()) {
    // The failing rank is named with the reason the CUDA runtime gave (runtime.h).
    CHECK(contains(message, "ranks that could not take part"));
    CHECK(contains(message, "rank 0: "));
    CHECK(contains(message, "no usable CUDA device"));
    CHECK(contains(message, cuda::unavailable_reason()));
  } else {
    CHECK(contains(message, nccl_unavailable_reason()));
  }
  // The bootstrap group is still usable: nothing was left half-done on it.
  CHECK_FALSE(bootstrap->broken());
  CHECK(bootstrap->broadcast_bytes("still here") == "still here");
}

TEST_CASE("bad arguments to nccl_process_group") {
  if (!nccl_is_available()) {
    // Every call reports the missing NCCL first, whatever else is wrong.
    CHECK(contains(error_of([] { nccl_process_group(nullptr, 0); }), "built without NCCL"));
    return;
  }
  CHECK(contains(error_of([] { nccl_process_group(nullptr, 0); }), "the bootstrap group is null"));
  auto bootstrap = std::make_shared<SelfProcessGroup>();
  CHECK(contains(error_of([&] { nccl_process_group(bootstrap, 0, {.timeout = std::chrono::milliseconds(0)}); }),
                 "options.timeout must be positive"));
  if (!cuda::is_available()) {
    // A device number past the end gives the same "no device" answer here; with a GPU it would
    // name the valid range (checked by the GPU test).
    CHECK(contains(error_of([&] { nccl_process_group(bootstrap, 7); }), "rank 0: "));
  }
}

TEST_CASE("the NCCL backend's Tensor methods take CUDA tensors of the rank's device and say what to use") {
  // Every Tensor method of NcclProcessGroup checks this after the ranks agreed (the GPU test
  // checks it on a real group).
  const Tensor t = zeros({2, 3});
  const std::string message = error_of([&] { require_nccl_tensor("NcclProcessGroup::all_reduce", t, 1); });
  CHECK(contains(message, "NcclProcessGroup::all_reduce"));
  CHECK(contains(message, "needs CUDA tensors on this rank's device cuda:1"));
  CHECK(contains(message, "cpu tensor of shape [2, 3] float32"));
  CHECK(contains(message, ".to(Device::cuda(1))"));
  CHECK(contains(message, "MPI backend"));
  CHECK(contains(error_of([] { require_nccl_tensor("NcclProcessGroup::broadcast", Tensor(), 0); }),
                 "an undefined tensor"));
}
