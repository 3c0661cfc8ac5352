#include "fulgur/trainer/load_from_checkpoint.h"

#include "fulgur/kernels/error.h"
#include "fulgur/trainer/accelerator.h"
#include "fulgur/trainer/rank_zero.h"

namespace fulgur::lightning::detail {
namespace {

// Lightning's _default_map_location: a "cuda:N" tensor goes back to cuda:N when the CUDA
// accelerator is available and has that device, and to the CPU otherwise (the checkpoint of a
// GPU run loads on a machine without one).
Device saved_device_if_present(const std::string& location) {
  if (location.rfind("cuda", 0) != 0) return kCPU;
  const CUDAAccelerator cuda;
  if (!cuda.is_available()) return kCPU;
  Device saved;
  try {
    saved = Device::parse(location);
  } catch (const Error&) {
    return kCPU;  // a location another writer spelled differently: the CPU, as for "mps"
  }
  return saved.index < cuda.auto_device_count() ? saved : kCPU;
}

}  // namespace

MapLocation checkpoint_map_location(const std::optional<Device>& map_location) {
  if (!map_location) return saved_device_if_present;
  return [device = *map_location](const std::string&) { return device; };
}

nn::StateDict checkpoint_state_dict(const Value& checkpoint, const std::string& path) {
  FULGUR_CHECK(checkpoint.is_dict() && checkpoint.contains("state_dict"), "load_from_checkpoint", path,
               " is not a Lightning checkpoint (no \"state_dict\")");
  nn::StateDict state_dict;
  for (const Value::Item& item : checkpoint.at("state_dict").items()) {
    state_dict.insert(item.first.as_string(), item.second.as_tensor());
  }
  return state_dict;
}

void warn_incompatible_keys(const nn::IncompatibleKeys& keys) {
  const auto warn = [](const char* where, const std::vector<std::string>& names) {
    if (names.empty()) return;
    std::vector<Value> list(names.begin(), names.end());
    rank_zero_printf("warning: Found keys that are %s: %s\n", where, Value::list(std::move(list)).repr().c_str());
  };
  warn("in the model state dict but not in the checkpoint", keys.missing_keys);
  warn("not in the model state dict but in the checkpoint", keys.unexpected_keys);
}

std::optional<Device> loaded_module_device(const nn::StateDict& state_dict, const std::string& path) {
  for (const auto& entry : state_dict) {
    if (entry.second.defined()) return entry.second.device();
  }
  rank_zero_printf("warning: The state dict in %s contains no parameters.\n", Value(path).repr().c_str());
  return std::nullopt;
}

}  // namespace fulgur::lightning::detail
