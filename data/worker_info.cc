#include "fulgur/data/worker_info.h"

namespace fulgur::data {
namespace {
thread_local const WorkerInfo* t_info = nullptr;
thread_local Generator* t_generator = nullptr;
}  // namespace

const WorkerInfo* get_worker_info() { return t_info; }

Generator& current_generator() { return t_generator ? *t_generator : default_generator(); }

WorkerScope::WorkerScope(const WorkerInfo& info)
    : info_(info), generator_(info.seed), previous_info_(t_info), previous_generator_(t_generator) {
  t_info = &info_;
  t_generator = &generator_;
}

WorkerScope::~WorkerScope() {
  t_info = previous_info_;
  t_generator = previous_generator_;
}

}  // namespace fulgur::data
