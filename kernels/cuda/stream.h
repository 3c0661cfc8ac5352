// CUDA streams, events and the current device / current stream of a thread.
//
// A Stream is a cheap value (device, handle): the default stream of a device has a null
// handle; Stream::create makes a non-blocking stream (it does not wait for the legacy default
// stream, so work on it overlaps with other streams), destroyed with its last copy.
// The header is toolkit-free; in a build without CUDA, or on a machine without a device,
// every operation throws fulgur::Error saying why (check is_available() first). Every failed
// CUDA call becomes fulgur::Error naming the call and the CUDA error (cuda_check.h).
#pragma once

#include <memory>
#include <utility>

namespace fulgur::cuda {

using StreamHandle = void*;  // a cudaStream_t; nullptr: the default stream
using EventHandle = void*;   // a cudaEvent_t

// The calling thread's current device (cudaGetDevice / cudaSetDevice).
int current_device();
void set_device(int device);
// Waits until all work on `device` is done, and reports asynchronous errors of earlier work.
void synchronize_device(int device);
void synchronize_device();  // the current device

// Makes `device` current for its lifetime, then restores the previous current device.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_;
  [[maybe_unused]] int device_;  // read by the CUDA build's destructor only
};

class Stream {
 public:
  // The default stream of `device` (also what a thread's current stream starts as).
  static Stream default_stream(int device);
  // A new non-blocking stream; `priority`: lower numbers run first (cudaDeviceGetStreamPriorityRange).
  static Stream create(int device, int priority = 0);

  int device() const { return device_; }
  StreamHandle handle() const { return handle_; }
  bool is_default() const { return handle_ == nullptr; }
  // Whether all work queued so far has finished (cudaStreamQuery).
  bool query() const;
  // Waits until all work queued so far has finished.
  void synchronize() const;

  friend bool operator==(const Stream& a, const Stream& b) {
    return a.device_ == b.device_ && a.handle_ == b.handle_;
  }

 private:
  Stream(int device, StreamHandle handle, std::shared_ptr<void> owner)
      : device_(device), handle_(handle), owner_(std::move(owner)) {}

  int device_ = 0;
  StreamHandle handle_ = nullptr;
  std::shared_ptr<void> owner_;  // destroys a created stream with its last copy; empty for the default
};

// The calling thread's current stream for `device` (the default stream until set).
Stream current_stream(int device);
Stream current_stream();  // of the current device
void set_current_stream(const Stream& stream);

// Makes `stream` the current stream of its device for this thread for its lifetime, then
// restores the previous one.
class StreamGuard {
 public:
  explicit StreamGuard(const Stream& stream);
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  Stream previous_;
};

// A CUDA event: a marker in a stream's work queue. Move-only; created on first record (on the
// stream's device).
class Event {
 public:
  // enable_timing: needed for elapsed_ms, costs a little on each record.
  explicit Event(bool enable_timing = false) : timing_(enable_timing) {}
  ~Event();
  Event(Event&& other) noexcept;
  Event& operator=(Event&& other) noexcept;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  // Marks the point reached by the work queued so far on `stream`.
  void record(const Stream& stream);
  // Whether the work before the record has finished (true if never recorded).
  bool query() const;
  // Waits for the work before the record (returns at once if never recorded).
  void synchronize() const;
  // Milliseconds between this event and `end` (both recorded, timing enabled, completed).
  float elapsed_ms(const Event& end) const;
  bool recorded() const { return handle_ != nullptr; }
  EventHandle handle() const { return handle_; }

 private:
  void destroy() noexcept;

  EventHandle handle_ = nullptr;
  int device_ = -1;
  bool timing_ = false;
};

}  // namespace fulgur::cuda
