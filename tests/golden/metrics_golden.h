// GENERATED FILE, do not edit. torchmetrics 1.4.0 on PyTorch 1.13.0a0.
// Regenerate from the repository root with /tmp/tmvenv/bin/python tools/gen_metrics_golden.py
// (the venv: see the script's header). The data: metrics_golden.inc (tests/metrics_golden.cc).
#pragma once

#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include "fulgur/fulgur.h"

namespace metrics_golden {
using namespace fulgur;  // kFloat32, metrics::...
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
struct Tensorish {
  fulgur::DType dtype;
  std::vector<int64_t> shape;
  std::vector<double> values;
};
struct Input {
  const char* name;
  std::vector<std::vector<Tensorish>> batches;  // each: (preds, target) or (value[, weight])
};
struct Case {
  const char* name;
  std::function<std::shared_ptr<fulgur::metrics::Metric>()> make;
  int input;                      // index into inputs(); -1: no batches
  std::vector<Tensorish> forward;  // forward() of each batch
  bool compute_throws;
  Tensorish compute;              // compute() after every batch
  bool compute_warns;             // torchmetrics warned during that compute()
};
const std::vector<Input>& inputs();
const std::vector<Case>& cases();
}  // namespace metrics_golden
