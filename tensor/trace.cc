// The thread-local trace recorder (see trace.h).
#include "fulgur/tensor/trace.h"

namespace fulgur {
namespace {
thread_local TraceRecorder* tls_recorder = nullptr;
}  // namespace

TraceRecorder* trace_recorder() { return tls_recorder; }

TraceRecorderGuard::TraceRecorderGuard(TraceRecorder* recorder) : previous_(tls_recorder) { tls_recorder = recorder; }
TraceRecorderGuard::~TraceRecorderGuard() { tls_recorder = previous_; }

bool trace_involves(std::initializer_list<const Tensor*> tensors) {
  if (!tls_recorder) return false;
  for (const Tensor* t : tensors) {
    if (t && t->defined() && tls_recorder->is_traced(*t)) return true;
  }
  return false;
}

void trace_named_op(const std::string& name, const std::vector<Tensor>& inputs, const TraceAttrs& attrs,
                    const std::vector<Tensor>& outputs) {
  TraceRecorder* r = tls_recorder;
  if (!r) return;
  TraceRecorderGuard suspend(nullptr);  // what the recorder computes is not part of the trace
  r->on_named_op(name, inputs, attrs, outputs);
}

}  // namespace fulgur
