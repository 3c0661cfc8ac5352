#!/usr/bin/python3
"""Generates tests/golden/print_golden.inc: PyTorch's repr of tensors that
tests/tensor_print_test.cc rebuilds with Fulgur's API and prints with Tensor::str().

Run with Debian's PyTorch (1.13), from the repository root:
    /usr/bin/python3 tools/gen_print_golden.py

Every value is deterministic (no RNG): integers from arange, arithmetic done in float64
and converted afterwards (float64 -> float32 -> float16/bfloat16, the same path the C++
test takes), or literals. Keep the case names and constructions in sync with
tests/tensor_print_test.cc.
"""
import math
import os
import sys

import torch

assert torch.__version__.startswith("1.13"), torch.__version__
torch.set_printoptions(profile="default")

f16, bf16, f32, f64 = torch.float16, torch.bfloat16, torch.float32, torch.float64
nan, inf = math.nan, math.inf


def ar(*args):
    """torch.arange in float64 (integers, exact)."""
    return torch.arange(*args, dtype=torch.int64).to(f64)


def lit(values, dtype=f32):
    """Literals: Python floats (double) -> dtype, via float32 for 16-bit floats."""
    t = torch.tensor(values, dtype=f64)
    if dtype in (f16, bf16):
        return t.to(f32).to(dtype)
    return t.to(dtype)


def cvt(t, dtype):
    """float64 tensor -> dtype, via float32 for 16-bit floats."""
    if dtype in (f16, bf16):
        return t.to(f32).to(dtype)
    return t.to(dtype)


CASES = [
    # ---- float32 basics: fixed-point, int mode, negatives, -0.
    ("f32_small", lit([0.1, 0.2])),
    ("f32_int_valued", lit([1.0, 2.0, 3.0])),
    ("f32_int_valued_neg", lit([-1.0, 20.0, 300.0, 0.0])),
    ("f32_neg_mixed", lit([-1.5, 0.25, 3.0, -0.0])),
    ("f32_rounding", lit([0.00005, 0.12345, 0.99995, 1.00005, 2.5])),
    ("f32_round_fixed", lit([0.12345, 0.99996, 1.00005, 2.5, -0.49995])),
    ("f32_int_1e8", lit([100000000.0, 3.0])),
    ("f32_int_1e8_single", lit([100000000.0])),
    ("f32_arange_div7", cvt(ar(10) / 7, f32)),
    # ---- scientific notation.
    ("f32_sci_ratio", lit([1.0, 2000.0, 0.5])),
    ("f32_sci_int_ratio", lit([1.0, 1001.0, 5.0])),
    ("f32_no_sci_int_ratio", lit([1.0, 1000.0, 5.0])),
    ("f32_sci_tiny", lit([1e-5, 0.5, 0.25])),
    ("f32_sci_huge_int", lit([1e9, 2.0])),
    ("f32_sci_huge", lit([1.5e9, 3.25])),
    ("f32_sci_neg", lit([-1e-5, 2.0, -300.0])),
    ("f32_sci_big_exponent", lit([1e30, -1e-30, 1.0])),
    ("f64_sci_3digit_exp", lit([1e200, 1e-200], f64)),
    # ---- non-finite values.
    ("f32_nan_inf", lit([1.5, nan, inf, -inf, -2.25])),
    ("f32_int_nan_inf", lit([1.0, nan, -inf, 3.0])),
    ("f32_sci_nan_inf", lit([1e-5, nan, inf, 2.0])),
    ("f32_all_nonfinite", lit([nan, inf, -inf])),
    ("f32_nan_only", lit([nan])),
    ("f32_neg_nan", lit([-nan, 1.5, -nan])),
    ("f32_neg_zero", lit([-0.0])),
    ("f32_zero_inf", lit([0.0, inf, -0.0])),
    ("f32_all_zero", torch.zeros(2, 3)),
    ("f32_zero_and_nan", lit([0.0, nan, 0.0])),
    # ---- 0-dim.
    ("scalar_f32", lit(3.5)),
    ("scalar_f32_int", lit(-2.0)),
    ("scalar_f64", lit(0.1, f64)),
    ("scalar_i64", torch.tensor(7)),
    ("scalar_i32", torch.tensor(-12, dtype=torch.int32)),
    ("scalar_bool", torch.tensor(True)),
    ("scalar_f16", lit(-2.5, f16)),
    ("scalar_bf16", lit(0.1, bf16)),
    ("scalar_u8", torch.tensor(255, dtype=torch.uint8)),
    ("scalar_nan", lit(nan)),
    ("scalar_tiny", lit(1e-7)),
    ("scalar_zero", lit(0.0)),
    # ---- empty tensors.
    ("empty_f32", torch.zeros(0)),
    ("empty_2x0", torch.zeros(2, 0)),
    ("empty_0x3x1", torch.zeros(0, 3, 1)),
    ("empty_i64", torch.zeros(0, dtype=torch.int64)),
    ("empty_i32_2x0", torch.zeros(2, 0, dtype=torch.int32)),
    ("empty_f64_0x3x1", torch.zeros(0, 3, 1, dtype=f64)),
    ("empty_bool", torch.zeros(0, dtype=torch.bool)),
    # ---- every dtype.
    ("dtype_bool", (torch.arange(6) % 3 == 0).reshape(2, 3)),
    ("dtype_uint8", (torch.arange(6) * 50 + 5).to(torch.uint8).reshape(2, 3)),
    ("dtype_int8", (torch.arange(6) * 40 - 128).to(torch.int8).reshape(2, 3)),
    ("dtype_int16", (torch.arange(6) * 1000 - 2500).to(torch.int16).reshape(2, 3)),
    ("dtype_int32", (torch.arange(6) * 100000 - 7).to(torch.int32).reshape(2, 3)),
    ("dtype_int64", (torch.arange(6) * 3000000000 - 5).reshape(2, 3)),
    ("dtype_float16", cvt(ar(6) / 7, f16).reshape(2, 3)),
    ("dtype_bfloat16", cvt((ar(6) - 2) / 3, bf16).reshape(2, 3)),
    ("dtype_float32", cvt(ar(6) / 7, f32).reshape(2, 3)),
    ("dtype_float64", (ar(6) / 7).reshape(2, 3)),
    ("dtype_float16_subnormal", lit([6e-8, 1e-5, 65504.0, -0.0], f16)),
    ("dtype_bfloat16_nonfinite", lit([nan, -inf, 0.5, 1.0 / 3.0], bf16)),
    ("i64_extremes", torch.tensor([-9223372036854775808, 0, 9223372036854775807])),
    ("dtype_float16_int", cvt(ar(4) * 100, f16)),
    ("dtype_float16_sci", lit([1e-3, 100.0, 0.5], f16)),
    ("dtype_bfloat16_big", lit([3.0e38, -1.0, 7.0], bf16)),
    ("dtype_float64_precise", lit([1.0 / 3.0, 2.0 / 3.0, 12345.678], f64)),
    # ---- long vectors: line wrapping at width 80.
    ("wrap_f32_div3", cvt(ar(40) / 3, f32)),
    ("wrap_i64", torch.arange(60)),
    ("wrap_i64_neg", torch.arange(-30, 30) * 7),
    ("wrap_bool", torch.arange(30) % 3 == 0),
    ("wrap_u8", torch.arange(200, 256).to(torch.uint8)),
    ("wrap_sci", cvt((ar(25) + 1) * 1e-5, f32)),
    ("wrap_f64_suffix", (ar(9) / 7)),
    ("wrap_f64_suffix_short", (ar(5) / 7)),
    ("wrap_f64_multiline", (ar(20) / 7)),
    ("wrap_f16_suffix", cvt(ar(9) / 7, f16)),
    ("wrap_i32_suffix", (torch.arange(23) * 1000).to(torch.int32)),
    ("wrap_i32_suffix_2d", (torch.arange(24) * 100).to(torch.int32).reshape(2, 12)),
    # ---- nested.
    ("nd_2d_f32", cvt(ar(12).reshape(3, 4) / 7 - 0.5, f32)),
    ("nd_3d_f32", cvt(ar(24).reshape(2, 3, 4) / 7, f32)),
    ("nd_3d_i64", torch.arange(24).reshape(2, 3, 4) - 10),
    ("nd_4d_i64", torch.arange(120).reshape(2, 3, 4, 5)),
    ("nd_4d_f64", (ar(36).reshape(3, 2, 2, 3) - 18) / 4),
    ("nd_4d_wrap", cvt(ar(2 * 2 * 2 * 12).reshape(2, 2, 2, 12) / 9, f32)),
    ("nd_size1_dims", cvt(ar(3).reshape(1, 3, 1) + 0.5, f32)),
    ("nd_5d", torch.arange(32).reshape(2, 2, 2, 2, 2) * 3),
    ("nd_transposed", cvt(ar(12).reshape(3, 4) / 4, f32).t()),
    ("nd_strided_slice", torch.arange(20).reshape(4, 5)[:, ::2]),
    ("nd_2d_sci_nan", lit([[1e-6, nan], [-inf, 12.5]])),
    ("nd_expanded", cvt(ar(3) / 2, f32).reshape(3, 1).expand(3, 4)),
    # ---- summarised (> 1000 elements).
    ("sum_arange2000", torch.arange(2000)),
    ("sum_arange1001_f32", cvt(ar(1001) / 3, f32)),
    ("sum_1000_not_summarised", torch.arange(1000) % 10),
    ("sum_7_rows", torch.arange(7 * 150).reshape(7, 150).to(torch.uint8)),
    ("sum_hidden_big", cvt(torch.where(ar(2000) == 1000, torch.full((2000,), 1e10, dtype=f64), ar(2000) / 4 + 1), f32)),
    ("sum_column", torch.arange(1001).reshape(1001, 1)),
    ("sum_row", cvt(ar(1001).reshape(1, 1001) - 500.5, f64)),
    ("sum_f64_nonfinite", torch.where(ar(1500) % 3 == 1, torch.full((1500,), inf, dtype=f64), -ar(1500) / 8).reshape(3, 500)),
    ("sum_2d_30x100", cvt(ar(3000).reshape(30, 100), f32)),
    ("sum_2d_30x100_div7", cvt(ar(3000).reshape(30, 100) / 7, f32)),
    ("sum_3d", cvt(ar(20 * 30 * 5).reshape(20, 30, 5) / 7 - 100, f32)),
    ("sum_3d_small_lead", torch.arange(2 * 3 * 400).reshape(2, 3, 400)),
    ("sum_4d", torch.arange(8 * 5 * 6 * 5).reshape(8, 5, 6, 5).to(torch.int16)),
    ("sum_2d_sci", cvt((ar(2000) + 1).reshape(40, 50) * 1e-3, f32)),
    ("sum_f64_suffix", (ar(1200) / 7).reshape(2, 600)),
    ("sum_bool", (torch.arange(1500) % 7 == 0).reshape(3, 500)),
    ("sum_middle_nan", cvt(torch.where(ar(2000) % 2 == 0, ar(2000), torch.full((2000,), nan, dtype=f64)), f32)),
]


def cpp_raw(s):
    assert ")golden\"" not in s
    return 'R"golden(' + s + ')golden"'


def main():
    names = [n for n, _ in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    out = [
        "// GENERATED FILE, do not edit. PyTorch %s's repr of tensors, as {name, repr} pairs." % torch.__version__,
        "// Regenerate from the repository root with:",
        "//     /usr/bin/python3 tools/gen_print_golden.py",
        "// Included by tests/tensor_print_test.cc inside an initializer list.",
    ]
    for name, t in CASES:
        out.append("{%s, %s}," % ('"' + name + '"', cpp_raw(repr(t))))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden", "print_golden.inc")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print("wrote %d cases to %s" % (len(CASES), path), file=sys.stderr)


if __name__ == "__main__":
    main()
