// BatchChannel: the bounded queue from one loader worker thread to the consuming thread.
//
// One channel per worker per epoch, of capacity prefetch_factor: a worker runs at most that
// many batches ahead, as PyTorch's loader keeps prefetch_factor batches in flight per worker.
// The consumer reads the workers' channels in batch order, which is how batches come out in
// sampler order whatever the workers' speeds. cancel() wakes both sides so that abandoning an
// epoch (break, destruction, a new epoch) never leaves a worker blocked on a full queue.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "fulgur/tensor/value.h"

namespace fulgur::data::internal {

struct BatchItem {
  enum class Kind { Batch, Error, End };
  Kind kind = Kind::End;
  Value batch;            // Kind::Batch
  std::string error;      // Kind::Error: the worker's message, already with worker and batch
  int64_t batch_index = -1;
};

class BatchChannel {
 public:
  explicit BatchChannel(size_t capacity) : capacity_(capacity) {}

  // Worker side. Blocks while the channel is full; false if the epoch was cancelled (the
  // item is dropped and the worker should stop).
  bool push(BatchItem item) {
    std::unique_lock<std::mutex> lock(mutex_);
    not_full_.wait(lock, [&] { return cancelled_ || items_.size() < capacity_; });
    if (cancelled_) return false;
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }
  bool cancelled() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cancelled_;
  }
  // Worker side: the job has returned and touches nothing of the epoch any more.
  void mark_done() {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
    done_cv_.notify_all();
  }

  // Consumer side. nullopt when `timeout` (if any) passed first.
  std::optional<BatchItem> pop(std::optional<std::chrono::duration<double>> timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto ready = [&] { return !items_.empty(); };
    if (timeout) {
      if (!not_empty_.wait_for(lock, *timeout, ready)) return std::nullopt;
    } else {
      not_empty_.wait(lock, ready);
    }
    BatchItem item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }
  void cancel() {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    items_.clear();
    not_full_.notify_all();
    not_empty_.notify_all();
  }
  // Consumer side: waits until the worker's job has returned.
  void wait_done() {
    std::unique_lock<std::mutex> lock(mutex_);
    done_cv_.wait(lock, [&] { return done_; });
  }

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::condition_variable done_cv_;
  std::deque<BatchItem> items_;
  bool cancelled_ = false;
  bool done_ = false;
};

}  // namespace fulgur::data::internal
