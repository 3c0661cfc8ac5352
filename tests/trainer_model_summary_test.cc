// L::ModelSummary / L::callbacks::ModelSummary against Lightning 2.4's model_summary.py.
//
// The expected tables are derived by hand from Lightning's _format_summary_table: each column
// is as wide as its widest cell or header, cells are left-aligned and joined by " | ", the two
// rules are sum(widths) + 3 * (columns + 1) dashes, then six lines of a 10-wide left-aligned
// value and a label. Rows: the root's children (max_depth 1) or named_modules() without the
// root, keeping names with fewer than max_depth dots (max_depth >= 1; -1 keeps all). Params are
// get_human_readable_count of each row module's parameters (recursive), and an "other params"
// row holds total - sum(rows) when that is positive (Lightning's test_summary_data_with_non_layer_params).
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;
namespace C = fulgur::lightning::callbacks;

namespace {

// net = Sequential(Linear(32, 64) [frozen], ReLU, BatchNorm1d(64) [eval],
//                  Sequential(Linear(64, 10), ReLU)); head = Linear(10, 1); scale: 5 on the root.
// Parameters: net.0 2112 (32*64 + 64), net.2 128 (64 + 64), net.3.0 650 (64*10 + 10),
// net 2890, head 11, scale 5: total 2906, trainable 2906 - 2112 = 794.
// Modules below the root: net, net.0, net.1, net.2, net.3, net.3.0, net.3.1, head = 8, one
// (net.2) in eval mode.
class Nested : public L::LightningModule {
 public:
  Nested() {
    net = register_module("net", nn::Sequential(nn::Linear(32, 64), nn::ReLU(), nn::BatchNorm1d(64),
                                                nn::Sequential(nn::Linear(64, 10), nn::ReLU())));
    head = register_module("head", nn::Linear(10, 1));
    register_parameter("scale", ones({5}));
    for (Tensor& p : net->child("0")->parameters()) p.requires_grad_(false);
    net->child("2")->eval();
  }
  Tensor forward(const Tensor& x) override { return (*head)((*net)(x)); }
  std::shared_ptr<nn::Sequential> net;
  std::shared_ptr<nn::Linear> head;
};

std::string lines(const std::vector<std::string>& ls) {
  std::string out;
  for (size_t i = 0; i < ls.size(); ++i) {
    if (i > 0) out += '\n';
    out += ls[i];
  }
  return out;
}

// The six total lines of Nested (32-bit: 2906 * 4 / 1e6 = 0.011624 -> "0.012").
const std::vector<std::string> kTotals = {
    "794       Trainable params",
    "2.1 K     Non-trainable params",
    "2.9 K     Total params",
    "0.012     Total estimated model params size (MB)",
    "7         Modules in train mode",
    "1         Modules in eval mode",
};

std::string with_totals(std::vector<std::string> rows) {
  rows.insert(rows.end(), kTotals.begin(), kTotals.end());
  return lines(rows);
}

}  // namespace

TEST_CASE("model summary: get_human_readable_count (Lightning's doctest values and edges)") {
  CHECK(L::get_human_readable_count(123) == "123  ");
  CHECK(L::get_human_readable_count(1234) == "1.2 K");
  CHECK(L::get_human_readable_count(2'000'000) == "2.0 M");
  CHECK(L::get_human_readable_count(3'000'000'000) == "3.0 B");
  CHECK(L::get_human_readable_count(400'000'000'000'000) == "400 T");
  CHECK(L::get_human_readable_count(5'000'000'000'000'000) == "5,000 T");
  CHECK(L::get_human_readable_count(0) == "0  ");
  CHECK(L::get_human_readable_count(999) == "999  ");
  CHECK(L::get_human_readable_count(1000) == "1.0 K");
  CHECK(L::get_human_readable_count(99'999) == "100.0 K");  // 99.999 < 100: one decimal, rounded
  CHECK(L::get_human_readable_count(999'999) == "999 K");   // >= 100: int() truncates
  CHECK(L::get_human_readable_count(132'608) == "132 K");   // Lightning's docstring example
  CHECK(L::get_human_readable_count(100'000'000'000'000'000) == "100,000 T");
  CHECK_THROWS_AS(L::get_human_readable_count(-1), Error);
  CHECK(L::get_formatted_model_size(0.011624) == "0.012");
  CHECK(L::get_formatted_model_size(1234.56789) == "1,234.568");
  CHECK(L::get_formatted_model_size(0.0) == "0.000");
}

TEST_CASE("model summary: max_depth 1 lists the children and the root's own parameters") {
  Nested model;
  const L::ModelSummary s = L::summarize(model, 1);
  CHECK(s.total_parameters() == 2906);
  CHECK(s.trainable_parameters() == 794);
  CHECK(s.total_layer_params() == 2901);
  CHECK(s.modules_in_train_mode() == 7);
  CHECK(s.modules_in_eval_mode() == 1);
  CHECK(s.model_size() == doctest::Approx(2906 * 4e-6));
  // Widths: " " 1, Name 12 ("other params"), Type 10 ("Sequential"), Params 6 (header), Mode 5
  // ("train"): 34 + 3 * 6 = 52 dashes. Header "Mode" is padded to 5, hence the trailing space.
  CHECK(s.str() == with_totals({
                       "  | Name         | Type       | Params | Mode ",
                       "----------------------------------------------------",
                       "0 | net          | Sequential | 2.9 K  | train",
                       "1 | head         | Linear     | 11     | train",
                       "  | other params | n/a        | 5      | n/a  ",
                       "----------------------------------------------------",
                   }));
  std::ostringstream os;
  os << s;
  CHECK(os.str() == s.str());
}

TEST_CASE("model summary: max_depth 2 and -1 walk named_modules") {
  Nested model;
  // Depth 2 drops net.3.0 and net.3.1 (two dots). The rows sum to more than the total (parents
  // and children both count), so no "other params" row, as in Lightning.
  CHECK(L::summarize(model, 2).str() == with_totals({
                                            "  | Name  | Type        | Params | Mode ",
                                            "----------------------------------------------",
                                            "0 | net   | Sequential  | 2.9 K  | train",
                                            "1 | net.0 | Linear      | 2.1 K  | train",
                                            "2 | net.1 | ReLU        | 0      | train",
                                            "3 | net.2 | BatchNorm1d | 128    | eval ",
                                            "4 | net.3 | Sequential  | 650    | train",
                                            "5 | head  | Linear      | 11     | train",
                                            "----------------------------------------------",
                                        }));
  const L::ModelSummary all = L::summarize(model, -1);
  CHECK(all.layers().size() == 8);
  CHECK(all.str() == with_totals({
                         "  | Name    | Type        | Params | Mode ",
                         "------------------------------------------------",
                         "0 | net     | Sequential  | 2.9 K  | train",
                         "1 | net.0   | Linear      | 2.1 K  | train",
                         "2 | net.1   | ReLU        | 0      | train",
                         "3 | net.2   | BatchNorm1d | 128    | eval ",
                         "4 | net.3   | Sequential  | 650    | train",
                         "5 | net.3.0 | Linear      | 650    | train",
                         "6 | net.3.1 | ReLU        | 0      | train",
                         "7 | head    | Linear      | 11     | train",
                         "------------------------------------------------",
                     }));
}

TEST_CASE("model summary: max_depth 0 has no layer rows; invalid depths are refused") {
  Nested model;
  // No rows, so every parameter is "other params" (Lightning's _get_summary_data does the same;
  // the callback prints nothing at depth 0). Widths are the headers': 19 + 18 = 37 dashes.
  CHECK(L::summarize(model, 0).str() == with_totals({
                                            "  | Name         | Type | Params | Mode",
                                            "---------------------------------------------",
                                            "  | other params | n/a  | 2.9 K  | n/a ",
                                            "---------------------------------------------",
                                        }));
  CHECK_THROWS_WITH_AS(L::summarize(model, -2), doctest::Contains("`max_depth` can be -1, 0 or > 0, got -2."), Error);
  CHECK_THROWS_AS(C::ModelSummary(-3), Error);
}

TEST_CASE("model summary: size follows the precision (4 or 8 bytes per parameter)") {
  Nested model;
  CHECK(L::ModelSummary(model, 1, "32-true").model_size() == doctest::Approx(0.011624));
  CHECK(L::ModelSummary(model, 1, "64-true").model_size() == doctest::Approx(0.023248));
  CHECK(L::ModelSummary(model, 1, "bf16-true").model_size() == doctest::Approx(0.005812));
  CHECK(L::ModelSummary(model, 1, "16-mixed").model_size() == doctest::Approx(0.011624));  // warns, 32 bits
}

namespace {

// A small regression module for fits.
class Tiny : public L::LightningModule {
 public:
  Tiny() { layer = register_module("layer", nn::Linear(3, 1)); }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss(forward(x), y);
  }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.01}); }
  std::shared_ptr<nn::Linear> layer;
};

std::string temp_dir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : std::filesystem::temp_directory_path().string();
}

L::TrainerOptions quiet(std::vector<std::shared_ptr<L::Callback>> callbacks, bool summary) {
  return {.callbacks = std::move(callbacks), .max_epochs = 1, .logger = false, .enable_checkpointing = false,
          .enable_progress_bar = false, .enable_model_summary = summary, .default_root_dir = temp_dir()};
}

}  // namespace

TEST_CASE("model summary callback: prints the table at fit start, after an empty line") {
  manual_seed(0);
  auto ds = std::make_shared<data::TensorDataset>(randn({4, 3}), randn({4, 1}));
  std::ostringstream out;
  Tiny model;
  L::Trainer trainer(quiet({std::make_shared<C::ModelSummary>(1, &out)}, true));
  // A user-given ModelSummary replaces the default one (Lightning's _configure_model_summary_callback).
  int summaries = 0;
  for (const auto& c : trainer.options().callbacks) summaries += dynamic_cast<C::ModelSummary*>(c.get()) ? 1 : 0;
  CHECK(summaries == 1);
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}));
  std::string expected = "\n";
  // Linear(3, 1): 4 parameters (16 bytes: "0.000"); widths 1 + 5 + 6 + 6 + 5 + 18 = 41 dashes.
  expected += lines({"  | Name  | Type   | Params | Mode ",
                     "-----------------------------------------",
                     "0 | layer | Linear | 4      | train",
                     "-----------------------------------------",
                     "4         Trainable params",
                     "0         Non-trainable params",
                     "4         Total params",
                     "0.000     Total estimated model params size (MB)",
                     "1         Modules in train mode",
                     "0         Modules in eval mode"});
  expected += '\n';
  CHECK(out.str() == expected);
  CHECK(trainer.dump_checkpoint().at("callbacks").find("ModelSummary") == nullptr);  // stateless
  // Only fit prints it.
  out.str("");
  trainer.predict(model, data::DataLoader(ds, {.batch_size = 2}));
  CHECK(out.str().empty());
}

TEST_CASE("model summary callback: max_depth 0 prints nothing; enable_model_summary adds the default") {
  std::ostringstream out;
  auto silent = std::make_shared<C::ModelSummary>(0, &out);
  manual_seed(0);
  auto ds = std::make_shared<data::TensorDataset>(randn({4, 3}), randn({4, 1}));
  Tiny model;
  L::Trainer trainer(quiet({silent}, true));
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}));
  CHECK(out.str().empty());

  const auto count = [](const L::Trainer& t) {
    int n = 0;
    for (const auto& c : t.options().callbacks) {
      if (auto* s = dynamic_cast<C::ModelSummary*>(c.get())) {
        CHECK(s->max_depth() == 1);
        ++n;
      }
    }
    return n;
  };
  CHECK(count(L::Trainer(quiet({}, true))) == 1);
  CHECK(count(L::Trainer(quiet({}, false))) == 0);
  CHECK(C::ModelSummary().state_key() == "ModelSummary");
}
