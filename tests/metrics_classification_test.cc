// Classification metrics (Accuracy, Precision, Recall, F1Score, FBetaScore, ConfusionMatrix,
// AUROC) against torchmetrics 1.4.0: tests/golden/metrics_golden.inc, written by
// tools/gen_metrics_golden.py (see its header for the venv). For every case: forward() of each
// batch, compute() after the forwards, compute() after update()s only, the cached second
// compute(), and reset() + one update (= the first batch's value). Then option and input
// errors with their messages, and the state_dict / register_module behaviour.
#include "tests/metrics_test_util.h"

using namespace fulgur;
using namespace fulgur::metrics_testing;

TEST_CASE("golden: StatScores") { run_golden({"stat/"}); }
TEST_CASE("golden: Accuracy") { run_golden({"acc/"}); }
TEST_CASE("golden: Precision") { run_golden({"prec/"}); }
TEST_CASE("golden: Recall") { run_golden({"rec/"}); }
TEST_CASE("golden: F1Score and FBetaScore") { run_golden({"f1/", "fbeta"}); }
TEST_CASE("golden: ConfusionMatrix") { run_golden({"confmat/"}); }
TEST_CASE("golden: AUROC") { run_golden({"auroc/"}); }

TEST_CASE("the api.md example: a multiclass Accuracy registered by value in a module") {
  struct Lit : nn::Module {
    Lit() { acc = register_module("acc", metrics::Accuracy({.task = "multiclass", .num_classes = 10})); }
    std::shared_ptr<metrics::Accuracy> acc;
  };
  Lit lit;
  Tensor logits = zeros({4, 10});
  logits.select(1, 3).fill_(1.0);  // argmax 3 everywhere
  lit.acc->update(logits, i64({3, 3, 1, 3}));
  CHECK(lit.acc->compute().item<double>() == doctest::Approx(0.75));
  CHECK(lit.acc->name() == "MulticlassAccuracy");
  CHECK(lit.acc->repr() == "MulticlassAccuracy()");
  // Metric states are buffers, but not persistent: not in the parent's state_dict.
  CHECK(lit.named_buffers().size() == 4);
  CHECK(lit.state_dict().empty());
}

TEST_CASE("state_dict: states only when persistent, and they load back") {
  metrics::Accuracy acc({.task = "multiclass", .num_classes = 3, .average = "macro"});
  acc.update(i64({0, 1, 2, 2}), i64({0, 1, 1, 2}));
  CHECK(acc.state_dict().empty());
  acc.persistent(true);
  const nn::StateDict sd = acc.state_dict();
  CHECK(sd.keys() == std::vector<std::string>{"tp", "fp", "tn", "fn"});
  CHECK(sd.at("tp").to_vector<int64_t>() == std::vector<int64_t>{1, 1, 1});
  CHECK(sd.at("fp").to_vector<int64_t>() == std::vector<int64_t>{0, 0, 1});

  metrics::Accuracy restored({.task = "multiclass", .num_classes = 3, .average = "macro"});
  restored.persistent(true);
  restored.load_state_dict(sd);
  CHECK(restored.compute().item<double>() == doctest::Approx(acc.compute().item<double>()));
  acc.persistent(false);
  CHECK(acc.state_dict().empty());
  // List states (AUROC's scores) never go to state_dict.
  metrics::AUROC auroc({.task = "binary"});
  auroc.persistent(true);
  auroc.update(f32({0.1f, 0.9f}), i64({0, 1}));
  CHECK(auroc.state_dict().empty());
  CHECK(auroc.metric_state().size() == 2);
  CHECK(auroc.metric_state()[0].second.numel() == 2);
}

TEST_CASE("option errors") {
  CHECK(error_of([] { metrics::Accuracy({.task = "multiclass"}); }).find("needs `num_classes`") !=
        std::string::npos);
  CHECK(error_of([] { metrics::Accuracy({.task = "multilabel"}); }).find("needs `num_labels`") !=
        std::string::npos);
  CHECK(error_of([] { metrics::Precision({.task = "muticlass", .num_classes = 3}); }) ==
        "Precision: Invalid Classification: expected one of ('binary', 'multiclass', 'multilabel'), but got "
        "'muticlass'. Hint: set .task.");
  CHECK(error_of([] { metrics::Recall({.task = "multiclass", .num_classes = 3, .top_k = 4}); }) ==
        "Recall: Expected argument `top_k` to be smaller or equal to `num_classes` but got 4 and 3");
  CHECK(error_of([] { metrics::F1Score({.task = "multiclass", .num_classes = 1}); }).find("larger than 1") !=
        std::string::npos);
  CHECK(error_of([] { metrics::F1Score({.task = "multiclass", .num_classes = 3, .average = "samples"}); })
            .find("Expected argument `average` to be one of") != std::string::npos);
  CHECK(error_of([] { metrics::Accuracy({.task = "binary", .threshold = 1.5}); }).find("[0,1] range") !=
        std::string::npos);
  CHECK(error_of([] { metrics::Accuracy({.task = "binary", .multidim_average = "samplewise"}); })
            .find("not implemented") != std::string::npos);
  CHECK(error_of([] { metrics::Precision({.task = "binary", .zero_division = 0.5}); }).find("`zero_division`") !=
        std::string::npos);
  CHECK(error_of([] { metrics::FBetaScore({.task = "binary", .beta = 0.0}); }).find("`beta`") != std::string::npos);
  CHECK(error_of([] { metrics::ConfusionMatrix({.task = "multiclass", .num_classes = 3, .normalize = "rows"}); })
            .find("`normalize`") != std::string::npos);
  CHECK(error_of([] { metrics::AUROC({.task = "multiclass", .num_classes = 3}); }).find("not implemented") !=
        std::string::npos);
  CHECK(error_of([] { metrics::AUROC({.task = "binary", .thresholds = 100}); }).find("not implemented") !=
        std::string::npos);
}

TEST_CASE("input errors name the metric, the shapes and the offending values") {
  metrics::Accuracy mc({.task = "multiclass", .num_classes = 5});
  CHECK(error_of([&] { mc.update(zeros({4, 3}), i64({0, 1, 2, 3})); }) ==
        "MulticlassAccuracy.update: If `preds` have one dimension more than `target`, `preds.shape[1]` should be "
        "equal to number of classes (preds [4, 3], num_classes 5).");
  CHECK(error_of([&] { mc.update(i64({0, 1, 2}), i64({0, 7, 2})); }) ==
        "MulticlassAccuracy.update: Detected the following values in `target`: tensor([0, 2, 7]) but expected "
        "class indices in [0, 5). Hint: check num_classes (5) against the data.");
  CHECK(error_of([&] { mc.update(zeros({4, 5}), i64({0, 1, 2})); }) ==
        "MulticlassAccuracy.update: If `preds` have one dimension more than `target`, the shape of `preds` should "
        "be (N, C, ...), and the shape of `target` should be (N, ...) (got preds [4, 5] and target [3]).");
  CHECK(error_of([&] { mc.update(zeros({4, 5, 2}), i64({0, 1, 2})); }).find("Either `preds` and `target`") !=
        std::string::npos);
  CHECK(error_of([&] { mc.update(zeros({3, 5}), f32({0, 1, 2})); }).find("integer class indices") !=
        std::string::npos);
  CHECK(error_of([&] { mc.update(zeros({3, 5})); }) ==
        "MulticlassAccuracy.update: expected (preds, target), got 1 tensor");
  CHECK(mc.update_count() == 0);  // an update that threw does not count (torchmetrics counts it)

  metrics::Accuracy bin({.task = "binary"});
  CHECK(error_of([&] { bin.update(f32({0.1f, 0.2f}), i64({0, 1, 1})); }) ==
        "BinaryAccuracy.update: Predictions and targets are expected to have the same shape, but got [2] and [3].");
  CHECK(error_of([&] { bin.update(f32({0.1f, 0.2f}), i64({0, 2})); }) ==
        "BinaryAccuracy.update: Detected the following values in `target`: tensor([0, 2]) but expected only the "
        "following values [0, 1]. Hint: targets are class labels 0/1.");
  CHECK(error_of([&] { bin.update(i64({0, 3}), i64({0, 1})); }).find("since `preds` is a label tensor") !=
        std::string::npos);

  metrics::F1Score ml({.task = "multilabel", .num_labels = 3});
  CHECK(error_of([&] { ml.update(zeros({2, 4}), zeros({2, 4}, {.dtype = kInt64})); })
            .find("equal to the number of labels") != std::string::npos);

  metrics::AUROC auroc({.task = "binary"});
  CHECK(error_of([&] { auroc.update(f32({0.1f, 0.2f}), f32({0, 1})); })
            .find("Expected argument `target` to be an int or long tensor") != std::string::npos);
  CHECK(error_of([&] { auroc.update(i64({0, 1}), i64({0, 1})); })
            .find("Expected argument `preds` to be an floating tensor") != std::string::npos);
  WarningCapture w;
  CHECK(error_of([&] { auroc.compute(); }) ==
        "BinaryAUROC.compute: No samples to concatenate (state 'preds' is empty; hint: call update() before "
        "compute())");

  // validate_args = false skips the value checks (not the shape checks), as in torchmetrics.
  metrics::Accuracy loose({.task = "binary", .validate_args = false});
  loose.update(f32({0.9f, 0.1f}), i64({1, 2}));  // the 2 is neither positive nor negative
  CHECK(loose.compute().item<double>() == doctest::Approx(1.0));
}

TEST_CASE("ignore_index: ignored positions count nowhere") {
  metrics::ConfusionMatrix cm({.task = "multiclass", .num_classes = 3, .ignore_index = -1});
  cm.update(i64({0, 1, 2, 2}), i64({0, -1, 2, 1}));
  CHECK(cm.compute().to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0, 0, 0, 1, 0, 0, 1});
}

TEST_CASE("logits vs probabilities is decided per batch, as torchmetrics does") {
  // The second batch is all inside [0, 1] and is taken as probabilities, even though the
  // first batch was logits.
  metrics::Accuracy acc({.task = "binary"});
  acc.update(f32({-2.f, 3.f}), i64({0, 1}));  // sigmoid: 0.12, 0.95 -> 0, 1
  acc.update(f32({0.4f, 0.6f}), i64({1, 1}));  // probabilities: 0, 1
  CHECK(acc.compute().item<double>() == doctest::Approx(0.75));
}
