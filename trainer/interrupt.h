// Ctrl+C during fit/validate/test/predict: Lightning's KeyboardInterrupt handling without
// exiting the process. The first SIGINT asks the run to stop after the current batch; the
// Trainer then runs the exception path (status "interrupted", on_exception hooks, loggers
// finalized "failed") and throws L::KeyboardInterrupt to the caller. A second SIGINT while
// that stop is pending terminates the process by SIGINT at once.
#pragma once

#include <csignal>
#include <exception>

namespace fulgur::lightning {

// Thrown out of fit/validate/test/predict after a SIGINT stopped the run (Lightning 2.4 calls
// exit(1) there; a library must not end its host process). Like Python's KeyboardInterrupt it
// is not a fulgur::Error, so `catch (const fulgur::Error&)` does not swallow it; main can
// catch it and return 1.
class KeyboardInterrupt : public std::exception {
 public:
  const char* what() const noexcept override {
    return "KeyboardInterrupt: SIGINT received; the run stopped after the current batch";
  }
};

namespace detail {

// Installs the Trainer's SIGINT handler for its lifetime and restores the previous one after
// (sigaction). Nested guards share one pending flag; the outermost clears it on entry.
class SigintGuard {
 public:
  SigintGuard();
  ~SigintGuard();
  SigintGuard(const SigintGuard&) = delete;
  SigintGuard& operator=(const SigintGuard&) = delete;

 private:
  struct sigaction previous_ {};
  bool installed_ = false;
};

// Whether a SIGINT arrived since the outermost guard was installed.
bool sigint_pending();

}  // namespace detail
}  // namespace fulgur::lightning
