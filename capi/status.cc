// Status names, the per-thread last error, and the ABI version.
#include <string>

#include "capi/handles.h"

namespace fulgur::capi {
namespace {
thread_local std::string last_error;
}  // namespace

fulgur_status set_error(const char* function, fulgur_status status, const char* message) noexcept {
  try {
    last_error = std::string(function) + ": " + message;
  } catch (...) {
    last_error.clear();  // no memory even for the message: the status still says it
  }
  return status;
}

const char* last_error_cstr() noexcept { return last_error.c_str(); }

}  // namespace fulgur::capi

extern "C" {

int32_t fulgur_abi_version(void) { return FULGUR_C_ABI_VERSION; }

const char* fulgur_last_error(void) { return fulgur::capi::last_error_cstr(); }

const char* fulgur_status_name(fulgur_status status) {
  switch (status) {
    case FULGUR_OK: return "FULGUR_OK";
    case FULGUR_INVALID_ARGUMENT: return "FULGUR_INVALID_ARGUMENT";
    case FULGUR_SHAPE_MISMATCH: return "FULGUR_SHAPE_MISMATCH";
    case FULGUR_DTYPE_MISMATCH: return "FULGUR_DTYPE_MISMATCH";
    case FULGUR_IO_ERROR: return "FULGUR_IO_ERROR";
    case FULGUR_OUT_OF_MEMORY: return "FULGUR_OUT_OF_MEMORY";
    case FULGUR_UNSUPPORTED: return "FULGUR_UNSUPPORTED";
    case FULGUR_INTERNAL: return "FULGUR_INTERNAL";
    case FULGUR_STATUS_FORCE_INT32: break;
  }
  return "unknown status";
}

}  // extern "C"
