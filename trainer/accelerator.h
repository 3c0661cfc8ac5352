// L::Accelerator: the hardware a Trainer runs on (lightning.pytorch.accelerators). The
// accelerator parses the `devices` flag for its kind of device, says whether it is available
// and how many devices "auto" means; the Strategy (strategy.h) decides how the run uses them.
//
//   CPUAccelerator: always available, devices "auto" = 1, devices must be an int > 0.
//   CUDAAccelerator: asks fulgur's CUDA runtime (kernels/cuda/runtime.h); the emulated CUDA
//     device (kernels/cuda/emulated_device.h), when enabled, is one available device, so the
//     Trainer's CUDA path runs in CI. "auto" picks it only for a real GPU.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "fulgur/kernels/device.h"

namespace fulgur::lightning {

// The `devices` flag after Lightning's first parse: "auto", a count (-1: all), or indices.
struct ParsedDevices {
  std::variant<std::string, int64_t, std::vector<int64_t>> value;
  bool is_auto() const { return std::holds_alternative<std::string>(value); }
  bool is_count() const { return std::holds_alternative<int64_t>(value); }
  bool is_list() const { return std::holds_alternative<std::vector<int64_t>>(value); }
  int64_t count() const { return std::get<int64_t>(value); }
  const std::vector<int64_t>& list() const { return std::get<std::vector<int64_t>>(value); }
  std::string repr() const;  // as Lightning prints the flag: 'auto', 2, [0, 1]
};

// Lightning's accepted spellings of `devices`: "auto", an int-like string ("1", "-1"), a
// comma list ("0,1", "0," = [0]) or a Python-style list ("[0, 1]"). Throws on anything else.
ParsedDevices parse_devices_flag(const std::string& devices);

class Accelerator {
 public:
  virtual ~Accelerator() = default;
  // The registry name: "cpu", "cuda".
  virtual std::string name() const = 0;
  // Lightning's class name, for messages ("CPUAccelerator").
  virtual std::string class_name() const = 0;
  // The device indices the flag selects on this accelerator (throws with Lightning's message
  // when the flag does not fit it). "auto" must be resolved by the caller (auto_device_count).
  virtual std::vector<int64_t> parse_devices(const ParsedDevices& devices) const = 0;
  // The devices a strategy gets for those indices.
  virtual std::vector<Device> get_parallel_devices(const std::vector<int64_t>& ids) const = 0;
  // What devices="auto" means here.
  virtual int64_t auto_device_count() const = 0;
  virtual bool is_available() const = 0;
  // Called by the strategy's setup / teardown (nothing to prepare on the CPU).
  virtual void setup_device(Device device) {}
  virtual void teardown() {}
};

class CPUAccelerator : public Accelerator {
 public:
  std::string name() const override { return "cpu"; }
  std::string class_name() const override { return "CPUAccelerator"; }
  std::vector<int64_t> parse_devices(const ParsedDevices& devices) const override;
  std::vector<Device> get_parallel_devices(const std::vector<int64_t>& ids) const override;
  int64_t auto_device_count() const override { return 1; }
  bool is_available() const override { return true; }
};

class CUDAAccelerator : public Accelerator {
 public:
  std::string name() const override { return "cuda"; }
  std::string class_name() const override { return "CUDAAccelerator"; }
  std::vector<int64_t> parse_devices(const ParsedDevices& devices) const override;
  std::vector<Device> get_parallel_devices(const std::vector<int64_t>& ids) const override;
  int64_t auto_device_count() const override;
  bool is_available() const override;
  void setup_device(Device device) override;
};

}  // namespace fulgur::lightning
