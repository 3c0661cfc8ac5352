#!/usr/bin/python3
"""Writes tests/golden/nn_conv_golden.inc: PyTorch 1.13 results for Fulgur's convolution,
pooling, normalization and attention layers (tests/nn_conv_test.cc, nn_norm_test.cc,
nn_attention_test.cc).

    /usr/bin/python3 tools/gen_nn_conv_golden.py      # Debian's python3-torch

Every input, weight and upstream gradient is an explicit deterministic sequence (a
multiplicative hash of the element index, see det()), never torch's RNG, so the C++ side
reads exactly the same numbers. Everything is float64. Each case stores its kind, integer /
real / string arguments, the inputs, the outputs and the gradients of sum(out * grad_out)
with respect to every floating input, printed with repr() (exact round trip).
"""

import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "golden", "nn_conv_golden.inc")


def det(shape, seed, lo=-1.0, hi=1.0):
    """Deterministic values in [lo, hi): element i is hash(i, seed) / 2^32, exact in float64."""
    n = math.prod(shape)
    vals = []
    for i in range(n):
        h = ((i + 1) * 2654435761 + (seed + 1) * 40503 * 97) % (1 << 32)
        h = (h ^ (h >> 13)) * 1274126177 % (1 << 32)
        vals.append(lo + (hi - lo) * h / float(1 << 32))
    return torch.tensor(vals, dtype=torch.float64).reshape(shape)


def det_int(shape, seed, k):
    """Small integers 0..k-1 (ties on purpose)."""
    return torch.floor(det(shape, seed, 0.0, float(k)))


def det_bool(shape, seed, p_true=0.5):
    return det(shape, seed, 0.0, 1.0) < p_true


CASES = []


def add_case(name, kind, ints=None, reals=None, strs=None, tensors=None):
    assert all(c["name"] != name for c in CASES), name
    CASES.append(dict(name=name, kind=kind, ints=ints or {}, reals=reals or {}, strs=strs or {},
                      tensors=tensors or {}))


def run_with_grads(fn, inputs, out_seed):
    """fn(**inputs) -> out (or tuple with out first); returns (outs, grad_out, grads)."""
    leaves = {k: v.detach().clone().requires_grad_(v.is_floating_point()) for k, v in inputs.items()
              if v is not None}
    res = fn(**leaves)
    outs = res if isinstance(res, tuple) else (res,)
    g = det(outs[0].shape, out_seed)
    (outs[0] * g).sum().backward()
    grads = {k: v.grad for k, v in leaves.items() if v.requires_grad and v.grad is not None}
    return outs, g, grads


def tensors_of(inputs, outs, out_names, g, grads):
    t = {k: v for k, v in inputs.items() if v is not None}
    for name, o in zip(out_names, outs):
        if o is not None:
            t[name] = o.detach()
    t["grad_out"] = g
    for k, v in grads.items():
        t["grad." + k] = v
    return t


# ---------------------------------------------------------------------------------------
# unfold / fold
def unfold_case(name, shape, k, d, p, s, seed):
    x = det(shape, seed)
    outs, g, grads = run_with_grads(lambda input: F.unfold(input, k, d, p, s), {"input": x}, seed + 100)
    add_case(name, "unfold", ints=dict(kernel_size=k, dilation=d, padding=p, stride=s),
             tensors=tensors_of({"input": x}, outs, ["out"], g, grads))


def unfold1d_case(name, shape, k, d, p, s, seed):
    """fulgur::unfold on [N, C, L]: torch's 2-D unfold of [N, C, 1, L]."""
    x = det(shape, seed)
    fn = lambda input: F.unfold(input.unsqueeze(2), (1, k), (1, d), (0, p), (1, s))
    outs, g, grads = run_with_grads(fn, {"input": x}, seed + 100)
    add_case(name, "unfold_nd", ints=dict(kernel_size=[k], dilation=[d], padding=[p], stride=[s]),
             tensors=tensors_of({"input": x}, outs, ["out"], g, grads))


def fold_case(name, shape, osize, k, d, p, s, seed):
    x = det(shape, seed)
    outs, g, grads = run_with_grads(lambda input: F.fold(input, osize, k, d, p, s), {"input": x}, seed + 100)
    add_case(name, "fold", ints=dict(output_size=osize, kernel_size=k, dilation=d, padding=p, stride=s),
             tensors=tensors_of({"input": x}, outs, ["out"], g, grads))


unfold_case("unfold_basic", [2, 3, 5, 6], [2, 3], [1, 1], [0, 0], [1, 1], 1)
unfold_case("unfold_all_args", [2, 2, 7, 8], [3, 2], [2, 1], [1, 2], [2, 3], 2)
unfold_case("unfold_unbatched", [2, 4, 5], [2, 2], [1, 1], [1, 0], [1, 2], 3)
unfold1d_case("unfold_1d", [2, 3, 9], 3, 2, 1, 2, 4)
fold_case("fold_basic", [2, 12, 12], [4, 5], [2, 2], [1, 1], [0, 0], [1, 1], 5)
fold_case("fold_all_args", [1, 6, 6], [6, 7], [3, 2], [2, 1], [1, 1], [2, 3], 6)
fold_case("fold_unbatched", [8, 9], [4, 4], [2, 2], [1, 1], [1, 1], [2, 2], 7)

# ---------------------------------------------------------------------------------------
# convolutions
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONVT = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def conv_case(name, nsp, in_shape, w_shape, bias=True, stride=1, padding=0, dilation=1, groups=1, seed=0):
    x = det(in_shape, seed)
    w = det(w_shape, seed + 1, -0.5, 0.5)
    b = det([w_shape[0]], seed + 2) if bias else None
    fn = lambda input, weight, bias=None: CONV[nsp](input, weight, bias, stride, padding, dilation, groups)
    outs, g, grads = run_with_grads(fn, {"input": x, "weight": w, "bias": b}, seed + 100)
    ints = dict(stride=stride if isinstance(stride, list) else [stride],
                dilation=dilation if isinstance(dilation, list) else [dilation], groups=[groups])
    strs = {}
    if isinstance(padding, str):
        strs["padding"] = padding
    else:
        ints["padding"] = padding if isinstance(padding, list) else [padding]
    add_case(name, "conv%dd" % nsp, ints=ints, strs=strs,
             tensors=tensors_of({"input": x, "weight": w, "bias": b}, outs, ["out"], g, grads))


def convt_case(name, nsp, in_shape, w_shape, bias=True, stride=1, padding=0, output_padding=0, groups=1,
               dilation=1, seed=0):
    x = det(in_shape, seed)
    w = det(w_shape, seed + 1, -0.5, 0.5)
    b = det([w_shape[1] * groups], seed + 2) if bias else None
    fn = lambda input, weight, bias=None: CONVT[nsp](input, weight, bias, stride, padding, output_padding, groups,
                                                     dilation)
    outs, g, grads = run_with_grads(fn, {"input": x, "weight": w, "bias": b}, seed + 100)
    L = lambda v: v if isinstance(v, list) else [v]
    add_case(name, "conv_transpose%dd" % nsp,
             ints=dict(stride=L(stride), padding=L(padding), output_padding=L(output_padding), groups=[groups],
                       dilation=L(dilation)),
             tensors=tensors_of({"input": x, "weight": w, "bias": b}, outs, ["out"], g, grads))


conv_case("conv1d_basic", 1, [2, 3, 10], [4, 3, 3], seed=10)
conv_case("conv1d_stride_pad_dil", 1, [2, 2, 11], [3, 2, 3], stride=2, padding=1, dilation=2, seed=11)
conv_case("conv1d_groups", 1, [1, 4, 8], [6, 2, 2], groups=2, seed=12)
conv_case("conv1d_same_even", 1, [2, 2, 7], [2, 2, 4], padding="same", dilation=1, seed=13)
conv_case("conv1d_valid_nobias", 1, [2, 2, 7], [2, 2, 3], bias=False, padding="valid", seed=14)
conv_case("conv1d_unbatched", 1, [3, 6], [2, 3, 2], padding=1, seed=15)
conv_case("conv2d_basic", 2, [2, 3, 6, 5], [4, 3, 3, 3], seed=20)
conv_case("conv2d_all_args", 2, [2, 4, 9, 10], [6, 2, 3, 2], stride=[2, 1], padding=[1, 2], dilation=[1, 2],
          groups=2, seed=21)
conv_case("conv2d_depthwise", 2, [2, 3, 6, 6], [6, 1, 3, 3], padding=1, groups=3, seed=22)
conv_case("conv2d_same_asym", 2, [1, 2, 6, 7], [3, 2, 4, 3], padding="same", dilation=[1, 2], seed=23)
conv_case("conv2d_valid_nobias", 2, [2, 2, 5, 5], [3, 2, 2, 2], bias=False, padding="valid", stride=2, seed=24)
conv_case("conv2d_pointwise", 2, [2, 5, 3, 4], [3, 5, 1, 1], seed=25)
conv_case("conv2d_unbatched", 2, [2, 5, 5], [3, 2, 3, 3], padding=1, stride=2, seed=26)
conv_case("conv2d_mnist_like", 2, [2, 1, 8, 8], [4, 1, 3, 3], seed=27)
conv_case("conv3d_basic", 3, [1, 2, 4, 5, 4], [3, 2, 2, 3, 2], stride=[1, 2, 1], padding=[1, 0, 1], seed=28)
convt_case("conv_transpose1d_basic", 1, [2, 3, 5], [3, 2, 3], stride=2, padding=1, output_padding=1, seed=30)
convt_case("conv_transpose2d_basic", 2, [2, 3, 4, 3], [3, 2, 3, 3], seed=31)
convt_case("conv_transpose2d_stride_pad_outpad", 2, [2, 2, 4, 5], [2, 3, 3, 3], stride=2, padding=1,
           output_padding=1, seed=32)
convt_case("conv_transpose2d_groups_dilation", 2, [1, 4, 3, 4], [4, 2, 2, 3], stride=[2, 1], padding=[0, 1],
           groups=2, dilation=[2, 2], seed=33)
convt_case("conv_transpose2d_outpad_lt_dilation", 2, [1, 2, 3, 3], [2, 2, 2, 2], stride=1, output_padding=1,
           dilation=2, bias=False, seed=34)
convt_case("conv_transpose2d_unbatched", 2, [2, 3, 3], [2, 3, 2, 2], stride=2, seed=35)

def conv_module_case(name, nsp, in_shape, cin, cout, k, padding_mode, stride=1, padding=0, dilation=1, groups=1,
                     bias=True, seed=0):
    """nn.Conv1d/2d with a padding_mode: the module pads the input itself."""
    mod = {1: nn.Conv1d, 2: nn.Conv2d}[nsp](cin, cout, k, stride=stride, padding=padding, dilation=dilation,
                                            groups=groups, bias=bias, padding_mode=padding_mode)
    with torch.no_grad():
        mod.weight.copy_(det(list(mod.weight.shape), seed + 1, -0.5, 0.5))
        if bias:
            mod.bias.copy_(det([cout], seed + 2))
    x = det(in_shape, seed).requires_grad_()
    out = mod(x)
    g = det(list(out.shape), seed + 100)
    (out * g).sum().backward()
    L = lambda v: v if isinstance(v, list) else [v]
    ints = dict(in_channels=[cin], out_channels=[cout], kernel_size=L(k), stride=L(stride), dilation=L(dilation),
                groups=[groups], bias=[int(bias)])
    strs = dict(padding_mode=padding_mode, repr=repr(mod))
    if isinstance(padding, str):
        strs["padding"] = padding
    else:
        ints["padding"] = L(padding)
    t = {"input": x.detach(), "weight": mod.weight.detach().clone(), "out": out.detach(), "grad_out": g,
         "grad.input": x.grad, "grad.weight": mod.weight.grad}
    if bias:
        t["bias"] = mod.bias.detach().clone()
        t["grad.bias"] = mod.bias.grad
    add_case(name, "conv%dd_module" % nsp, ints=ints, strs=strs, tensors=t)


conv_module_case("conv2d_module_reflect", 2, [2, 2, 5, 6], 2, 3, 3, "reflect", padding=[2, 1], seed=36)
conv_module_case("conv2d_module_replicate", 2, [1, 2, 4, 5], 2, 2, [2, 3], "replicate", padding=1, stride=2, seed=37)
conv_module_case("conv2d_module_circular", 2, [2, 4, 4, 4], 4, 2, 3, "circular", padding=[1, 2], groups=2, seed=38)
conv_module_case("conv2d_module_same_reflect", 2, [1, 2, 5, 6], 2, 2, [4, 3], "reflect", padding="same",
                 dilation=[1, 2], bias=False, seed=39)
conv_module_case("conv1d_module_circular", 1, [1, 2, 7], 2, 3, 3, "circular", padding=2, dilation=2, seed=29)
conv_module_case("conv2d_module_zeros", 2, [2, 3, 5, 5], 3, 4, 3, "zeros", padding=1, seed=19)

# ---------------------------------------------------------------------------------------
# pooling
MAXPOOL = {1: F.max_pool1d, 2: F.max_pool2d}
AVGPOOL = {1: F.avg_pool1d, 2: F.avg_pool2d}


def maxpool_case(name, nsp, shape, k, stride=None, padding=0, dilation=1, ceil_mode=False, seed=0, ties=False):
    x = det_int(shape, seed, 3) if ties else det(shape, seed)
    fn = lambda input: MAXPOOL[nsp](input, k, stride, padding, dilation, ceil_mode, return_indices=True)
    outs, g, grads = run_with_grads(fn, {"input": x}, seed + 100)
    L = lambda v: v if isinstance(v, list) else [v]
    ints = dict(kernel_size=L(k), padding=L(padding), dilation=L(dilation), ceil_mode=[int(ceil_mode)])
    if stride is not None:
        ints["stride"] = L(stride)
    add_case(name, "max_pool%dd" % nsp, ints=ints,
             tensors=tensors_of({"input": x}, outs, ["out", "indices"], g, grads))


def avgpool_case(name, nsp, shape, k, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None, seed=0):
    x = det(shape, seed)
    if nsp == 1:
        fn = lambda input: F.avg_pool1d(input, k, stride, padding, ceil_mode, count_include_pad)
    else:
        fn = lambda input: F.avg_pool2d(input, k, stride, padding, ceil_mode, count_include_pad, divisor_override)
    outs, g, grads = run_with_grads(fn, {"input": x}, seed + 100)
    L = lambda v: v if isinstance(v, list) else [v]
    ints = dict(kernel_size=L(k), padding=L(padding), ceil_mode=[int(ceil_mode)],
                count_include_pad=[int(count_include_pad)])
    if stride is not None:
        ints["stride"] = L(stride)
    if divisor_override is not None:
        ints["divisor_override"] = [divisor_override]
    add_case(name, "avg_pool%dd" % nsp, ints=ints, tensors=tensors_of({"input": x}, outs, ["out"], g, grads))


def adaptive_case(name, nsp, shape, osize, seed=0):
    x = det(shape, seed)
    fn = lambda input: (F.adaptive_avg_pool1d if nsp == 1 else F.adaptive_avg_pool2d)(input, osize)
    outs, g, grads = run_with_grads(fn, {"input": x}, seed + 100)
    os_list = osize if isinstance(osize, (list, tuple)) else [osize]
    add_case(name, "adaptive_avg_pool%dd" % nsp, ints=dict(output_size=[-1 if v is None else v for v in os_list]),
             tensors=tensors_of({"input": x}, outs, ["out"], g, grads))


maxpool_case("max_pool2d_k2", 2, [2, 3, 6, 7], 2, seed=40)
maxpool_case("max_pool2d_k3s2p1", 2, [2, 2, 7, 8], 3, stride=2, padding=1, seed=41)
maxpool_case("max_pool2d_dilation", 2, [1, 2, 9, 8], [3, 2], stride=[1, 2], padding=[1, 1], dilation=[2, 3], seed=42)
maxpool_case("max_pool2d_ceil", 2, [2, 2, 7, 6], 3, stride=2, ceil_mode=True, seed=43)
maxpool_case("max_pool2d_ceil_pad", 2, [1, 2, 6, 5], [2, 3], stride=[2, 2], padding=[1, 1], ceil_mode=True, seed=44)
maxpool_case("max_pool2d_ties_overlap", 2, [2, 2, 6, 6], 3, stride=1, padding=1, seed=45, ties=True)
maxpool_case("max_pool2d_unbatched", 2, [3, 5, 5], 2, stride=1, seed=46)
maxpool_case("max_pool1d_basic", 1, [2, 3, 11], 3, stride=2, padding=1, ceil_mode=True, seed=47)
avgpool_case("avg_pool2d_k2", 2, [2, 3, 6, 7], 2, seed=50)
avgpool_case("avg_pool2d_k3s2p1_incl", 2, [2, 2, 7, 8], 3, stride=2, padding=1, seed=51)
avgpool_case("avg_pool2d_k3s2p1_excl", 2, [2, 2, 7, 8], 3, stride=2, padding=1, count_include_pad=False, seed=52)
avgpool_case("avg_pool2d_ceil_incl", 2, [1, 2, 6, 6], 3, stride=2, ceil_mode=True, seed=53)
avgpool_case("avg_pool2d_ceil_pad_incl", 2, [1, 2, 6, 7], [3, 2], stride=[2, 2], padding=[1, 1], ceil_mode=True,
             seed=54)
avgpool_case("avg_pool2d_ceil_pad_excl", 2, [1, 2, 6, 7], [3, 2], stride=[2, 2], padding=[1, 1], ceil_mode=True,
             count_include_pad=False, seed=55)
avgpool_case("avg_pool2d_divisor", 2, [2, 2, 5, 5], 2, stride=1, padding=1, divisor_override=3, seed=56)
avgpool_case("avg_pool2d_unbatched", 2, [2, 5, 6], [2, 3], seed=57)
avgpool_case("avg_pool1d_basic", 1, [2, 3, 10], 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False,
             seed=58)
adaptive_case("adaptive_avg_pool2d_nondiv", 2, [2, 3, 10, 9], [4, 7], seed=60)
adaptive_case("adaptive_avg_pool2d_div", 2, [2, 2, 6, 8], [3, 2], seed=61)
adaptive_case("adaptive_avg_pool2d_global", 2, [2, 3, 5, 4], 1, seed=62)
adaptive_case("adaptive_avg_pool2d_none", 2, [1, 2, 5, 7], [None, 3], seed=63)
adaptive_case("adaptive_avg_pool2d_upsample", 2, [1, 2, 3, 2], [5, 4], seed=64)
adaptive_case("adaptive_avg_pool2d_unbatched", 2, [2, 7, 5], [3, 3], seed=65)
adaptive_case("adaptive_avg_pool1d_basic", 1, [2, 3, 11], 4, seed=66)

# ---------------------------------------------------------------------------------------
# normalization
def batch_norm_case(name, shape, training, momentum=0.1, eps=1e-5, affine=True, running=True, seed=0):
    C = shape[1]
    x = det(shape, seed, -2.0, 3.0)
    rm = det([C], seed + 1) if running else None
    rv = det([C], seed + 2, 0.5, 1.5) if running else None
    w = det([C], seed + 3, 0.5, 1.5) if affine else None
    b = det([C], seed + 4) if affine else None
    rm_after = rm.clone() if running else None
    rv_after = rv.clone() if running else None

    def fn(input, weight=None, bias=None):
        return F.batch_norm(input, rm_after, rv_after, weight, bias, training, momentum, eps)

    outs, g, grads = run_with_grads(fn, {"input": x, "weight": w, "bias": b}, seed + 100)
    t = tensors_of({"input": x, "weight": w, "bias": b, "running_mean": rm, "running_var": rv}, outs, ["out"], g,
                   grads)
    if running and training:
        t["running_mean_after"] = rm_after
        t["running_var_after"] = rv_after
    add_case(name, "batch_norm", ints=dict(training=[int(training)]), reals=dict(momentum=momentum, eps=eps),
             tensors=t)


def group_norm_case(name, shape, groups, eps=1e-5, affine=True, seed=0):
    C = shape[1]
    x = det(shape, seed, -2.0, 3.0)
    w = det([C], seed + 3, 0.5, 1.5) if affine else None
    b = det([C], seed + 4) if affine else None
    fn = lambda input, weight=None, bias=None: F.group_norm(input, groups, weight, bias, eps)
    outs, g, grads = run_with_grads(fn, {"input": x, "weight": w, "bias": b}, seed + 100)
    add_case(name, "group_norm", ints=dict(num_groups=[groups]), reals=dict(eps=eps),
             tensors=tensors_of({"input": x, "weight": w, "bias": b}, outs, ["out"], g, grads))


batch_norm_case("batch_norm_train_2d", [6, 3], True, seed=70)
batch_norm_case("batch_norm_train_3d", [4, 3, 5], True, momentum=0.3, seed=71)
batch_norm_case("batch_norm_train_4d", [3, 4, 3, 2], True, eps=1e-3, seed=72)
batch_norm_case("batch_norm_train_no_running_no_affine", [3, 2, 4, 2], True, affine=False, running=False, seed=73)
batch_norm_case("batch_norm_eval_4d", [2, 3, 2, 3], False, seed=74)
batch_norm_case("batch_norm_eval_no_affine", [4, 3], False, affine=False, seed=75)
group_norm_case("group_norm_basic", [2, 6, 3, 2], 3, seed=80)
group_norm_case("group_norm_one_group", [3, 4, 5], 1, seed=81)
group_norm_case("group_norm_instance", [2, 4, 3, 3], 4, eps=1e-3, seed=82)
group_norm_case("group_norm_no_affine", [2, 4, 6], 2, affine=False, seed=83)
group_norm_case("group_norm_2d_input", [5, 6], 3, seed=84)


def batchnorm_module_case(name, momentum, affine, track, shape, seed):
    C = shape[1]
    mod = (nn.BatchNorm1d if len(shape) <= 3 else nn.BatchNorm2d)(C, momentum=momentum, affine=affine,
                                                                    track_running_stats=track)
    if affine:
        with torch.no_grad():
            mod.weight.copy_(det([C], seed + 3, 0.5, 1.5))
            mod.bias.copy_(det([C], seed + 4))
    t = {}
    x1 = det(shape, seed, -2.0, 3.0)
    x2 = det(shape, seed + 1, -1.0, 2.0)
    x3 = det(shape, seed + 2, -1.0, 1.0)
    mod.train()
    t["x1"], t["x2"], t["x3"] = x1, x2, x3
    t["out1"] = mod(x1).detach()
    t["out2"] = mod(x2).detach()
    mod.eval()
    t["out3"] = mod(x3).detach()
    for k, v in mod.state_dict().items():
        t["state." + k] = v.detach().clone().to(torch.float64)
    if affine:
        t["weight"] = mod.weight.detach().clone()
        t["bias"] = mod.bias.detach().clone()
    add_case(name, "batchnorm_module",
             ints=dict(affine=[int(affine)], track_running_stats=[int(track)], momentum_none=[int(momentum is None)]),
             reals=dict(momentum=momentum if momentum is not None else 0.0),
             strs=dict(state_keys=",".join(mod.state_dict().keys())), tensors=t)


batchnorm_module_case("batchnorm2d_module_momentum", 0.2, True, True, [3, 2, 2, 3], 90)
batchnorm_module_case("batchnorm1d_module_cumulative", None, True, True, [5, 3], 91)
batchnorm_module_case("batchnorm1d_module_untracked", 0.1, False, False, [4, 3, 2], 92)

# ---------------------------------------------------------------------------------------
# attention
def sdpa_reference(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """PyTorch 2.x's documented math for F.scaled_dot_product_attention (not in 1.13)."""
    L, S = q.size(-2), k.size(-2)
    s = 1 / math.sqrt(q.size(-1)) if scale is None else scale
    bias = torch.zeros(L, S)
    if is_causal:
        bias = bias.masked_fill(torch.ones(L, S, dtype=torch.bool).tril().logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            bias = bias.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            bias = bias + attn_mask
    w = torch.softmax((q * s) @ k.transpose(-2, -1) + bias, dim=-1)
    return w @ v


def sdpa_case(name, qs, ks, vs, mask=None, is_causal=False, scale=None, seed=0):
    q, k, v = det(qs, seed), det(ks, seed + 1), det(vs, seed + 2)
    fn = lambda query, key, value: sdpa_reference(query, key, value, mask, is_causal, scale)
    outs, g, grads = run_with_grads(fn, {"query": q, "key": k, "value": v}, seed + 100)
    t = tensors_of({"query": q, "key": k, "value": v}, outs, ["out"], g, grads)
    if mask is not None:
        t["attn_mask"] = mask
    reals = {} if scale is None else dict(scale=scale)
    add_case(name, "sdpa", ints=dict(is_causal=[int(is_causal)]), reals=reals, tensors=t)


sdpa_case("sdpa_basic", [2, 4, 3], [2, 5, 3], [2, 5, 2], seed=100)
sdpa_case("sdpa_bool_mask", [2, 3, 4, 3], [2, 3, 5, 3], [2, 3, 5, 3],
          mask=det_bool([4, 5], 7, 0.6) | (torch.arange(5) == 0), seed=101)
sdpa_case("sdpa_float_mask_broadcast", [2, 2, 3, 4], [2, 2, 3, 4], [2, 2, 3, 2], mask=det([2, 1, 3, 3], 8), seed=102)
sdpa_case("sdpa_causal", [3, 5, 4], [3, 5, 4], [3, 5, 4], is_causal=True, seed=103)
sdpa_case("sdpa_causal_rect_scale", [2, 3, 4], [2, 5, 4], [2, 5, 3], is_causal=True, scale=0.3, seed=104)


def mha_case(name, E, H, L, S, N, bias=True, add_bias_kv=False, add_zero_attn=False, kdim=None, vdim=None,
             batch_first=False, kpm=None, attn_mask=None, need_weights=True, average=True, self_attn=False,
             unbatched=False, seed=0):
    mod = nn.MultiheadAttention(E, H, dropout=0.0, bias=bias, add_bias_kv=add_bias_kv, add_zero_attn=add_zero_attn,
                                kdim=kdim, vdim=vdim, batch_first=batch_first)
    params = {}
    with torch.no_grad():
        for i, (pname, p) in enumerate(mod.named_parameters()):
            p.copy_(det(list(p.shape), seed + 10 + i, -0.5, 0.5))
            params[pname] = p.detach().clone()
    kd, vd = kdim or E, vdim or E

    def shape(T, D):
        if unbatched:
            return [T, D]
        return [N, T, D] if batch_first else [T, N, D]

    q = det(shape(L, E), seed)
    k = q if self_attn else det(shape(S, kd), seed + 1)
    v = q if self_attn else det(shape(S, vd), seed + 2)
    inputs = {"query": q} if self_attn else {"query": q, "key": k, "value": v}
    leaves = {kk: vv.clone().requires_grad_() for kk, vv in inputs.items()}
    qq = leaves["query"]
    kk_ = qq if self_attn else leaves["key"]
    vv_ = qq if self_attn else leaves["value"]
    out, weights = mod(qq, kk_, vv_, key_padding_mask=kpm, need_weights=need_weights, attn_mask=attn_mask,
                       average_attn_weights=average)
    g = det(list(out.shape), seed + 100)
    (out * g).sum().backward()
    t = dict(inputs)
    t["out"] = out.detach()
    if weights is not None:
        t["weights"] = weights.detach()
    t["grad_out"] = g
    for kk, vv in leaves.items():
        t["grad." + kk] = vv.grad
    for pname, p in mod.named_parameters():
        t["param." + pname] = params[pname]
        t["grad.param." + pname] = p.grad
    if kpm is not None:
        t["key_padding_mask"] = kpm
    if attn_mask is not None:
        t["attn_mask"] = attn_mask
    add_case(name, "mha",
             ints=dict(embed_dim=[E], num_heads=[H], bias=[int(bias)], add_bias_kv=[int(add_bias_kv)],
                       add_zero_attn=[int(add_zero_attn)], kdim=[kd], vdim=[vd], batch_first=[int(batch_first)],
                       need_weights=[int(need_weights)], average_attn_weights=[int(average)],
                       self_attn=[int(self_attn)]),
             strs=dict(param_names=",".join(n for n, _ in mod.named_parameters()), repr=repr(mod)), tensors=t)


causal = torch.ones(4, 4, dtype=torch.bool).triu(1)
mha_case("mha_self_basic", 6, 2, 4, 4, 2, self_attn=True, seed=110)
mha_case("mha_cross", 8, 4, 3, 5, 2, seed=111)
mha_case("mha_key_padding_bool", 6, 3, 3, 4, 2, kpm=torch.tensor([[False, False, True, False], [False, True, True, False]]),
         seed=112)
mha_case("mha_attn_mask_bool_causal", 6, 2, 4, 4, 2, attn_mask=causal, self_attn=True, seed=113)
mha_case("mha_attn_mask_float_3d", 4, 2, 3, 4, 2, attn_mask=det([4, 3, 4], 9), need_weights=True, average=False,
         seed=114)
mha_case("mha_masks_combined_float", 4, 2, 4, 4, 2, attn_mask=det([4, 4], 10, -1.0, 0.0),
         kpm=torch.tensor([[False, False, False, True], [True, False, False, False]]), seed=115)
mha_case("mha_bias_kv_zero_attn", 6, 2, 3, 4, 2, add_bias_kv=True, add_zero_attn=True,
         kpm=torch.tensor([[False, True, False, False], [False, False, False, False]]), seed=116)
mha_case("mha_kdim_vdim", 6, 3, 3, 5, 2, kdim=4, vdim=5, seed=117)
mha_case("mha_batch_first_no_bias", 4, 2, 3, 5, 3, bias=False, batch_first=True, need_weights=False, seed=118)
mha_case("mha_unbatched", 6, 2, 3, 4, 1, unbatched=True, attn_mask=causal[:3, :4], seed=119)

# ---------------------------------------------------------------------------------------
# reprs (the C++ tests build the same modules under these names)
REPRS = [
    ("conv2d_default", nn.Conv2d(1, 32, 3)),
    ("conv2d_full", nn.Conv2d(8, 8, (3, 5), padding="same", dilation=2, groups=4, bias=False)),
    ("conv2d_valid", nn.Conv2d(3, 3, 3, padding="valid")),
    ("conv2d_stride_pad", nn.Conv2d(32, 64, 3, stride=2, padding=1)),
    ("conv1d", nn.Conv1d(2, 4, 3, stride=2, padding=1)),
    ("conv_transpose2d", nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)),
    ("conv_transpose2d_groups", nn.ConvTranspose2d(4, 6, (2, 3), groups=2, dilation=2, bias=False)),
    ("max_pool2d", nn.MaxPool2d(2)),
    ("max_pool2d_tuple", nn.MaxPool2d((3, 3), stride=2, padding=1, ceil_mode=True)),
    ("max_pool1d", nn.MaxPool1d(3, 2)),
    ("avg_pool2d", nn.AvgPool2d(3, stride=2, count_include_pad=False)),
    ("avg_pool1d", nn.AvgPool1d(3)),
    ("adaptive_avg_pool2d", nn.AdaptiveAvgPool2d((5, 7))),
    ("adaptive_avg_pool2d_none", nn.AdaptiveAvgPool2d((None, 7))),
    ("adaptive_avg_pool2d_int", nn.AdaptiveAvgPool2d(1)),
    ("batchnorm2d", nn.BatchNorm2d(64)),
    ("batchnorm1d", nn.BatchNorm1d(32, eps=1e-3, momentum=None, affine=False)),
    ("groupnorm", nn.GroupNorm(4, 32)),
    ("groupnorm_noaffine", nn.GroupNorm(2, 6, eps=1e-3, affine=False)),
    ("mha", nn.MultiheadAttention(8, 2)),
    ("mha_nobias", nn.MultiheadAttention(8, 2, bias=False, kdim=3, vdim=5)),
]
for rname, m in REPRS:
    add_case("repr_" + rname, "repr",
             strs=dict(repr=repr(m), param_names=",".join(n for n, _ in m.named_parameters()),
                       buffer_names=",".join(n for n, _ in m.named_buffers())))


# ---------------------------------------------------------------------------------------
ACCESSORS = r"""
// ---- accessors (need fulgur/fulgur.h and doctest, i.e. tests/test_util.h, included first) ----
inline const GCase& find_case(const std::string& name) {
  for (const GCase& c : kCases)
    if (name == c.name) return c;
  FAIL("golden case " << name << " not found; regenerate tests/golden/nn_conv_golden.inc");
  return kCases[0];
}
inline std::vector<const GCase*> cases_of_kind(const std::string& kind) {
  std::vector<const GCase*> out;
  for (const GCase& c : kCases)
    if (kind == c.kind) out.push_back(&c);
  return out;
}
inline const GTensor* find_tensor(const GCase& c, const std::string& name) {
  for (int i = 0; i < c.ntensors; ++i)
    if (name == c.tensors[i].name) return &c.tensors[i];
  return nullptr;
}
inline bool has_tensor(const GCase& c, const std::string& name) { return find_tensor(c, name) != nullptr; }
// The stored tensor (float64, bool or int64), or an undefined Tensor when the case has none.
inline fulgur::Tensor tensor(const GCase& c, const std::string& name) {
  const GTensor* t = find_tensor(c, name);
  if (!t) return fulgur::Tensor();
  std::vector<int64_t> shape(t->shape, t->shape + t->ndim);
  std::vector<double> values(t->data, t->data + t->numel);
  fulgur::Tensor out = fulgur::from_vector(values, shape);
  if (std::strcmp(t->dtype, "bool") == 0) return out.to(fulgur::kBool);
  if (std::strcmp(t->dtype, "int64") == 0) return out.to(fulgur::kInt64);
  return out;
}
inline bool has_ints(const GCase& c, const std::string& name) {
  for (int i = 0; i < c.nints; ++i)
    if (name == c.ints[i].name) return true;
  return false;
}
inline std::vector<int64_t> ints(const GCase& c, const std::string& name) {
  for (int i = 0; i < c.nints; ++i)
    if (name == c.ints[i].name) return std::vector<int64_t>(c.ints[i].v, c.ints[i].v + c.ints[i].n);
  FAIL("golden case " << c.name << " has no integer argument " << name);
  return {};
}
inline int64_t int1(const GCase& c, const std::string& name, int64_t fallback = 0) {
  return has_ints(c, name) ? ints(c, name)[0] : fallback;
}
inline bool has_real(const GCase& c, const std::string& name) {
  for (int i = 0; i < c.nreals; ++i)
    if (name == c.reals[i].name) return true;
  return false;
}
inline double real(const GCase& c, const std::string& name, double fallback = 0.0) {
  for (int i = 0; i < c.nreals; ++i)
    if (name == c.reals[i].name) return c.reals[i].v;
  return fallback;
}
inline bool has_str(const GCase& c, const std::string& name) {
  for (int i = 0; i < c.nstrs; ++i)
    if (name == c.strs[i].name) return true;
  return false;
}
inline std::string str(const GCase& c, const std::string& name) {
  for (int i = 0; i < c.nstrs; ++i)
    if (name == c.strs[i].name) return c.strs[i].v;
  FAIL("golden case " << c.name << " has no string argument " << name);
  return "";
}
// actual vs the stored tensor `name`: same shape, |a - e| <= tol * (1 + |e|) (NaN and inf exact).
inline void expect_golden(const fulgur::Tensor& actual, const GCase& c, const std::string& name, double tol = 1e-10) {
  const GTensor* t = find_tensor(c, name);
  REQUIRE_MESSAGE(t != nullptr, "golden case " << c.name << " has no tensor " << name);
  REQUIRE_MESSAGE(actual.defined(), c.name << ": " << name << " is undefined");
  std::vector<int64_t> shape(t->shape, t->shape + t->ndim);
  fulgur::testing::expect_values(actual, shape, std::vector<double>(t->data, t->data + t->numel), tol,
                                 std::string(c.name) + ": " + name);
}
"""


def c_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def c_double(v):
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    if math.isnan(v):
        return "NAN"
    r = repr(float(v))
    return r


def emit():
    lines = []
    w = lines.append
    w("// Generated by tools/gen_nn_conv_golden.py with PyTorch %s. Do not edit; regenerate with" % torch.__version__)
    w("//   /usr/bin/python3 tools/gen_nn_conv_golden.py")
    w("// Included by tests/nn_conv_test.cc, nn_norm_test.cc and nn_attention_test.cc (after test_util.h).")
    w("#include <cmath>")
    w("#include <cstring>")
    w("#include <string>")
    w("#include <vector>")
    w("")
    w("namespace nn_golden {")
    w("")
    w("struct GTensor { const char* name; const char* dtype; int ndim; int64_t shape[6]; const double* data; int64_t numel; };")
    w("struct GInts { const char* name; int n; int64_t v[6]; };")
    w("struct GReal { const char* name; double v; };")
    w("struct GStr { const char* name; const char* v; };")
    w("struct GCase {")
    w("  const char* name; const char* kind;")
    w("  const GInts* ints; int nints; const GReal* reals; int nreals; const GStr* strs; int nstrs;")
    w("  const GTensor* tensors; int ntensors;")
    w("};")
    w("")
    for ci, c in enumerate(CASES):
        for ti, (tname, t) in enumerate(c["tensors"].items()):
            vals = t.detach().to(torch.float64).reshape(-1).tolist()
            body = ", ".join(c_double(v) for v in vals) if vals else "0.0"
            w("inline const double c%d_t%d[] = {%s};" % (ci, ti, body))
        if c["ints"]:
            w("inline const GInts c%d_ints[] = {%s};" % (ci, ", ".join(
                "{%s, %d, {%s}}" % (c_str(k), len(v), ", ".join(str(int(x)) for x in v)) for k, v in c["ints"].items())))
        if c["reals"]:
            w("inline const GReal c%d_reals[] = {%s};" % (ci, ", ".join(
                "{%s, %s}" % (c_str(k), c_double(v)) for k, v in c["reals"].items())))
        if c["strs"]:
            w("inline const GStr c%d_strs[] = {%s};" % (ci, ", ".join(
                "{%s, %s}" % (c_str(k), c_str(v)) for k, v in c["strs"].items())))
        if c["tensors"]:
            items = []
            for ti, (tname, t) in enumerate(c["tensors"].items()):
                dt = {torch.bool: "bool", torch.int64: "int64"}.get(t.dtype, "float64")
                shape = list(t.shape)
                assert len(shape) <= 6
                items.append("{%s, %s, %d, {%s}, c%d_t%d, %d}" % (
                    c_str(tname), c_str(dt), len(shape), ", ".join(str(s) for s in shape) or "0", ci, ti, t.numel()))
            w("inline const GTensor c%d_tensors[] = {%s};" % (ci, ", ".join(items)))
    w("")
    w("inline const GCase kCases[] = {")
    for ci, c in enumerate(CASES):
        def ref(kind, n):
            return ("c%d_%s, %d" % (ci, kind, n)) if n else "nullptr, 0"
        w("    {%s, %s, %s, %s, %s, %s}," % (c_str(c["name"]), c_str(c["kind"]), ref("ints", len(c["ints"])),
                                             ref("reals", len(c["reals"])), ref("strs", len(c["strs"])),
                                             ref("tensors", len(c["tensors"]))))
    w("};")
    w("inline constexpr int kNumCases = %d;" % len(CASES))
    w(ACCESSORS)
    w("}  // namespace nn_golden")
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s: %d cases" % (OUT, len(CASES)), file=sys.stderr)


emit()
