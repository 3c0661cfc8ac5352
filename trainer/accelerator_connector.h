// Lightning's _AcceleratorConnector in small: turns the Trainer's accelerator, strategy,
// devices and num_nodes flags into an Accelerator, a Strategy and the device indices, and
// refuses invalid or not-yet-supported combinations at construction with Lightning's messages.
//
//   ("auto", "auto", "auto", 1) -> CPUAccelerator, SingleDeviceStrategy(cpu), devices [0]
#pragma once

#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fulgur/trainer/accelerator.h"
#include "fulgur/trainer/strategy.h"

namespace fulgur::lightning {

// Trainer(strategy=...): a registry name ("auto", "single_device"; "ddp" and friends are
// refused until the distributed issue) or a Strategy object, as Lightning accepts both.
class StrategyOption {
 public:
  StrategyOption(const char* name) : name_(name) {}             // NOLINT
  StrategyOption(std::string name) : name_(std::move(name)) {}  // NOLINT
  template <std::derived_from<Strategy> T>
  StrategyOption(std::shared_ptr<T> strategy) : instance_(std::move(strategy)) {  // NOLINT
    name_ = instance_ ? instance_->name() : "auto";
  }
  // The name ("auto", ...; a Strategy object's name()).
  const std::string& name() const { return name_; }
  // The Strategy object given, or null for a name.
  const std::shared_ptr<Strategy>& instance() const { return instance_; }
  friend bool operator==(const StrategyOption& a, std::string_view b) { return !a.instance_ && a.name_ == b; }

 private:
  std::string name_;
  std::shared_ptr<Strategy> instance_;
};

struct AcceleratorConnector {
  AcceleratorConnector(const std::string& accelerator, const StrategyOption& strategy, const std::string& devices,
                       int64_t num_nodes);
  std::shared_ptr<Accelerator> accelerator;
  std::shared_ptr<Strategy> strategy;
  std::vector<int64_t> device_ids;  // per node (Lightning's trainer.device_ids)
  int64_t num_nodes = 1;
};

}  // namespace fulgur::lightning
