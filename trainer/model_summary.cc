// L::ModelSummary: Lightning 2.4's model_summary.py rules (row selection by depth, counts,
// size, the table's layout), written for nn::Module.
#include "fulgur/trainer/model_summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <sstream>

#include "fulgur/kernels/error.h"
#include "fulgur/trainer/lightning_module.h"
#include "fulgur/trainer/rank_zero.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning {

namespace {

// Python's len() of a str: code points, not UTF-8 bytes.
size_t text_length(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// "{:<{w}}": left-aligned, padded with spaces to w.
std::string pad_right(const std::string& s, size_t width) {
  const size_t n = text_length(s);
  return n >= width ? s : s + std::string(width - n, ' ');
}

// Python's "," format option on the integer digits of an already formatted number.
std::string group_thousands(const std::string& formatted) {
  const size_t start = formatted[0] == '-' ? 1 : 0;
  const size_t end = std::min(formatted.find('.'), formatted.size());
  std::string out = formatted.substr(0, start);
  for (size_t i = start; i < end; ++i) {
    out += formatted[i];
    const size_t left = end - i - 1;
    if (left > 0 && left % 3 == 0) out += ',';
  }
  return out + formatted.substr(end);
}

int64_t count_parameters(const nn::Module& m, bool trainable_only) {
  int64_t n = 0;
  for (const Tensor& p : m.parameters()) {
    if (!trainable_only || p.requires_grad()) n += p.numel();
  }
  return n;
}

// Lightning >= 2.5.3's table (2.4 looks the "*-true" strings up in a table of "32"/"64"/... only
// and so always counts 32 bits; we size what the Trainer really holds).
double bits_of(const std::string& precision) {
  static const std::map<std::string, int> bits = {{"64", 64},      {"32", 32},        {"16", 16},      {"bf16", 16},
                                                  {"16-true", 16}, {"bf16-true", 16}, {"32-true", 32}, {"64-true", 64}};
  const auto it = bits.find(precision);
  if (it != bits.end()) return it->second;
  rank_zero_printf(
      "warning: Precision %s is not supported by the model summary.  Estimated model size in MB will not be "
      "accurate. Using 32 bits instead.\n",
      precision.c_str());
  return 32;
}

}  // namespace

std::string get_human_readable_count(int64_t number) {
  FULGUR_CHECK(number >= 0, "get_human_readable_count", "expected a non-negative count, got ", number);
  static const char* const kLabels[] = {" ", "K", "M", "B", "T"};
  const int64_t digits = number > 0 ? static_cast<int64_t>(std::floor(std::log10(static_cast<double>(number)))) + 1 : 1;
  const int64_t groups = std::min<int64_t>((digits + 2) / 3, 5);  // don't abbreviate beyond trillions
  const int64_t index = groups - 1;
  const std::string label = kLabels[index];
  if (index == 0) return group_thousands(std::to_string(number)) + " " + label;
  const double scaled = static_cast<double>(number) * std::pow(10.0, static_cast<double>(-3 * index));
  char buf[64];
  if (scaled >= 100) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(scaled));  // int(): truncation
  } else {
    std::snprintf(buf, sizeof buf, "%.1f", scaled);
  }
  return group_thousands(buf) + " " + label;
}

std::string get_formatted_model_size(double megabytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", megabytes);
  return group_thousands(buf);
}

ModelSummary::ModelSummary(nn::Module& model, int64_t max_depth, const std::string& precision) : max_depth_(max_depth) {
  FULGUR_CHECK(max_depth >= -1, "ModelSummary", "`max_depth` can be -1, 0 or > 0, got ", max_depth, ".");
  std::vector<std::pair<std::string, std::shared_ptr<nn::Module>>> rows;
  if (max_depth == 1) {
    rows = model.named_children();
  } else if (max_depth != 0) {
    rows = model.named_modules();
    rows.erase(rows.begin());  // not the root itself
  }
  for (const auto& [name, module] : rows) {
    // Deeper than max_depth: more dots than max_depth - 1.
    if (max_depth >= 1 && std::count(name.begin(), name.end(), '.') >= max_depth) continue;
    layers_.push_back({name, module->name(), count_parameters(*module, false), module->is_training()});
  }
  total_parameters_ = count_parameters(model, false);
  trainable_parameters_ = count_parameters(model, true);
  const auto modules = model.modules();
  for (size_t i = 1; i < modules.size(); ++i) (modules[i]->is_training() ? train_modules_ : eval_modules_) += 1;
  precision_megabytes_ = bits_of(precision) / 8.0 * 1e-6;
}

int64_t ModelSummary::total_layer_params() const {
  int64_t n = 0;
  for (const LayerSummary& l : layers_) n += l.num_parameters;
  return n;
}

std::vector<SummaryColumn> ModelSummary::summary_data() const {
  std::vector<SummaryColumn> cols = {{" ", {}}, {"Name", {}}, {"Type", {}}, {"Params", {}}, {"Mode", {}}};
  for (size_t i = 0; i < layers_.size(); ++i) {
    cols[0].second.push_back(std::to_string(i));
    cols[1].second.push_back(layers_[i].name);
    cols[2].second.push_back(layers_[i].type);
    cols[3].second.push_back(get_human_readable_count(layers_[i].num_parameters));
    cols[4].second.push_back(layers_[i].training ? "train" : "eval");
  }
  // Parameters registered on the root itself (or otherwise outside every row).
  const int64_t leftover = total_parameters_ - total_layer_params();
  if (leftover > 0) {
    cols[0].second.push_back(" ");
    cols[1].second.push_back("other params");
    cols[2].second.push_back("n/a");
    cols[3].second.push_back(get_human_readable_count(leftover));
    cols[4].second.push_back("n/a");
  }
  return cols;
}

std::string ModelSummary::str() const {
  return format_summary_table(total_parameters_, trainable_parameters_, model_size(), train_modules_, eval_modules_,
                              summary_data());
}

std::ostream& operator<<(std::ostream& os, const ModelSummary& summary) { return os << summary.str(); }

ModelSummary summarize(nn::Module& model, int64_t max_depth) {
  std::string precision = "32-true";
  if (auto* lm = dynamic_cast<LightningModule*>(&model); lm != nullptr && lm->has_trainer()) {
    precision = lm->trainer().precision();
  }
  return ModelSummary(model, max_depth, precision);
}

std::string format_summary_table(int64_t total_parameters, int64_t trainable_parameters, double model_size,
                                 int64_t train_modules, int64_t eval_modules,
                                 const std::vector<SummaryColumn>& columns) {
  const size_t rows = columns.empty() ? 0 : columns[0].second.size();
  std::vector<size_t> widths;
  size_t total_width = 3 * (columns.size() + 1);
  for (const auto& [header, cells] : columns) {
    size_t w = text_length(header);
    for (const std::string& c : cells) w = std::max(w, text_length(c));
    widths.push_back(w);
    total_width += w;
  }
  const auto join_row = [&](const std::function<const std::string&(size_t)>& cell) {
    std::string line;
    for (size_t c = 0; c < columns.size(); ++c) line += (c ? " | " : "") + pad_right(cell(c), widths[c]);
    return line;
  };
  const std::string rule(total_width, '-');
  std::ostringstream out;
  out << join_row([&](size_t c) -> const std::string& { return columns[c].first; }) << "\n" << rule;
  for (size_t r = 0; r < rows; ++r) {
    out << "\n" << join_row([&](size_t c) -> const std::string& { return columns[c].second[r]; });
  }
  out << "\n" << rule;
  out << "\n" << pad_right(get_human_readable_count(trainable_parameters), 10) << "Trainable params";
  out << "\n"
      << pad_right(get_human_readable_count(total_parameters - trainable_parameters), 10) << "Non-trainable params";
  out << "\n" << pad_right(get_human_readable_count(total_parameters), 10) << "Total params";
  out << "\n" << pad_right(get_formatted_model_size(model_size), 10) << "Total estimated model params size (MB)";
  out << "\n" << pad_right(std::to_string(train_modules), 10) << "Modules in train mode";
  out << "\n" << pad_right(std::to_string(eval_modules), 10) << "Modules in eval mode";
  return out.str();
}

}  // namespace fulgur::lightning
