// L::LogOptions and L::LogValue: the arguments of LightningModule::log, in Lightning's order.
//
//   log("val_acc", acc, {.prog_bar = true});
//   log("loss", loss, {.on_step = true, .on_epoch = true, .reduce_fx = "max"});
//   log("acc", acc_metric);   // a metrics::Metric: computed and reset at epoch end
#pragma once

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "fulgur/tensor/tensor.h"
#include "fulgur/trainer/metrics/metric.h"

namespace fulgur::lightning {

struct LogOptions {
  bool prog_bar = false;
  bool logger = true;
  // Unset: the hook's default (training_step and the batch/optimizer hooks: on_step; the
  // epoch hooks and validation/test: on_epoch).
  std::optional<bool> on_step = std::nullopt;
  std::optional<bool> on_epoch = std::nullopt;
  std::string reduce_fx = "mean";  // epoch reduction: "mean" (weighted by batch size), "sum", "max", "min"
  bool enable_graph = false;       // values are detached (nothing else is supported)
  bool sync_dist = false;          // DDP: reduce with reduce_fx across the processes (one process: no-op)
  bool add_dataloader_idx = true;  // "/dataloader_idx_N" when several eval loaders
  // The weight of this value in the epoch mean; unset: inferred from the batch.
  std::optional<int64_t> batch_size = std::nullopt;
  bool rank_zero_only = false;
};

// A logged value: a number, a one-element tensor, or a metric object.
class LogValue {
 public:
  LogValue(Tensor t) : tensor_(std::move(t)) {}  // NOLINT
  template <typename T>
    requires(std::is_arithmetic_v<T>)
  LogValue(T v) : number_(static_cast<double>(v)), is_number_(true) {}  // NOLINT
  template <std::derived_from<metrics::Metric> M>
  LogValue(std::shared_ptr<M> m) : metric_(std::move(m)) {}  // NOLINT

  bool is_metric() const { return metric_ != nullptr; }
  const std::shared_ptr<metrics::Metric>& metric() const { return metric_; }
  // The number (a tensor must hold exactly one element); throws fulgur::Error for `name`.
  double number(const std::string& name) const;

 private:
  Tensor tensor_;
  double number_ = 0;
  bool is_number_ = false;
  std::shared_ptr<metrics::Metric> metric_;
};

}  // namespace fulgur::lightning
