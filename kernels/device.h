// Where a tensor's memory lives. CUDA:n is a valid value on every build; whether such a
// device exists is a runtime question (kernels/cuda/runtime.h).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace fulgur {

enum class DeviceType : uint8_t { CPU, CUDA };
inline constexpr int kNumDeviceTypes = 2;

struct Device {
  DeviceType type = DeviceType::CPU;
  int16_t index = 0;  // ignored for CPU

  static constexpr Device cpu() { return {DeviceType::CPU, 0}; }
  static constexpr Device cuda(int n = 0) { return {DeviceType::CUDA, static_cast<int16_t>(n)}; }
  // Parses "cpu", "cuda", "cuda:1".
  static Device parse(const std::string& spec);

  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  std::string str() const;  // "cpu", "cuda:0"

  friend bool operator==(const Device& a, const Device& b) {
    return a.type == b.type && (a.type == DeviceType::CPU || a.index == b.index);
  }
};

inline constexpr Device kCPU = Device::cpu();

std::ostream& operator<<(std::ostream& os, const Device& device);

}  // namespace fulgur
