#include "fulgur/trainer/interrupt.h"

#include <signal.h>

#include <atomic>

namespace fulgur::lightning::detail {
namespace {

volatile std::sig_atomic_t g_sigint_pending = 0;
std::atomic<int> g_guard_depth{0};

// Async-signal-safe: only the flag, signal() and raise(). SIGINT is blocked while the handler
// runs, so the re-raised signal is delivered (with the default action: termination) as soon as
// the handler returns.
extern "C" void on_sigint(int) {
  if (g_sigint_pending != 0) {
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
    return;
  }
  g_sigint_pending = 1;
}

}  // namespace

SigintGuard::SigintGuard() {
  if (g_guard_depth.fetch_add(1) == 0) g_sigint_pending = 0;
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // a read interrupted by the first Ctrl+C carries on to the batch end
  installed_ = sigaction(SIGINT, &action, &previous_) == 0;
}

SigintGuard::~SigintGuard() {
  if (installed_) sigaction(SIGINT, &previous_, nullptr);
  g_guard_depth.fetch_sub(1);
}

bool sigint_pending() { return g_sigint_pending != 0; }

}  // namespace fulgur::lightning::detail
