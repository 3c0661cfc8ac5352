// WorkerThread: one DataLoader worker, a thread that runs the jobs it is given (one job per
// epoch: "load these batches into this channel") in order.
//
// Everything the thread touches is owned through shared pointers captured by the job and the
// thread, so a worker stuck inside a dataset call past the loader's timeout can be detached
// (abandon()) instead of joined: the loader's destructor then does not hang, and the thread
// cleans up after itself when the call returns. Without abandon() the destructor joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace fulgur::data::internal {

class WorkerThread {
 public:
  // first_job: true for the first job this thread runs (worker_init_fn runs once per thread).
  using Job = std::function<void(bool first_job)>;

  WorkerThread();
  ~WorkerThread();  // stops after the running job; joins, or detaches if abandoned
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  void submit(Job job);
  void abandon() { abandoned_ = true; }

 private:
  struct Shared {
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<Job> jobs;
    bool stop = false;
  };
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
  bool abandoned_ = false;
};

}  // namespace fulgur::data::internal
