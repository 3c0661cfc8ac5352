// CUDA tensors on the emulated device (kernels/cuda/emulated_device.h): Device::cuda(0) works
// on this machine without a GPU, its kernels are the CUDA kernel sources run by the SIMT
// emulator, and every family the CUDA backend has gives the CPU backend's results
// (tests/cuda_tensor_checks.h says where bit for bit and where within a stated tolerance).
// The same checks run on a real GPU in tests/gpu/cuda_tensor_gpu_test.cc.
#include <string>

#include "fulgur/kernels/allocator.h"
#include "fulgur/kernels/cuda/backend.h"
#include "fulgur/kernels/cuda/emulated_device.h"
#include "fulgur/tests/cuda_fused_checks.h"
#include "fulgur/tests/cuda_pinned_checks.h"
#include "fulgur/tests/cuda_tensor_checks.h"
#include "fulgur/tests/cuda_tensor_nn_checks.h"

using namespace fulgur;
using namespace fulgur::cuda_checks;

namespace {

// Every case starts here: the emulated device is enabled before the first CUDA tensor.
void use_emulated_device() { cuda::enable_emulated_device(); }

}  // namespace

TEST_CASE("the emulated device is cuda:0, says so, and uses the caching allocator") {
  use_emulated_device();
  CHECK(cuda::emulated_device_enabled());
  Tensor d = ones({5, 3}, {.device = kDev});
  CHECK(cuda::backend_kind() == cuda::BackendKind::Emulated);
  CHECK(cuda::tensor_device_name(0).find("emulated") != std::string::npos);
  CHECK(d.device() == Device::cuda(0));
  // 256-byte aligned memory, as cudaMalloc's (the caching allocator rounds blocks to 512).
  CHECK(reinterpret_cast<uintptr_t>(d.data_ptr()) % 256 == 0);
  const AllocatorStats before = allocator_for(DeviceType::CUDA).stats();
  { Tensor e = empty({1000}, {.device = kDev}); CHECK(allocator_for(DeviceType::CUDA).stats().current_bytes == before.current_bytes + 4000); }
  CHECK(allocator_for(DeviceType::CUDA).stats().current_bytes == before.current_bytes);
  // Printing shows the device and the values (brought to the host first).
  std::ostringstream os;
  os << d.sum({0});
  CHECK(os.str().find("device='cuda:0'") != std::string::npos);
  CHECK(os.str().find("5.") != std::string::npos);
  // Only cuda:0 exists.
  CHECK_THROWS_AS((void)empty({2}, {.device = Device::cuda(1)}), Error);
}

TEST_CASE("to(cuda) round trips every dtype and special value") {
  use_emulated_device();
  check_round_trip();
}

TEST_CASE("save and load of device tensors: location cuda:0, back on the device with a MapLocation") {
  use_emulated_device();
  check_save_load_on_device();
}

TEST_CASE("copy between every dtype pair, any strides, on cuda") {
  use_emulated_device();
  std::mt19937 rng(1);
  check_copy(rng);
}

TEST_CASE("fill on cuda") {
  use_emulated_device();
  std::mt19937 rng(2);
  check_fill(rng);
}

TEST_CASE("every unary op on cuda") {
  use_emulated_device();
  std::mt19937 rng(3);
  check_unary(rng, /*emulated=*/true);
}

TEST_CASE("every binary op on cuda") {
  use_emulated_device();
  std::mt19937 rng(4);
  check_binary(rng, /*emulated=*/true);
}

TEST_CASE("where and clamp on cuda") {
  use_emulated_device();
  std::mt19937 rng(5);
  check_where_clamp(rng);
}

TEST_CASE("reductions on cuda") {
  use_emulated_device();
  std::mt19937 rng(6);
  check_reduce(rng);
}

TEST_CASE("arange and linspace on cuda") {
  use_emulated_device();
  check_sequence();
}

TEST_CASE("errors: mixed devices, dtypes a CUDA kernel lacks") {
  use_emulated_device();
  check_errors();
}

TEST_CASE("matmul, batched and transposed, and linear on cuda; gradients through them") {
  use_emulated_device();
  std::mt19937 rng(13);
  check_matmul(rng);
  check_matmul_layouts(rng, /*large_shapes=*/false);
}

TEST_CASE("autograd on cuda gives the CPU's gradients") {
  use_emulated_device();
  std::mt19937 rng(7);
  check_autograd(rng, /*emulated=*/true);
}

TEST_CASE("gather, scatter, index_select and masked_select on cuda") {
  use_emulated_device();
  std::mt19937 rng(21);
  check_indexing(rng);
}

TEST_CASE("sort, argsort and topk on cuda") {
  use_emulated_device();
  std::mt19937 rng(22);
  check_sort(rng);
}

TEST_CASE("random fills: the CPU's Philox values for the same seed on cuda") {
  use_emulated_device();
  check_random(0.0);
}

TEST_CASE("unfold, fold, max pooling and conv2d on cuda") {
  use_emulated_device();
  std::mt19937 rng(23);
  check_windows(rng);
}

TEST_CASE("softmax and log_softmax along every dim on cuda") {
  use_emulated_device();
  std::mt19937 rng(24);
  check_softmax(rng);
}

TEST_CASE("a small CNN's loss and gradients on cuda") {
  use_emulated_device();
  std::mt19937 rng(25);
  check_cnn_gradients(rng);
}

TEST_CASE("cross_entropy through the fused kernels on cuda") {
  use_emulated_device();
  std::mt19937 rng(26);
  check_cross_entropy(rng);
}

TEST_CASE("layer_norm through the fused kernels on cuda") {
  use_emulated_device();
  std::mt19937 rng(27);
  check_layer_norm(rng);
}

TEST_CASE("Adam and AdamW through the multi-tensor kernel on cuda") {
  use_emulated_device();
  std::mt19937 rng(28);
  check_adam(rng);
}

TEST_CASE("GradScaler's fused unscale and inf check on cuda") {
  use_emulated_device();
  std::mt19937 rng(29);
  check_grad_scaler(rng);
}

TEST_CASE("pin_memory, non-blocking copies to cuda and the pinned allocator's cache") {
  use_emulated_device();
  std::mt19937 rng(30);
  check_pinned_memory(rng, /*real_gpu=*/false);
}
