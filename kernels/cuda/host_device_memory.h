// A test double of the DEVICE for the caching allocator: "device" memory is host memory with a
// configurable capacity, and events complete when the test says so (or when synchronized, as
// the device would finish its work). It exists because the code it stands for needs a GPU,
// which the machines that build and test this project do not have; the allocator under test
// is the real one. Not thread-safe (tests drive it from one thread).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fulgur/kernels/cuda/device_memory.h"

namespace fulgur::cuda {

class HostDeviceMemory final : public DeviceMemory {
 public:
  explicit HostDeviceMemory(size_t capacity_bytes) : capacity_(capacity_bytes) {}
  ~HostDeviceMemory() override;

  void* malloc(size_t bytes) override;
  void free(void* ptr) override;
  EventHandle event_create() override;
  void event_record(EventHandle event, StreamHandle stream) override;
  bool event_query(EventHandle event) override;
  void event_synchronize(EventHandle event) override;
  void event_destroy(EventHandle event) override;
  MemInfo mem_get_info() override { return {capacity_ - used_, capacity_}; }
  std::string name() const override { return "host test device"; }

  // The work queued so far on `stream` has finished: its recorded events complete.
  void complete_stream(StreamHandle stream);
  void set_capacity(size_t bytes) { capacity_ = bytes; }
  size_t used_bytes() const { return used_; }
  size_t live_allocations() const { return allocations_.size(); }
  size_t live_events() const { return events_.size(); }
  int64_t malloc_calls() const { return malloc_calls_; }      // including failed ones
  int64_t failed_mallocs() const { return failed_mallocs_; }

 private:
  struct HostEvent {
    StreamHandle stream = nullptr;
    bool recorded = false;
    bool completed = false;
  };
  HostEvent& event(EventHandle handle, const char* op);

  size_t capacity_;
  size_t used_ = 0;
  std::map<void*, size_t> allocations_;
  std::map<EventHandle, std::unique_ptr<HostEvent>> events_;
  int64_t malloc_calls_ = 0;
  int64_t failed_mallocs_ = 0;
};

}  // namespace fulgur::cuda
