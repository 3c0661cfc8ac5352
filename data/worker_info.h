// Which loader worker is running, and the random generator that per-example code should use.
//
// PyTorch seeds each worker process with base_seed + worker_id and exposes
// torch.utils.data.get_worker_info(). Our workers are threads, so the same two things are
// thread-local: the DataLoader installs a WorkerScope on each worker thread.
#pragma once

#include <cstdint>

#include "fulgur/tensor/generator.h"

namespace fulgur::data {

class Dataset;
class IterableDataset;

struct WorkerInfo {
  int id = 0;           // 0 .. num_workers-1
  int num_workers = 1;
  uint64_t seed = 0;    // base_seed + id, the seed of this worker's generator
};

// Inside a loader worker: that worker's info; elsewhere (num_workers == 0, main thread): null.
const WorkerInfo* get_worker_info();

// The generator for per-example randomness (random transforms, augmentations): the calling
// worker's own generator, seeded with WorkerInfo::seed, or fulgur::default_generator()
// outside workers.
Generator& current_generator();

// Installs a worker's info and generator on the calling thread for the scope's lifetime, and
// makes the thread's kernels single-threaded meanwhile.
class WorkerScope {
 public:
  explicit WorkerScope(const WorkerInfo& info);
  ~WorkerScope();
  WorkerScope(const WorkerScope&) = delete;
  WorkerScope& operator=(const WorkerScope&) = delete;

  Generator& generator() { return generator_; }

 private:
  WorkerInfo info_;
  Generator generator_;
  const WorkerInfo* previous_info_;
  Generator* previous_generator_;
  int previous_threads_;
};

}  // namespace fulgur::data
