// A GPU library loaded with dlopen on first use rather than linked (cuBLASLt, cuDNN): every
// binary starts, and the emulated device works, where the library is absent; its absence
// becomes a reason an op can state, not a loader error.
#pragma once

#include <dlfcn.h>

#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace fulgur::cuda {

class LoadedLibrary {
 public:
  // Loads `name` (kept loaded for the process); error() says why not.
  explicit LoadedLibrary(const char* name) : name_(name), handle_(dlopen(name, RTLD_NOW | RTLD_LOCAL)) {
    if (handle_ == nullptr) {
      const char* e = dlerror();
      error_ = std::string("cannot load ") + name + " (" + (e ? e : "unknown") + ")";
    }
  }
  // fn = the symbol, typed by its declaration in the library's header (decltype(&symbol)), so
  // that a changed signature is a compile error. The first missing symbol becomes error().
  template <typename Fn>
  void bind(Fn& fn, const char* symbol) {
    fn = handle_ ? reinterpret_cast<Fn>(dlsym(handle_, symbol)) : nullptr;
    if (fn == nullptr && error_.empty()) error_ = std::string(name_) + " lacks " + symbol;
  }
  void fail(const std::string& why) {
    if (error_.empty()) error_ = why;
  }
  const std::string& error() const { return error_; }

 private:
  const char* name_;
  void* handle_;
  std::string error_;
};

// Runs create() with `device` current (the previous device restored after): a library
// handle belongs to the device current at its creation. Returns create()'s error, or why the
// device could not be selected; "" on success.
std::string create_on_device(int device, const std::function<std::string()>& create);

// One library handle per device, created on first use (with that device current) and kept for
// the process; a failed creation is remembered with its reason.
template <typename Handle>
class DeviceHandles {
 public:
  // The device's handle, or null with the reason in *why: the library's load error when there
  // is one (LoadedLibrary::error()), else create(&handle)'s ("" for success).
  Handle get(int device, const std::string& load_error, const std::function<std::string(Handle*)>& create,
             std::string* why) {
    if (!load_error.empty()) {
      if (why) *why = load_error;
      return nullptr;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    Entry& e = entries_[device];
    if (!e.tried) {
      e.tried = true;
      e.error = create_on_device(device, [&] { return create(&e.handle); });
      if (!e.error.empty()) e.handle = nullptr;
    }
    if (e.handle == nullptr && why) *why = e.error;
    return e.handle;
  }

 private:
  struct Entry {
    Handle handle = nullptr;
    std::string error;
    bool tried = false;
  };
  std::mutex mutex_;
  std::map<int, Entry> entries_;
};

}  // namespace fulgur::cuda
