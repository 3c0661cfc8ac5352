// A value worked out once per device, for answers that belong to one kernel on one device:
// its shared-memory opt-in, whether its cluster build runs there, how many of its clusters fit,
// the device's SM count. A static of the first device's answer would stand for every device;
// on a machine with different GPUs that picks tiles for the wrong SM count or skips an opt-in
// the second device still needs. Devices 0..63 are remembered; a later one is asked each time.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

namespace fulgur::cuda::detail {

template <typename T>  // a type std::atomic holds without a lock: bool, int, an enum
class PerDevice {
 public:
  static constexpr int kRemembered = 64;

  // The value remembered for `device`, if any. Lock-free: the value is stored before the
  // device's bit is published (release), and read after the bit is seen (acquire).
  std::optional<T> find(int device) const {
    if (device < 0 || device >= kRemembered) return std::nullopt;
    if ((known_.load(std::memory_order_acquire) & bit(device)) == 0) return std::nullopt;
    return values_[device].load(std::memory_order_relaxed);
  }

  // Two threads may both work the value out and remember it; both get the same answer.
  void remember(int device, T value) {
    if (device < 0 || device >= kRemembered) return;
    values_[device].store(value, std::memory_order_relaxed);
    known_.fetch_or(bit(device), std::memory_order_release);
  }

  // find(), else compute() remembered.
  template <typename Compute>
  T get(int device, Compute&& compute) {
    if (const std::optional<T> known = find(device)) return *known;
    const T value = compute();
    remember(device, value);
    return value;
  }

 private:
  static uint64_t bit(int device) { return uint64_t{1} << device; }

  std::atomic<uint64_t> known_{0};
  std::atomic<T> values_[kRemembered]{};
};

}  // namespace fulgur::cuda::detail
