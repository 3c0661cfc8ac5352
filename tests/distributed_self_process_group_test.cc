// SelfProcessGroup: the collectives of a one-process job. Expectations are torch.distributed's
// results for world size 1: reductions and broadcast leave the values, all_gather stacks the
// one tensor, reduce_scatter returns the input; results are new tensors, never views of inputs.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fulgur/distributed/self_process_group.h"
#include "tests/test_util.h"

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

}  // namespace

TEST_CASE("SelfProcessGroup: rank 0 of 1") {
  SelfProcessGroup group({.timeout = std::chrono::seconds(30)});
  CHECK(group.backend() == "self");
  CHECK(group.rank() == 0);
  CHECK(group.size() == 1);
  CHECK(group.options().timeout == std::chrono::seconds(30));
  CHECK_FALSE(group.broken());
}

TEST_CASE("SelfProcessGroup: all_reduce leaves every dtype's values, for every op") {
  SelfProcessGroup group;
  for (DType dtype : testing::all_dtypes()) {
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Avg, ReduceOp::Max, ReduceOp::Min}) {
      CAPTURE(dtype);
      CAPTURE(to_string(op));
      Tensor t = arange(6).reshape({2, 3}).to(dtype);
      const std::vector<double> before = t.to_vector<double>();
      group.all_reduce(t, op);
      CHECK(t.to_vector<double>() == before);
      group.all_reduce_async(t, op)->wait();
      CHECK(t.to_vector<double>() == before);
    }
  }
}

TEST_CASE("SelfProcessGroup: broadcast, all_gather, reduce_scatter") {
  SelfProcessGroup group;
  Tensor t = tensor({1.5f, -2.0f, 3.25f});
  group.broadcast(t, 0);
  CHECK(t.to_vector<float>() == std::vector<float>{1.5f, -2.0f, 3.25f});

  Tensor gathered = group.all_gather(t);
  CHECK(gathered.sizes() == IntArrayRef({1, 3}));
  CHECK(gathered.to_vector<float>() == std::vector<float>{1.5f, -2.0f, 3.25f});
  gathered.fill_(0);  // a copy: the input is untouched
  CHECK(t.to_vector<float>() == std::vector<float>{1.5f, -2.0f, 3.25f});

  // Non-contiguous input: the values in logical order.
  Tensor m = arange(6, {.dtype = kInt64}).reshape({2, 3}).t();
  Tensor scattered = group.reduce_scatter(m, ReduceOp::Sum);
  CHECK(scattered.sizes() == IntArrayRef({3, 2}));
  CHECK(scattered.to_vector<int64_t>() == std::vector<int64_t>{0, 3, 1, 4, 2, 5});
  scattered.fill_(7);
  CHECK(m.to_vector<int64_t>() == std::vector<int64_t>{0, 3, 1, 4, 2, 5});

  // Empty tensors are allowed.
  Tensor empty = zeros({0, 4});
  group.all_reduce(empty);
  CHECK(group.all_gather(empty).sizes() == IntArrayRef({1, 0, 4}));
  group.barrier();
}

TEST_CASE("SelfProcessGroup: bytes and errors") {
  SelfProcessGroup group;
  CHECK(group.all_gather_bytes(std::string("a\0b", 3)) == std::vector<std::string>{std::string("a\0b", 3)});
  CHECK(group.broadcast_bytes("keys") == "keys");

  Tensor t = zeros({2});
  CHECK(error_of([&] { group.broadcast(t, 1); }).find("root 1 is not a rank of this group") != std::string::npos);
  CHECK(error_of([&] { group.broadcast_bytes("x", -1); }).find("root -1") != std::string::npos);
  CHECK(error_of([&] { group.reduce_scatter(scalar_tensor(1.0)); }).find("first dimension") != std::string::npos);
  Tensor undefined;
  CHECK(error_of([&] { group.all_reduce(undefined); }).find("undefined") != std::string::npos);
}
