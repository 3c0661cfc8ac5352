#include "fulgur/distributed/self_process_group.h"

#include <cstdio>
#include <cstdlib>

#include "fulgur/kernels/error.h"
#include "fulgur/tensor/shape.h"

namespace fulgur::distributed {
namespace {

// Already complete: on one rank there is nobody to wait for.
class DoneWork final : public Work {
 public:
  bool test() override { return true; }
  void wait() override {}
};

void check_defined(const Tensor& tensor, const char* op) {
  FULGUR_CHECK(tensor.defined(), op, "the tensor is undefined; hint: pass a tensor made by a factory (zeros, ...)");
}

}  // namespace

void SelfProcessGroup::all_reduce(Tensor& tensor, ReduceOp op) {
  // The reduction of one value is that value (Avg: divided by a world size of 1).
  check_defined(tensor, "SelfProcessGroup::all_reduce");
}

std::unique_ptr<Work> SelfProcessGroup::all_reduce_async(Tensor tensor, ReduceOp op) {
  check_defined(tensor, "SelfProcessGroup::all_reduce_async");
  return std::make_unique<DoneWork>();
}

void SelfProcessGroup::broadcast(Tensor& tensor, int root) {
  check_defined(tensor, "SelfProcessGroup::broadcast");
  FULGUR_CHECK(root == 0, "SelfProcessGroup::broadcast", "root ", root,
               " is not a rank of this group (world size 1: the only rank is 0)");
}

Tensor SelfProcessGroup::all_gather(const Tensor& tensor) {
  check_defined(tensor, "SelfProcessGroup::all_gather");
  // A new tensor, as from the other backends: the caller may write into it.
  return tensor.clone().unsqueeze(0);
}

Tensor SelfProcessGroup::reduce_scatter(const Tensor& input, ReduceOp op) {
  const char* name = "SelfProcessGroup::reduce_scatter";
  check_defined(input, name);
  FULGUR_CHECK(input.dim() >= 1, name, "input must have a first dimension to split across ranks, got shape ",
               shape_str(input.sizes()));
  return input.clone();
}

std::string SelfProcessGroup::broadcast_bytes(const std::string& bytes, int root) {
  FULGUR_CHECK(root == 0, "SelfProcessGroup::broadcast_bytes", "root ", root,
               " is not a rank of this group (world size 1: the only rank is 0)");
  return bytes;
}

void SelfProcessGroup::abort(int exit_code, const std::string& why) {
  std::fprintf(stderr, "fulgur: aborting the job (exit code %d): %s\n", exit_code, why.c_str());
  std::fflush(nullptr);
  std::_Exit(exit_code);
}

}  // namespace fulgur::distributed
