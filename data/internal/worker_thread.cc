#include "fulgur/data/internal/worker_thread.h"

namespace fulgur::data::internal {

WorkerThread::WorkerThread() : shared_(std::make_shared<Shared>()) {
  thread_ = std::thread([shared = shared_] {
    bool first_job = true;
    while (true) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(shared->mutex);
        shared->cv.wait(lock, [&] { return shared->stop || !shared->jobs.empty(); });
        if (shared->stop) return;
        job = std::move(shared->jobs.front());
        shared->jobs.pop_front();
      }
      job(first_job);  // jobs catch their own exceptions
      first_job = false;
    }
  });
}

WorkerThread::~WorkerThread() {
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->stop = true;
    shared_->jobs.clear();
  }
  shared_->cv.notify_all();
  if (abandoned_) {
    thread_.detach();
  } else {
    thread_.join();
  }
}

void WorkerThread::submit(Job job) {
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->jobs.push_back(std::move(job));
  }
  shared_->cv.notify_one();
}

}  // namespace fulgur::data::internal
