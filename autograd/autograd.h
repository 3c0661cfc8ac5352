// Autograd's public API beyond Tensor's own methods (backward, grad, requires_grad_, ...):
// grad mode guards, functional gradients, anomaly mode.
#pragma once

#include <optional>
#include <vector>

#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::autograd {

// Installs the engine into tensor/. Idempotent; called automatically before main() by any
// binary that links //autograd, and by the functions below.
void ensure_installed();

// Gradients of `outputs` with respect to `inputs`, returned instead of accumulated into
// .grad() (torch.autograd.grad). grad_outputs default to ones for scalar outputs.
// retain_graph defaults to create_graph. An input that does not influence the outputs gives
// an error unless allow_unused, then an undefined Tensor.
struct GradOptions {
  std::vector<Tensor> grad_outputs = {};
  std::optional<bool> retain_graph = std::nullopt;
  bool create_graph = false;
  bool allow_unused = false;
};
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const GradOptions& options = {});

// Tensor::backward for several roots at once (torch.autograd.backward).
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots = {},
              bool retain_graph = false, bool create_graph = false);

// Anomaly mode (torch.autograd.set_detect_anomaly): a NaN or Inf produced by a backward
// formula raises fulgur::Error naming the node and the forward op that created it.
void set_detect_anomaly(bool enabled);
bool is_anomaly_enabled();

}  // namespace fulgur::autograd

namespace fulgur {

// Disables recording in a scope (torch.no_grad()).
class NoGradGuard : public GradModeGuard {
 public:
  NoGradGuard() : GradModeGuard(false) {}
};

// Sets grad mode in a scope (torch.set_grad_enabled(mode)).
using SetGradEnabled = GradModeGuard;

// torch.inference_mode(): no recording. (PyTorch also skips version counting for tensors
// made inside; Fulgur's version bump is one relaxed atomic increment, so it keeps it.)
class InferenceMode : public GradModeGuard {
 public:
  InferenceMode() : GradModeGuard(false) {}
};

// torch.set_grad_enabled(mode) without a scope.
inline void set_grad_enabled(bool enabled) { set_grad_mode(enabled); }
inline bool is_grad_enabled() { return grad_mode_enabled(); }

}  // namespace fulgur
