#include "fulgur/trainer/accelerator.h"

#include <cctype>
#include <sstream>

#include "fulgur/kernels/cuda/emulated_device.h"
#include "fulgur/kernels/cuda/runtime.h"
#include "fulgur/kernels/cuda/stream.h"
#include "fulgur/kernels/error.h"

namespace fulgur::lightning {

namespace {
std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool parse_int(const std::string& s, int64_t* out) {
  const std::string t = trim(s);
  if (t.empty()) return false;
  size_t i = t[0] == '-' ? 1 : 0;
  if (i == t.size()) return false;
  for (size_t j = i; j < t.size(); ++j) {
    if (!std::isdigit(static_cast<unsigned char>(t[j]))) return false;
  }
  *out = std::stoll(t);
  return true;
}

[[noreturn]] void bad_devices(const std::string& devices) {
  FULGUR_FAIL("Trainer", "Devices should be an int, a str of int(s) or a sequence of int, got `devices=", devices,
              "`; hint: use \"auto\", 1, -1, \"0,1\" or [0, 1]");
}
}  // namespace

std::string ParsedDevices::repr() const {
  if (is_auto()) return "'" + std::get<std::string>(value) + "'";
  if (is_count()) return std::to_string(count());
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < list().size(); ++i) os << (i ? ", " : "") << list()[i];
  os << "]";
  return os.str();
}

// Lightning's _normalize_parse_gpu_string_input plus the list form of its int sequences.
ParsedDevices parse_devices_flag(const std::string& devices) {
  std::string s = trim(devices);
  if (s == "auto") return {std::string("auto")};
  int64_t n = 0;
  if (parse_int(s, &n)) return {n};
  const bool bracketed = s.size() >= 2 && s.front() == '[' && s.back() == ']';
  if (bracketed) s = s.substr(1, s.size() - 2);
  else if (s.find(',') == std::string::npos) bad_devices(devices);
  std::vector<int64_t> ids;
  std::stringstream parts(s);
  std::string part;
  while (std::getline(parts, part, ',')) {
    if (trim(part).empty()) continue;  // "0," is [0], as in Lightning
    int64_t id = 0;
    if (!parse_int(part, &id) || id < 0) bad_devices(devices);
    ids.push_back(id);
  }
  return {ids};
}

// Lightning's _parse_cpu_cores: the CPU takes a number of processes, nothing else.
std::vector<int64_t> CPUAccelerator::parse_devices(const ParsedDevices& devices) const {
  FULGUR_CHECK(devices.is_count() && devices.count() > 0, "Trainer",
               "`devices` selected with `CPUAccelerator` should be an int > 0.");
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < devices.count(); ++i) ids.push_back(i);
  return ids;
}

std::vector<Device> CPUAccelerator::get_parallel_devices(const std::vector<int64_t>& ids) const {
  return std::vector<Device>(ids.size(), kCPU);
}

// Lightning's _parse_gpu_ids: -1 is every GPU, N the first N, a list those indices.
std::vector<int64_t> CUDAAccelerator::parse_devices(const ParsedDevices& devices) const {
  const int64_t available = auto_device_count();
  std::vector<int64_t> ids;
  if (devices.is_count()) {
    const int64_t n = devices.count() == -1 ? available : devices.count();
    FULGUR_CHECK(n >= 0, "Trainer", "Devices should be an int > -1 or a sequence of ints, got ", devices.count());
    for (int64_t i = 0; i < n; ++i) ids.push_back(i);
  } else if (devices.is_list()) {
    ids = devices.list();
  }
  for (int64_t id : ids) {
    FULGUR_CHECK(id < available, "Trainer", "You requested gpu: ", devices.repr(), "\n But your machine only has: ",
                 available, " GPU(s)");
  }
  return ids;
}

std::vector<Device> CUDAAccelerator::get_parallel_devices(const std::vector<int64_t>& ids) const {
  std::vector<Device> out;
  for (int64_t id : ids) out.push_back(Device::cuda(static_cast<int>(id)));
  return out;
}

// The emulated CUDA device (kernels/cuda/emulated_device.h) counts as one device when it is
// enabled, so that the Trainer's CUDA path runs in CI; "auto" still never picks it (see
// accelerator_connector.cc).
int64_t CUDAAccelerator::auto_device_count() const {
  return cuda::emulated_device_enabled() ? 1 : cuda::device_count();
}
bool CUDAAccelerator::is_available() const { return cuda::emulated_device_enabled() || cuda::is_available(); }

// Lightning's CUDAAccelerator.setup_device: the root device becomes the current one, so that
// kernels and allocations without an explicit device go there.
void CUDAAccelerator::setup_device(Device device) {
  FULGUR_CHECK(device.is_cuda(), "Trainer", "CUDAAccelerator got a ", device, " device; hint: a cuda device");
  if (!cuda::emulated_device_enabled()) cuda::set_device(device.index);
}

}  // namespace fulgur::lightning
