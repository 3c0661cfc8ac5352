// L::ModelSummary: the layer table Lightning prints at the start of fit
// (lightning.pytorch.utilities.model_summary.ModelSummary, 2.4's format).
//
//   std::cout << L::summarize(model, /*max_depth=*/1) << "\n";
//
//     | Name | Type       | Params | Mode
//   --------------------------------------------
//   0 | net  | Sequential | 132 K  | train
//   --------------------------------------------
//   132 K     Trainable params
//   0         Non-trainable params
//   132 K     Total params
//   0.530     Total estimated model params size (MB)
//   3         Modules in train mode
//   0         Modules in eval mode
//
// The callback that prints it at fit start is L::callbacks::ModelSummary
// (trainer/callbacks/model_summary.h). Modules have no example_input_array here, so the
// "In sizes"/"Out sizes" columns never appear (docs/TRAINER.md).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "fulgur/nn/module.h"

namespace fulgur::lightning {

// Lightning's get_human_readable_count: 123 -> "123  ", 1234 -> "1.2 K", 2'000'000 -> "2.0 M",
// 4e14 -> "400 T", 5e15 -> "5,000 T" (no unit beyond T).
std::string get_human_readable_count(int64_t number);
// Lightning's get_formatted_model_size: f"{mb:,.3f}".
std::string get_formatted_model_size(double megabytes);

// One row of the table (Lightning's LayerSummary).
struct LayerSummary {
  std::string name;  // dotted, as named_modules() gives it
  std::string type;  // the module's name(): "Linear", "Sequential", ...
  int64_t num_parameters = 0;
  bool training = true;
};

// A summary column: its header and one cell per row (Lightning's `_get_summary_data` item).
using SummaryColumn = std::pair<std::string, std::vector<std::string>>;

class ModelSummary {
 public:
  // max_depth: -1 every module, 0 no rows, N the modules at most N levels below the root.
  // precision sizes the parameters in model_size(): the Trainer's precision ("32-true",
  // "64-true", "16-true", "bf16-true", or "32"/"64"/"16"/"bf16"); anything else counts 32 bits
  // with a warning, as in Lightning.
  explicit ModelSummary(nn::Module& model, int64_t max_depth = 1, const std::string& precision = "32-true");

  int64_t max_depth() const { return max_depth_; }
  const std::vector<LayerSummary>& layers() const { return layers_; }
  // Every parameter's numel, of the trainable (requires_grad) ones, of the rows.
  int64_t total_parameters() const { return total_parameters_; }
  int64_t trainable_parameters() const { return trainable_parameters_; }
  int64_t total_layer_params() const;
  // total_parameters * bytes per parameter / 1e6.
  double model_size() const { return static_cast<double>(total_parameters_) * precision_megabytes_; }
  // Modules below the root in train / eval mode (every descendant, whatever max_depth).
  int64_t modules_in_train_mode() const { return train_modules_; }
  int64_t modules_in_eval_mode() const { return eval_modules_; }

  // The columns " ", "Name", "Type", "Params", "Mode", plus an "other params" row when the
  // root holds parameters of its own that no row counts.
  std::vector<SummaryColumn> summary_data() const;
  // The whole table, as Lightning's str(ModelSummary) (no trailing newline).
  std::string str() const;

 private:
  int64_t max_depth_;
  std::vector<LayerSummary> layers_;
  int64_t total_parameters_ = 0;
  int64_t trainable_parameters_ = 0;
  int64_t train_modules_ = 0;
  int64_t eval_modules_ = 0;
  double precision_megabytes_ = 4e-6;
};

std::ostream& operator<<(std::ostream& os, const ModelSummary& summary);

// Lightning's summarize(lightning_module, max_depth); a LightningModule attached to a Trainer
// is sized with the Trainer's precision.
ModelSummary summarize(nn::Module& model, int64_t max_depth = 1);

// Lightning's _format_summary_table: columns padded to their widest cell (or header), " | "
// between them, dashed rules of sum(widths) + 3 * (columns + 1), then the totals.
std::string format_summary_table(int64_t total_parameters, int64_t trainable_parameters, double model_size,
                                 int64_t train_modules, int64_t eval_modules,
                                 const std::vector<SummaryColumn>& columns);

}  // namespace fulgur::lightning
