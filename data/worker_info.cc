#include "fulgur/data/worker_info.h"

#include "fulgur/kernels/parallel.h"

namespace fulgur::data {
namespace {
thread_local const WorkerInfo* t_info = nullptr;
thread_local Generator* t_generator = nullptr;
}  // namespace

const WorkerInfo* get_worker_info() { return t_info; }

Generator& current_generator() { return t_generator ? *t_generator : default_generator(); }

WorkerScope::WorkerScope(const WorkerInfo& info)
    : info_(info),
      generator_(info.seed),
      previous_info_(t_info),
      previous_generator_(t_generator),
      previous_threads_(get_num_threads()) {
  t_info = &info_;
  t_generator = &generator_;
  // Kernels called from a worker run single-threaded (PyTorch sets torch.set_num_threads(1)
  // in its workers): workers are the parallelism, and nested thread teams would
  // oversubscribe the cores the training step's kernels use. Per thread (OpenMP's
  // nthreads-var), so the main thread keeps its setting.
  set_num_threads(1);
}

WorkerScope::~WorkerScope() {
  t_info = previous_info_;
  t_generator = previous_generator_;
  set_num_threads(previous_threads_);
}

}  // namespace fulgur::data
