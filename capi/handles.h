// The C ABI's handle structs and the one place where C++ exceptions become fulgur_status:
// every exported function runs its body inside guarded(), so nothing throws across the ABI.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "fulgur/fulgur_c.h"
#include "fulgur/fulgur.h"
#include "fulgur/nn/onnx/session.h"

struct fulgur_tensor {
  fulgur::Tensor tensor;
};

struct fulgur_model {
  std::shared_ptr<fulgur::nn::Sequential> net;
  // The model's random stream: layer initialisation, then dropout. Shared with sessions,
  // since Dropout layers keep a raw pointer to it.
  std::shared_ptr<fulgur::Generator> generator;
};

struct fulgur_optimizer {
  std::unique_ptr<fulgur::optim::Optimizer> optimizer;
  int64_t steps = 0;
};

struct fulgur_session {
  std::optional<fulgur::onnx::InferenceSession> onnx;  // an ONNX file, or
  std::shared_ptr<fulgur::nn::Sequential> net;           // a model it shares
  std::shared_ptr<fulgur::Generator> generator;          // kept alive for net's Dropout layers
  int32_t num_inputs = 0;
  int32_t num_outputs = 0;
};

namespace fulgur::capi {

// An error the C layer detects itself, with the status it maps to.
class CapiError : public std::runtime_error {
 public:
  CapiError(fulgur_status status, const std::string& message) : std::runtime_error(message), status(status) {}
  fulgur_status status;
};

[[noreturn]] inline void fail(fulgur_status status, const std::string& message) { throw CapiError(status, message); }

// Throws INVALID_ARGUMENT "<what> is NULL" for a null pointer argument.
inline void require(const void* pointer, const char* what) {
  if (pointer == nullptr) fail(FULGUR_INVALID_ARGUMENT, std::string(what) + " is NULL");
}

// Records "<function>: <message>" as the calling thread's last error; returns status.
fulgur_status set_error(const char* function, fulgur_status status, const char* message) noexcept;

// The calling thread's last error ("" if none).
const char* last_error_cstr() noexcept;

// Runs body; maps what it throws: CapiError -> its status, fulgur::Error -> library_error
// (what a library error means for this function: SHAPE_MISMATCH for forward, IO_ERROR for
// files, ...), bad_alloc -> OUT_OF_MEMORY, filesystem errors -> IO_ERROR, anything else ->
// INTERNAL.
template <class Body>
fulgur_status guarded(const char* function, fulgur_status library_error, Body&& body) noexcept {
  try {
    body();
    return FULGUR_OK;
  } catch (const CapiError& e) {
    return set_error(function, e.status, e.what());
  } catch (const fulgur::Error& e) {
    return set_error(function, library_error, e.what());
  } catch (const std::bad_alloc&) {
    return set_error(function, FULGUR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::filesystem::filesystem_error& e) {
    return set_error(function, FULGUR_IO_ERROR, e.what());
  } catch (const std::exception& e) {
    return set_error(function, FULGUR_INTERNAL, e.what());
  } catch (...) {
    return set_error(function, FULGUR_INTERNAL, "unknown exception");
  }
}

// fulgur_dtype <-> DType (INVALID_ARGUMENT for a value outside the enum).
DType to_dtype(int32_t dtype);
// The device a fulgur_device names (tensors.cc): UNSUPPORTED for CUDA without a CUDA device.
Device device_of(fulgur_device device);
fulgur_dtype from_dtype(DType dtype);

// A model or session input as float32: float64 converted, other dtypes DTYPE_MISMATCH.
Tensor model_input(const fulgur_tensor* x, const char* what);
// The mean-reduced loss of fulgur_loss (training.cc): kind checked, shapes/dtypes checked.
Tensor compute_loss(int32_t kind, const fulgur_tensor* input, const fulgur_tensor* target);

}  // namespace fulgur::capi
