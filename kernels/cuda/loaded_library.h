// A GPU library loaded with dlopen on first use rather than linked (cuBLASLt, cuDNN): every
// binary starts, and the emulated device works, where the library is absent; its absence
// becomes a reason an op can state, not a loader error.
#pragma once

#include <dlfcn.h>

#include <functional>
#include <string>
#include <type_traits>

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

}  // namespace fulgur::cuda
