#!/usr/bin/env python3
"""Golden values for the metrics tests (tests/metrics_*_test.cc), computed by torchmetrics 1.4.0.

torchmetrics is not packaged in Debian; it goes into a venv on top of Debian's PyTorch 1.13:

    /usr/bin/python3 -m venv --system-site-packages /tmp/tmvenv && \
        /tmp/tmvenv/bin/pip install --no-deps torchmetrics==1.4.0 lightning-utilities==0.11.2 \
        packaging typing_extensions

then, from the repository root:

    /tmp/tmvenv/bin/python tools/gen_metrics_golden.py

It writes tests/golden/metrics_golden.inc:
  - kInputs: named input sets, each a few batches of (preds, target) or (value[, weight])
    drawn from a seeded generator (probabilities, logits, labels, ties, ignored positions,
    absent classes, NaNs);
  - kCases: a metric (as a C++ factory expression over the Fulgur API), the input set, the
    value forward() returned for each batch, and compute() after all batches (or "throws"),
    plus whether torchmetrics warned during that compute(). Cases without batches record
    compute() before any update().
The test checks forward() per batch, compute() after forward()s and after update()s, and
reset() followed by one update (= the first batch's forward value).
"""
import math
import os
import warnings

import torch
import torchmetrics
from torchmetrics import (AUROC, Accuracy, ConfusionMatrix, F1Score, FBetaScore, MaxMetric, MeanAbsoluteError,
                          MeanMetric, MeanSquaredError, MinMetric, Precision, R2Score, Recall, StatScores,
                          SumMetric)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "golden", "metrics_golden.inc")

torch.manual_seed(20240607)
SIZES = [16, 11, 20]  # batch sizes: uneven on purpose
C, L = 5, 4

DTYPES = {torch.float32: "kFloat32", torch.float64: "kFloat64", torch.int64: "kInt64", torch.int32: "kInt32",
          torch.bool: "kBool"}


def num(x):
    x = float(x)
    if math.isnan(x):
        return "kNaN"
    if math.isinf(x):
        return "kInf" if x > 0 else "-kInf"
    return repr(x)


def gt(t):
    vals = ", ".join(num(v) for v in t.flatten().tolist())
    return "{%s, {%s}, {%s}}" % (DTYPES[t.dtype], ", ".join(str(s) for s in t.shape), vals)


# ---- inputs ---------------------------------------------------------------------------------------
INPUTS = {}  # name -> list of batches (lists of tensors)


def inputs(name, make):
    INPUTS[name] = [make(n) for n in SIZES]


def with_ignored(t, value, frac=0.2):
    t = t.clone()
    t[torch.rand(t.shape) < frac] = value
    return t


inputs("bin_probs", lambda n: [torch.rand(n), torch.randint(0, 2, (n,))])
inputs("bin_logits", lambda n: [torch.randn(n) * 2, torch.randint(0, 2, (n,))])
inputs("bin_labels", lambda n: [torch.randint(0, 2, (n,)), torch.randint(0, 2, (n,))])
inputs("bin_2d", lambda n: [torch.rand(n, 3), torch.randint(0, 2, (n, 3))])
inputs("bin_ignore", lambda n: [torch.rand(n), with_ignored(torch.randint(0, 2, (n,)), -1)])
inputs("bin_nopos", lambda n: [torch.rand(n), torch.zeros(n, dtype=torch.long)])
inputs("bin_ties", lambda n: [torch.round(torch.rand(n) * 4) / 4, torch.randint(0, 2, (n,))])
inputs("bin_probs64", lambda n: [torch.rand(n, dtype=torch.float64), torch.randint(0, 2, (n,))])
inputs("mc_probs", lambda n: [torch.randn(n, C).softmax(1), torch.randint(0, C, (n,))])
inputs("mc_logits", lambda n: [torch.randn(n, C) * 2, torch.randint(0, C, (n,))])
inputs("mc_labels", lambda n: [torch.randint(0, C, (n,)), torch.randint(0, C, (n,))])
inputs("mc_absent", lambda n: [torch.randn(n, C) - 10 * torch.nn.functional.one_hot(torch.tensor(C - 1), C),
                               torch.randint(0, C - 1, (n,))])
inputs("mc_ignore_neg", lambda n: [torch.randn(n, C), with_ignored(torch.randint(0, C, (n,)), -100)])
inputs("mc_multidim", lambda n: [torch.randn(n, C, 3), torch.randint(0, C, (n, 3))])
inputs("mc_probs64", lambda n: [torch.randn(n, C, dtype=torch.float64).softmax(1),
                                torch.randint(0, C, (n,), dtype=torch.int32)])
inputs("ml_probs", lambda n: [torch.rand(n, L), torch.randint(0, 2, (n, L))])
inputs("ml_logits", lambda n: [torch.randn(n, L) * 2, torch.randint(0, 2, (n, L))])
inputs("ml_ignore", lambda n: [torch.rand(n, L), with_ignored(torch.randint(0, 2, (n, L)), -1)])
inputs("ml_multidim", lambda n: [torch.rand(n, L, 2), torch.randint(0, 2, (n, L, 2))])
inputs("reg", lambda n: [torch.randn(n), torch.randn(n)])
inputs("reg_close", lambda n: [torch.linspace(0, 1, n) + 0.1 * torch.randn(n), torch.linspace(0, 1, n)])
inputs("reg2", lambda n: [torch.randn(n, 2), torch.randn(n, 2) * torch.tensor([1.0, 3.0])])
inputs("reg64", lambda n: [torch.randn(n, dtype=torch.float64), torch.randn(n, dtype=torch.float64)])
inputs("agg", lambda n: [torch.randn(n)])
inputs("agg_2d", lambda n: [torch.randn(n, 3)])
inputs("agg_weighted", lambda n: [torch.randn(n), torch.rand(n)])
inputs("agg_nan", lambda n: [with_ignored(torch.randn(n), float("nan"))])
inputs("agg_nan_weighted", lambda n: [torch.randn(n), with_ignored(torch.rand(n), float("nan"))])

# ---- cases ----------------------------------------------------------------------------------------
# C++ option structs: field order (designated initializers must follow it).
STAT_FIELDS = ["task", "threshold", "num_classes", "num_labels", "average", "multidim_average", "top_k",
               "ignore_index", "validate_args", "zero_division"]
CPP = {
    StatScores: ("StatScores", "StatScoresOptions", STAT_FIELDS),
    Accuracy: ("Accuracy", "AccuracyOptions", STAT_FIELDS),
    Precision: ("Precision", "PrecisionOptions", STAT_FIELDS),
    Recall: ("Recall", "RecallOptions", STAT_FIELDS),
    F1Score: ("F1Score", "F1ScoreOptions", STAT_FIELDS),
    FBetaScore: ("FBetaScore", "FBetaScoreOptions", ["task", "beta"] + STAT_FIELDS[1:]),
    ConfusionMatrix: ("ConfusionMatrix", "ConfusionMatrixOptions",
                      ["task", "threshold", "num_classes", "num_labels", "normalize", "ignore_index",
                       "validate_args"]),
    AUROC: ("AUROC", "AUROCOptions", ["task", "thresholds", "num_classes", "num_labels", "average", "max_fpr",
                                      "ignore_index", "validate_args"]),
    MeanSquaredError: ("MeanSquaredError", "MeanSquaredErrorOptions", ["squared", "num_outputs"]),
    MeanAbsoluteError: ("MeanAbsoluteError", None, []),
    R2Score: ("R2Score", "R2ScoreOptions", ["num_outputs", "adjusted", "multioutput"]),
    MeanMetric: ("MeanMetric", "MeanMetricOptions", ["nan_strategy"]),
    SumMetric: ("SumMetric", "SumMetricOptions", ["nan_strategy"]),
    MaxMetric: ("MaxMetric", "MaxMetricOptions", ["nan_strategy"]),
    MinMetric: ("MinMetric", "MinMetricOptions", ["nan_strategy"]),
}


def cpp_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, float):
        return repr(v)
    return str(v)


def cpp_factory(cls, kwargs):
    name, opts, fields = CPP[cls]
    unknown = set(kwargs) - set(fields)
    assert not unknown, (name, unknown)
    inits = ", ".join(".%s = %s" % (f, cpp_value(kwargs[f])) for f in fields if f in kwargs)
    arg = "metrics::%s{%s}" % (opts, inits) if opts else ""
    return "[] { return std::shared_ptr<metrics::Metric>(std::make_shared<metrics::%s>(%s)); }" % (name, arg)


CASES = []


def run(cls, kwargs, batches, calls):
    """calls(metric, batch) -> forward/update on the batch."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = cls(**kwargs)
        # clones: torchmetrics writes nan_strategy replacements into the caller's tensors
        fwd = [m(*[t.clone() for t in b]) for b in batches]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            value = m.compute()
        except Exception:  # noqa: BLE001 -- the case records that compute() throws
            value = None
    warned = len(w) > 0
    # compute() after update()s only must be the same
    if batches:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m2 = cls(**kwargs)
            for b in batches:
                m2.update(*[t.clone() for t in b])
            v2 = m2.compute()
            assert torch.allclose(v2.double(), value.double(), equal_nan=True), (cls, kwargs)
    return fwd, value, warned


def case(name, cls, kwargs, input_name):
    batches = INPUTS[input_name] if input_name else []
    fwd, value, warned = run(cls, kwargs, batches, None)
    # torchmetrics wants floats for these; C++ takes them as double anyway
    CASES.append((name, cpp_factory(cls, kwargs), input_name, fwd, value, warned))


# Accuracy / Precision / Recall / F1 / FBeta over every task and averaging.
STAT_METRICS = [("acc", Accuracy), ("prec", Precision), ("rec", Recall), ("f1", F1Score)]
for short, cls in STAT_METRICS:
    for inp in ["bin_probs", "bin_logits", "bin_labels", "bin_2d", "bin_probs64"]:
        case("%s/binary/%s" % (short, inp), cls, {"task": "binary"}, inp)
    case("%s/binary/threshold0.3" % short, cls, {"task": "binary", "threshold": 0.3}, "bin_probs")
    case("%s/binary/ignore" % short, cls, {"task": "binary", "ignore_index": -1}, "bin_ignore")
    case("%s/binary/nopos" % short, cls, {"task": "binary"}, "bin_nopos")
    for avg in ["micro", "macro", "weighted", "none"]:
        for inp in ["mc_probs", "mc_logits", "mc_labels", "mc_absent", "mc_multidim"]:
            case("%s/multiclass/%s/%s" % (short, avg, inp), cls,
                 {"task": "multiclass", "num_classes": C, "average": avg}, inp)
        for inp in ["mc_logits", "mc_absent"]:
            case("%s/multiclass/%s/top2/%s" % (short, avg, inp), cls,
                 {"task": "multiclass", "num_classes": C, "average": avg, "top_k": 2}, inp)
        case("%s/multiclass/%s/ignore0" % (short, avg), cls,
             {"task": "multiclass", "num_classes": C, "average": avg, "ignore_index": 0}, "mc_logits")
        case("%s/multiclass/%s/ignore0/top2" % (short, avg), cls,
             {"task": "multiclass", "num_classes": C, "average": avg, "top_k": 2, "ignore_index": 0}, "mc_logits")
        case("%s/multiclass/%s/ignore-100" % (short, avg), cls,
             {"task": "multiclass", "num_classes": C, "average": avg, "ignore_index": -100}, "mc_ignore_neg")
        case("%s/multiclass/%s/ignore-100/top3" % (short, avg), cls,
             {"task": "multiclass", "num_classes": C, "average": avg, "top_k": 3, "ignore_index": -100},
             "mc_ignore_neg")
        for inp in ["ml_probs", "ml_logits", "ml_multidim"]:
            case("%s/multilabel/%s/%s" % (short, avg, inp), cls,
                 {"task": "multilabel", "num_labels": L, "average": avg}, inp)
        case("%s/multilabel/%s/ignore" % (short, avg), cls,
             {"task": "multilabel", "num_labels": L, "average": avg, "ignore_index": -1}, "ml_ignore")
        case("%s/multilabel/%s/threshold0.7" % (short, avg), cls,
             {"task": "multilabel", "num_labels": L, "average": avg, "threshold": 0.7}, "ml_probs")
    case("%s/multiclass/macro/probs64" % short, cls, {"task": "multiclass", "num_classes": C, "average": "macro"},
         "mc_probs64")
for short, cls in [("prec", Precision), ("rec", Recall), ("f1", F1Score)]:
    case("%s/binary/nopos/zero_division1" % short, cls, {"task": "binary", "zero_division": 1}, "bin_nopos")
    case("%s/multiclass/none/absent/zero_division1" % short, cls,
         {"task": "multiclass", "num_classes": C, "average": "none", "zero_division": 1}, "mc_absent")
case("acc/multiclass/macro/top3", Accuracy, {"task": "multiclass", "num_classes": C, "average": "macro", "top_k": 3},
     "mc_probs")
for beta in [0.5, 2.0]:
    case("fbeta%s/binary" % beta, FBetaScore, {"task": "binary", "beta": beta}, "bin_logits")
    for avg in ["micro", "macro", "weighted", "none"]:
        case("fbeta%s/multiclass/%s" % (beta, avg), FBetaScore,
             {"task": "multiclass", "beta": beta, "num_classes": C, "average": avg}, "mc_logits")
        case("fbeta%s/multilabel/%s" % (beta, avg), FBetaScore,
             {"task": "multilabel", "beta": beta, "num_labels": L, "average": avg}, "ml_logits")

# StatScores itself: [tp, fp, tn, fn, support].
case("stat/binary", StatScores, {"task": "binary"}, "bin_logits")
for avg in ["micro", "macro", "weighted", "none"]:
    case("stat/multiclass/%s" % avg, StatScores, {"task": "multiclass", "num_classes": C, "average": avg}, "mc_logits")
    case("stat/multiclass/%s/top2" % avg, StatScores,
         {"task": "multiclass", "num_classes": C, "average": avg, "top_k": 2}, "mc_logits")
    case("stat/multilabel/%s" % avg, StatScores, {"task": "multilabel", "num_labels": L, "average": avg}, "ml_probs")

# ConfusionMatrix.
for norm in ["none", "true", "pred", "all"]:
    for inp in ["bin_probs", "bin_logits", "bin_labels", "bin_2d"]:
        case("confmat/binary/%s/%s" % (norm, inp), ConfusionMatrix, {"task": "binary", "normalize": norm}, inp)
    case("confmat/binary/%s/ignore" % norm, ConfusionMatrix, {"task": "binary", "normalize": norm,
                                                              "ignore_index": -1}, "bin_ignore")
    case("confmat/binary/%s/nopos" % norm, ConfusionMatrix, {"task": "binary", "normalize": norm}, "bin_nopos")
    for inp in ["mc_probs", "mc_logits", "mc_labels", "mc_absent", "mc_multidim"]:
        case("confmat/multiclass/%s/%s" % (norm, inp), ConfusionMatrix,
             {"task": "multiclass", "num_classes": C, "normalize": norm}, inp)
    case("confmat/multiclass/%s/ignore-100" % norm, ConfusionMatrix,
         {"task": "multiclass", "num_classes": C, "normalize": norm, "ignore_index": -100}, "mc_ignore_neg")
    case("confmat/multiclass/%s/ignore2" % norm, ConfusionMatrix,
         {"task": "multiclass", "num_classes": C, "normalize": norm, "ignore_index": 2}, "mc_logits")
    for inp in ["ml_probs", "ml_logits", "ml_multidim"]:
        case("confmat/multilabel/%s/%s" % (norm, inp), ConfusionMatrix,
             {"task": "multilabel", "num_labels": L, "normalize": norm}, inp)
    case("confmat/multilabel/%s/ignore" % norm, ConfusionMatrix,
         {"task": "multilabel", "num_labels": L, "normalize": norm, "ignore_index": -1}, "ml_ignore")
case("confmat/binary/none/threshold0.3", ConfusionMatrix, {"task": "binary", "threshold": 0.3}, "bin_probs")

# AUROC (binary, exact).
for inp in ["bin_probs", "bin_logits", "bin_2d", "bin_ties", "bin_nopos", "bin_probs64"]:
    case("auroc/%s" % inp, AUROC, {"task": "binary"}, inp)
case("auroc/ignore", AUROC, {"task": "binary", "ignore_index": -1}, "bin_ignore")
for max_fpr in [0.1, 0.5]:
    for inp in ["bin_probs", "bin_ties"]:
        case("auroc/max_fpr%s/%s" % (max_fpr, inp), AUROC, {"task": "binary", "max_fpr": max_fpr}, inp)

# Regression.
for inp in ["reg", "reg_close", "reg64", "reg2"]:
    case("mse/%s" % inp, MeanSquaredError, {}, inp)
    case("rmse/%s" % inp, MeanSquaredError, {"squared": False}, inp)
    case("mae/%s" % inp, MeanAbsoluteError, {}, inp)
case("mse/outputs2", MeanSquaredError, {"num_outputs": 2}, "reg2")
case("rmse/outputs2", MeanSquaredError, {"squared": False, "num_outputs": 2}, "reg2")
for inp in ["reg", "reg_close", "reg64"]:
    case("r2/%s" % inp, R2Score, {}, inp)
case("r2/adjusted2", R2Score, {"adjusted": 2}, "reg")
case("r2/adjusted10", R2Score, {"adjusted": 10}, "reg")  # falls back (warns) for the 11-sample batch
for mo in ["uniform_average", "raw_values", "variance_weighted"]:
    case("r2/outputs2/%s" % mo, R2Score, {"num_outputs": 2, "multioutput": mo}, "reg2")

# Aggregation.
for inp in ["agg", "agg_2d", "agg_weighted"]:
    case("mean/%s" % inp, MeanMetric, {}, inp)
for inp in ["agg", "agg_2d"]:
    case("sum/%s" % inp, SumMetric, {}, inp)
    case("max/%s" % inp, MaxMetric, {}, inp)
    case("min/%s" % inp, MinMetric, {}, inp)
for strategy in ["warn", "ignore", 0.0, 2.5]:
    # Not MeanMetric(nan_strategy=<number>) without weights: torchmetrics writes the number
    # through a broadcast view of the scalar weight 1.0, so every weight of the batch becomes
    # that number (a bug we do not reproduce; tests/metrics_regression_test.cc checks ours).
    if isinstance(strategy, str):
        case("mean/nan/%s" % strategy, MeanMetric, {"nan_strategy": strategy}, "agg_nan")
    case("mean/nan_weight/%s" % strategy, MeanMetric, {"nan_strategy": strategy}, "agg_nan_weighted")
    case("sum/nan/%s" % strategy, SumMetric, {"nan_strategy": strategy}, "agg_nan")
    case("max/nan/%s" % strategy, MaxMetric, {"nan_strategy": strategy}, "agg_nan")
    case("min/nan/%s" % strategy, MinMetric, {"nan_strategy": strategy}, "agg_nan")

# compute() before any update(): torchmetrics warns and returns the defaults' value (or throws).
for name, cls, kwargs in [
        ("acc/binary", Accuracy, {"task": "binary"}),
        ("acc/multiclass/macro", Accuracy, {"task": "multiclass", "num_classes": C, "average": "macro"}),
        ("f1/multilabel/none", F1Score, {"task": "multilabel", "num_labels": L, "average": "none"}),
        ("confmat/multiclass/none", ConfusionMatrix, {"task": "multiclass", "num_classes": 3}),
        ("confmat/binary/true", ConfusionMatrix, {"task": "binary", "normalize": "true"}),
        ("auroc", AUROC, {"task": "binary"}),
        ("mse", MeanSquaredError, {}),
        ("mae", MeanAbsoluteError, {}),
        ("r2", R2Score, {}),
        ("mean", MeanMetric, {}),
        ("sum", SumMetric, {}),
        ("max", MaxMetric, {}),
        ("min", MinMetric, {})]:
    case("before_update/" + name, cls, kwargs, None)


# ---- output ---------------------------------------------------------------------------------------
def main():
    input_index = {name: i for i, name in enumerate(INPUTS)}
    stamp = "// GENERATED FILE, do not edit. torchmetrics %s on PyTorch %s." % (torchmetrics.__version__,
                                                                             torch.__version__)
    regen = "// Regenerate from the repository root with /tmp/tmvenv/bin/python tools/gen_metrics_golden.py"
    # The declarations (a header) and the data (compiled once, in tests/metrics_golden.cc, without
    # optimisation or sanitizers: GCC takes minutes over 472 cases of nested initializer lists
    # under ASan when every test compiles them).
    header = [
        stamp, regen,
        "// (the venv: see the script's header). The data: metrics_golden.inc (tests/metrics_golden.cc).",
        "#pragma once",
        "",
        "#include <functional>",
        "#include <limits>",
        "#include <memory>",
        "#include <vector>",
        "",
        '#include "fulgur/fulgur.h"',
        "",
        "namespace metrics_golden {",
        "using namespace fulgur;  // kFloat32, metrics::...",
        "constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();",
        "constexpr double kInf = std::numeric_limits<double>::infinity();",
        "struct Tensorish {",
        "  fulgur::DType dtype;",
        "  std::vector<int64_t> shape;",
        "  std::vector<double> values;",
        "};",
        "struct Input {",
        "  const char* name;",
        "  std::vector<std::vector<Tensorish>> batches;  // each: (preds, target) or (value[, weight])",
        "};",
        "struct Case {",
        "  const char* name;",
        "  std::function<std::shared_ptr<fulgur::metrics::Metric>()> make;",
        "  int input;                      // index into inputs(); -1: no batches",
        "  std::vector<Tensorish> forward;  // forward() of each batch",
        "  bool compute_throws;",
        "  Tensorish compute;              // compute() after every batch",
        "  bool compute_warns;             // torchmetrics warned during that compute()",
        "};",
        "const std::vector<Input>& inputs();",
        "const std::vector<Case>& cases();",
        "}  // namespace metrics_golden",
        "",
    ]
    lines = [
        stamp, regen,
        "// Included once, by tests/metrics_golden.cc, after tests/golden/metrics_golden.h.",
        "namespace metrics_golden {",
        "const std::vector<Input>& inputs() {",
        "  static const std::vector<Input> v = {",
    ]
    for name, batches in INPUTS.items():
        lines.append('      {"%s", {' % name)
        for b in batches:
            lines.append("          {%s}," % ", ".join(gt(t) for t in b))
        lines.append("      }},")
    lines += ["  };", "  return v;", "}", "const std::vector<Case>& cases() {",
              "  static const std::vector<Case> v = {"]
    for name, factory, inp, fwd, value, warned in CASES:
        idx = input_index[inp] if inp else -1
        fwd_s = ", ".join(gt(t) for t in fwd)
        value_s = gt(value) if value is not None else "{kFloat32, {}, {}}"
        lines.append('      {"%s", %s, %d, {%s}, %s, %s, %s},' % (
            name, factory, idx, fwd_s, "false" if value is not None else "true", value_s,
            "true" if warned else "false"))
    lines += ["  };", "  return v;", "}", "}  // namespace metrics_golden", ""]
    with open(OUT, "w") as f:
        f.write("\n".join(lines))
    with open(OUT[:-len(".inc")] + ".h", "w") as f:
        f.write("\n".join(header))
    print("wrote %s: %d inputs, %d cases" % (OUT, len(INPUTS), len(CASES)))


if __name__ == "__main__":
    main()
