// InferenceSession on arbitrary bytes: protobuf parsing (libonnx's classes), the model checks
// (opsets, dims, initializers, graph wiring, unknown ops), then, when a model loads and all
// its input shapes are known and small, one run on zero inputs (shape inference and kernels
// on hostile attributes). Shapes computed from data (Tile repeats, Expand) can ask for
// gigabytes legitimately; a 32 MiB memory limit makes that a fulgur::Error, not an OOM, and
// bounds the work of one input (at 256 MiB a legitimate 60M-element copy took > 10 s under
// the sanitizers, which libFuzzer reports as a timeout).
#include <string>
#include <vector>

#include "fulgur/kernels/allocator.h"
#include "fulgur/kernels/backends.h"
#include "fulgur/nn/onnx/session.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool limited = [] {
    fulgur::kernels::ensure_backends_registered();
    fulgur::allocator_for(fulgur::DeviceType::CPU).set_memory_limit(int64_t{32} << 20);
    return true;
  }();
  (void)limited;
  fulgur::fuzz::expect_only_errors([&] {
    const auto session =
        fulgur::onnx::InferenceSession::from_bytes(std::string(reinterpret_cast<const char*>(data), size));
    std::vector<fulgur::Tensor> inputs;
    for (const fulgur::onnx::ValueInfo& in : session.inputs()) {
      if (!in.shape_known) return;
      int64_t numel = 1;
      for (int64_t d : in.shape) {
        if (d < 0 || d > 64) return;
        numel *= d;
      }
      if (numel > 4096) return;
      inputs.push_back(fulgur::zeros(in.shape, {.dtype = in.has_dtype ? in.dtype : fulgur::kFloat32}));
    }
    (void)session.run(inputs);
  });
  return 0;
}
