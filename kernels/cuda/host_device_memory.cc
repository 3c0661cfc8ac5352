#include "fulgur/kernels/cuda/host_device_memory.h"

#include <cstdlib>

#include "fulgur/kernels/error.h"

namespace fulgur::cuda {

HostDeviceMemory::~HostDeviceMemory() {
  for (auto& [ptr, bytes] : allocations_) std::free(ptr);
}

void* HostDeviceMemory::malloc(size_t bytes) {
  ++malloc_calls_;
  if (bytes > capacity_ - used_) {
    ++failed_mallocs_;
    return nullptr;
  }
  // cudaMalloc returns memory aligned to at least 256 bytes; 512 also matches the block size.
  void* p = std::aligned_alloc(512, (bytes + 511) / 512 * 512);
  FULGUR_CHECK(p != nullptr, "HostDeviceMemory::malloc", "host out of memory for ", bytes, " bytes");
  allocations_.emplace(p, bytes);
  used_ += bytes;
  return p;
}

void HostDeviceMemory::free(void* ptr) {
  const auto it = allocations_.find(ptr);
  FULGUR_CHECK(it != allocations_.end(), "HostDeviceMemory::free", "pointer not allocated by this device");
  used_ -= it->second;
  std::free(ptr);
  allocations_.erase(it);
}

EventHandle HostDeviceMemory::event_create() {
  auto e = std::make_unique<HostEvent>();
  EventHandle handle = e.get();
  events_.emplace(handle, std::move(e));
  return handle;
}

HostDeviceMemory::HostEvent& HostDeviceMemory::event(EventHandle handle, const char* op) {
  const auto it = events_.find(handle);
  FULGUR_CHECK(it != events_.end(), op, "unknown or destroyed event");
  return *it->second;
}

void HostDeviceMemory::event_record(EventHandle handle, StreamHandle stream) {
  HostEvent& e = event(handle, "HostDeviceMemory::event_record");
  e.stream = stream;
  e.recorded = true;
  e.completed = false;
}

bool HostDeviceMemory::event_query(EventHandle handle) {
  const HostEvent& e = event(handle, "HostDeviceMemory::event_query");
  return !e.recorded || e.completed;
}

void HostDeviceMemory::event_synchronize(EventHandle handle) {
  // Waiting on a real device ends when its work is done: here, the work is done now.
  event(handle, "HostDeviceMemory::event_synchronize").completed = true;
}

void HostDeviceMemory::event_destroy(EventHandle handle) {
  FULGUR_CHECK(events_.erase(handle) == 1, "HostDeviceMemory::event_destroy", "unknown or destroyed event");
}

void HostDeviceMemory::complete_stream(StreamHandle stream) {
  for (auto& [handle, e] : events_) {
    if (e->recorded && e->stream == stream) e->completed = true;
  }
}

}  // namespace fulgur::cuda
