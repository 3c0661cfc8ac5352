#include "fulgur/trainer/precision.h"

#include <array>
#include <string_view>

#include "fulgur/kernels/error.h"

namespace fulgur::lightning {
namespace {

// Lightning's _PRECISION_INPUT_STR, then the ints and the string aliases, in the order its
// "Allowed precision values" message prints them.
constexpr std::array<std::string_view, 8> kFlags = {"transformer-engine", "transformer-engine-float16", "16-true",
                                                    "16-mixed", "bf16-true", "bf16-mixed", "32-true", "64-true"};

Value convert_floating(const Value& v, DType dtype) {
  if (v.is_tensor()) return v.as_tensor().is_floating_point() ? Value(v.as_tensor().to(dtype)) : v;
  if (v.is_list() || v.is_tuple()) {
    std::vector<Value> items;
    for (const Value& e : v.elements()) items.push_back(convert_floating(e, dtype));
    return v.is_list() ? Value::list(std::move(items)) : Value::tuple(std::move(items));
  }
  if (v.is_dict()) {
    Value out = Value::dict();
    for (const Value::Item& item : v.items()) out.set(item.first, convert_floating(item.second, dtype));
    return out;
  }
  return v;
}

}  // namespace

TruePrecision::TruePrecision(DType dtype) : dtype_(dtype) {
  FULGUR_CHECK(dtype == DType::Float64 || dtype == DType::BFloat16 || dtype == DType::Float16, "Precision",
               "no true-precision plugin for ", dtype, "; hint: float64, bfloat16 or float16");
}

std::string TruePrecision::precision() const {
  return dtype_ == DType::Float64 ? "64-true" : dtype_ == DType::BFloat16 ? "bf16-true" : "16-true";
}

std::string TruePrecision::class_name() const { return dtype_ == DType::Float64 ? "DoublePrecision" : "HalfPrecision"; }

void TruePrecision::convert_module(nn::Module& module) { module.to(dtype_); }

Value TruePrecision::convert_input(const Value& batch) const { return convert_floating(batch, dtype_); }

MixedPrecision::MixedPrecision(std::string precision, Device device)
    : precision_(std::move(precision)), device_(device) {
  FULGUR_CHECK(precision_ == "bf16-mixed" || precision_ == "16-mixed", "MixedPrecision",
               "`precision=", precision_, "` does not use mixed precision; hint: \"bf16-mixed\" or \"16-mixed\"");
}

std::unique_ptr<AutocastGuard> MixedPrecision::forward_context() const {
  return std::make_unique<AutocastGuard>(device_, precision_ == "bf16-mixed" ? DType::BFloat16 : DType::Float16);
}

std::string canonical_precision(const std::string& flag, std::string* warning) {
  if (warning != nullptr) warning->clear();
  for (std::string_view f : kFlags)
    if (flag == f) return flag;
  if (flag == "64" || flag == "32") return flag + "-true";
  if (flag == "16" || flag == "bf16") {
    const std::string canonical = flag + "-mixed";
    if (warning != nullptr)
      *warning = "`precision=" + flag + "` is supported for historical reasons but its usage is discouraged. "
                 "Please set your precision to " + canonical + " instead!";
    return canonical;
  }
  std::string allowed;
  for (std::string_view f : kFlags) allowed += "'" + std::string(f) + "', ";
  allowed += "64, 32, 16, '64', '32', '16', 'bf16'";
  FULGUR_FAIL("Trainer", "Precision '", flag, "' is invalid. Allowed precision values: (", allowed, ")");
}

std::unique_ptr<Precision> make_precision(const std::string& flag, Device device) {
  if (flag == "32-true") return std::make_unique<Precision>();
  if (flag == "64-true") return std::make_unique<TruePrecision>(DType::Float64);
  // CUDA tensors have float32/float64 GEMMs only so far (docs/CUDA.md): a 16-bit run would fail
  // at its first matmul, so it is refused here, before any work.
  FULGUR_CHECK(device.type == DeviceType::CPU, "Trainer", "`precision='", flag, "'` on ", device,
               " is not available yet: the CUDA backend has no float16/bfloat16 GEMM in its kernel table; hint: "
               "precision=\"32-true\" (or \"64-true\") on CUDA, or accelerator=\"cpu\" with \"bf16-mixed\"");
  if (flag == "bf16-true") return std::make_unique<TruePrecision>(DType::BFloat16);
  if (flag == "bf16-mixed") return std::make_unique<MixedPrecision>("bf16-mixed", device);
  // Lightning falls back to "bf16-mixed" with a warning for "16-mixed" on CPU; a run that asked
  // for float16 with a GradScaler should not silently train in another dtype.
  FULGUR_CHECK(flag != "16-mixed", "Trainer", "`precision='16-mixed'` is not supported on CPU: AMP with fp16 "
               "needs the CUDA backend (and its GradScaler); hint: use precision=\"bf16-mixed\" for mixed precision "
               "on CPU (Lightning itself falls back to it on CPU)");
  FULGUR_CHECK(flag != "16-true", "Trainer", "`precision='16-true'` is not supported on CPU: float16 training "
               "arrives with the CUDA backend; hint: use precision=\"bf16-true\" (bfloat16 weights) on CPU");
  FULGUR_FAIL("Trainer", "`precision='", flag, "'` needs NVIDIA Transformer Engine, which Fulgur does not have; hint: "
              "use \"bf16-mixed\"");
}

}  // namespace fulgur::lightning
