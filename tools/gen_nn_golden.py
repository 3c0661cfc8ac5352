#!/usr/bin/python3
"""Generates the nn/ golden fixtures that tests/nn_*_test.cc compare against:

    tests/golden/nn_layers_golden.inc   layers and F:: functions: inputs, weights, outputs, gradients
    tests/golden/nn_loss_golden.inc     losses (every option variant) and clip_grad_*
    tests/golden/nn_module_golden.inc   module reprs, parameter/buffer/state_dict key lists,
                                        load_state_dict error messages

Run with Debian's PyTorch (1.13), from the repository root:
    /usr/bin/python3 tools/gen_nn_golden.py

Every input is explicit (a fixed arithmetic pattern, `det` below), never torch's RNG, and
everything is float64. Each layer case stores its input(s), its parameters (the C++ test loads
them with load_state_dict), the output, the upstream gradient `gy` and the gradients of
sum(y * gy) with respect to the inputs and to every parameter. Keep case names in sync with
the builders in the C++ tests (each test checks that every case has a builder and back).
"""
import math
import warnings
import os
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

assert torch.__version__.startswith("1.13"), torch.__version__
torch.set_default_dtype(torch.float64)
warnings.filterwarnings("ignore", category=UserWarning)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "golden")


def det(shape, k, lo=-1.0, hi=1.0):
    """A fixed, well-spread pattern in (lo, hi) without zeros or repeated neighbours."""
    n = math.prod(shape)
    vals = [lo + (hi - lo) * (((i * 7919 + k * 104729) % 1000) + 0.5) / 1000.0 for i in range(n)]
    return torch.tensor(vals, dtype=torch.float64).reshape(shape)


class Fixture:
    def __init__(self, path, what, test):
        self.path, self.what, self.test = path, what, test
        self.tensors = []  # (name, kind, shape, values)
        self.strings = []  # (name, value)
        self.cases = []

    def case(self, name):
        assert name not in self.cases, name
        self.cases.append(name)

    def tensor(self, name, t):
        t = t.detach()
        kind = "f" if t.is_floating_point() else ("b" if t.dtype == torch.bool else "i")
        self.tensors.append((name, kind, list(t.shape), t.reshape(-1).tolist()))

    def string(self, name, s):
        self.strings.append((name, s))

    def write(self):
        def num(v):
            if isinstance(v, bool):
                return "1" if v else "0"
            if isinstance(v, int):
                return str(v)
            if math.isnan(v):
                return "kNaN"
            if math.isinf(v):
                return "kInf" if v > 0 else "-kInf"
            return repr(float(v))

        lines = [
            "// GENERATED FILE, do not edit. " + self.what,
            "// PyTorch " + torch.__version__ + ", float64. Regenerate from the repository root with:",
            "//     /usr/bin/python3 tools/gen_nn_golden.py",
            "// Included by " + self.test + ".",
            "namespace nn_golden {",
            "constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();",
            "constexpr double kInf = std::numeric_limits<double>::infinity();",
            "struct GoldenTensor {",
            "  const char* name;",
            "  char kind;  // 'f' float64, 'i' int64, 'b' bool",
            "  std::vector<int64_t> shape;",
            "  std::vector<double> values;",
            "};",
            "inline const std::vector<GoldenTensor>& tensors() {",
            "  static const std::vector<GoldenTensor> t = {",
        ]
        for name, kind, shape, values in self.tensors:
            vals = ", ".join(num(v) for v in values)
            lines.append('      {"%s", \'%s\', {%s}, {%s}},' % (name, kind, ", ".join(map(str, shape)), vals))
        lines += ["  };", "  return t;", "}"]
        lines += [
            "inline const std::vector<std::pair<std::string, std::string>>& strings() {",
            "  static const std::vector<std::pair<std::string, std::string>> s = {",
        ]
        for name, s in self.strings:
            assert ")golden" not in s
            lines.append('      {"%s", R"golden(%s)golden"},' % (name, s))
        lines += ["  };", "  return s;", "}"]
        lines += ["inline const std::vector<std::string>& cases() {", "  static const std::vector<std::string> c = {"]
        for c in self.cases:
            lines.append('      "%s",' % c)
        lines += ["  };", "  return c;", "}", "}  // namespace nn_golden", ""]
        with open(self.path, "w") as f:
            f.write("\n".join(lines))


# ---------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------
layers = Fixture(os.path.join(OUT_DIR, "nn_layers_golden.inc"),
                 "Outputs and gradients of nn layers and F:: functions.", "tests/nn_layers_test.cc")


def set_params(module, k):
    """Overwrites every parameter with a fixed pattern (small, distinct per tensor)."""
    with torch.no_grad():
        for i, (name, p) in enumerate(module.named_parameters()):
            p.copy_(det(p.shape, k + 10 * i, -0.8, 0.8))


def layer_case(name, module, inputs, k=0, params=True):
    """inputs: tensors; floating ones get gradients."""
    layers.case(name)
    if params:
        set_params(module, k + 100)
    for key, t in module.state_dict().items():
        layers.tensor("%s/param:%s" % (name, key), t)
    ins = []
    for i, x in enumerate(inputs):
        x = x.clone()
        if x.is_floating_point():
            x.requires_grad_(True)
        ins.append(x)
        layers.tensor("%s/x%d" % (name, i), x)
    y = module(*ins)
    gy = det(y.shape, k + 7, -1.0, 1.0)
    (y * gy).sum().backward()
    layers.tensor("%s/y" % name, y)
    layers.tensor("%s/gy" % name, gy)
    for i, x in enumerate(ins):
        if x.is_floating_point():
            layers.tensor("%s/grad_x%d" % (name, i), x.grad)
    for key, p in module.named_parameters():
        if p.grad is not None:
            layers.tensor("%s/grad:%s" % (name, key), p.grad)
    for key, t in module.state_dict().items():  # after forward (max_norm renormalises)
        layers.tensor("%s/after:%s" % (name, key), t)


x34 = det([3, 4], 1, -2.0, 2.0)
layer_case("linear", nn.Linear(3, 4), [det([2, 3], 2)], 1)
layer_case("linear_nobias", nn.Linear(3, 4, bias=False), [det([2, 3], 3)], 2)
layer_case("linear_3d", nn.Linear(3, 2), [det([2, 2, 3], 4)], 3)
layer_case("bilinear", nn.Bilinear(3, 2, 4), [det([5, 3], 5), det([5, 2], 6)], 4)
layer_case("bilinear_nobias", nn.Bilinear(3, 2, 4, bias=False), [det([2, 2, 3], 7), det([2, 2, 2], 8)], 5)
layer_case("relu", nn.ReLU(), [x34], 6)
layer_case("leaky_relu", nn.LeakyReLU(), [x34], 7)
layer_case("leaky_relu_0.2", nn.LeakyReLU(0.2), [x34], 8)
layer_case("gelu", nn.GELU(), [x34], 9)
layer_case("gelu_tanh", nn.GELU("tanh"), [x34], 10)
layer_case("silu", nn.SiLU(), [x34], 11)
layer_case("tanh", nn.Tanh(), [x34], 12)
layer_case("sigmoid", nn.Sigmoid(), [x34], 13)
layer_case("softmax_1", nn.Softmax(dim=1), [x34], 14)
layer_case("softmax_0", nn.Softmax(dim=0), [x34], 15)
layer_case("softmax_none", nn.Softmax(), [x34], 16)  # implicit dim 1 for 2-D
layer_case("softmax_none_3d", nn.Softmax(), [det([2, 3, 4], 17, -2, 2)], 17)  # implicit dim 0
layer_case("log_softmax_1", nn.LogSoftmax(dim=1), [x34], 18)
layer_case("log_softmax_neg1_3d", nn.LogSoftmax(dim=-1), [det([2, 3, 4], 19, -3, 3)], 19)
layer_case("flatten", nn.Flatten(), [det([2, 3, 2, 2], 20)], 20)
layer_case("flatten_0_2", nn.Flatten(0, 2), [det([2, 3, 2, 2], 21)], 21)
layer_case("unflatten", nn.Unflatten(1, (2, 3)), [det([2, 6], 22)], 22)
layer_case("identity", nn.Identity(), [x34], 23)

idx = torch.tensor([[1, 3, 0, 9], [3, 3, 7, 0]])
layer_case("embedding", nn.Embedding(10, 3), [idx], 24)
emb = nn.Embedding(10, 3, padding_idx=0)
layer_case("embedding_padding", emb, [idx], 25)
layer_case("embedding_padding_neg", nn.Embedding(10, 3, padding_idx=-1), [idx], 26)
layer_case("embedding_freq", nn.Embedding(10, 3, scale_grad_by_freq=True), [idx], 27)
layer_case("embedding_freq_padding", nn.Embedding(10, 3, padding_idx=3, scale_grad_by_freq=True), [idx], 28)
layer_case("embedding_max_norm", nn.Embedding(10, 3, max_norm=0.5), [idx], 29)
layer_case("embedding_max_norm_l1", nn.Embedding(10, 3, max_norm=0.9, norm_type=1.0), [idx], 30)

layer_case("layernorm", nn.LayerNorm(4), [det([2, 3, 4], 31, -3, 3)], 31)
layer_case("layernorm_2d", nn.LayerNorm([3, 4]), [det([2, 3, 4], 32, -3, 3)], 32)
layer_case("layernorm_noaffine", nn.LayerNorm(4, elementwise_affine=False), [det([3, 4], 33, -3, 3)], 33)
layer_case("layernorm_eps", nn.LayerNorm(4, eps=1e-3), [det([3, 4], 34, -0.01, 0.01)], 34)

seq = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3), nn.Tanh())
layer_case("sequential", seq, [det([2, 4], 35)], 35)

# ---------------------------------------------------------------------------------------
# Losses and clip_grad
# ---------------------------------------------------------------------------------------
losses = Fixture(os.path.join(OUT_DIR, "nn_loss_golden.inc"),
                 "Values and input gradients of the losses; clip_grad_* results.", "tests/nn_loss_test.cc")


def loss_case(name, fn, inp, target, extras=(), k=0):
    losses.case(name)
    x = inp.clone().requires_grad_(True)
    y = fn(x, target)
    gy = det(y.shape, k + 3, -1.0, 1.0) if y.dim() > 0 else torch.tensor(0.7)
    (y * gy).sum().backward()
    losses.tensor(name + "/input", x)
    losses.tensor(name + "/target", target)
    for ename, t in extras:
        losses.tensor(name + "/" + ename, t)
    losses.tensor(name + "/y", y)
    losses.tensor(name + "/gy", gy)
    losses.tensor(name + "/grad_input", x.grad)


N, C = 4, 5
logits = det([N, C], 40, -3, 3)
tgt = torch.tensor([1, 0, 4, 2])
tgt_ign = torch.tensor([1, 2, 4, 2])  # ignore_index = 2 below
cw = det([C], 41, 0.2, 2.0)
probs = torch.softmax(det([N, C], 42, -2, 2), 1)
logits_k = det([2, 3, 4], 43, -3, 3)  # [N, C, d]
tgt_k = torch.tensor([[0, 2, 1, 1], [2, 2, 0, 1]])
tgt_k_ign = torch.tensor([[0, -100, 1, 1], [2, -100, 0, 1]])

for red in ["mean", "sum", "none"]:
    loss_case("ce_" + red, lambda x, t: F.cross_entropy(x, t, reduction=red), logits, tgt)
    loss_case("ce_weight_" + red, lambda x, t: F.cross_entropy(x, t, weight=cw, reduction=red), logits, tgt,
              [("weight", cw)])
    loss_case("ce_ignore_" + red, lambda x, t: F.cross_entropy(x, t, ignore_index=2, reduction=red), logits,
              tgt_ign)
    loss_case("ce_weight_ignore_" + red,
              lambda x, t: F.cross_entropy(x, t, weight=cw, ignore_index=2, reduction=red), logits, tgt_ign,
              [("weight", cw)])
    loss_case("ce_ls_" + red, lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1, reduction=red), logits, tgt)
    loss_case("ce_ls_weight_" + red,
              lambda x, t: F.cross_entropy(x, t, weight=cw, label_smoothing=0.2, reduction=red), logits, tgt,
              [("weight", cw)])
    loss_case("ce_ls_ignore_" + red,
              lambda x, t: F.cross_entropy(x, t, ignore_index=2, label_smoothing=0.15, reduction=red), logits,
              tgt_ign)
    loss_case("ce_ls_weight_ignore_" + red,
              lambda x, t: F.cross_entropy(x, t, weight=cw, ignore_index=2, label_smoothing=0.3, reduction=red),
              logits, tgt_ign, [("weight", cw)])
    loss_case("ce_prob_" + red, lambda x, t: F.cross_entropy(x, t, reduction=red), logits, probs)
    loss_case("ce_prob_ls_" + red, lambda x, t: F.cross_entropy(x, t, label_smoothing=0.25, reduction=red), logits,
              probs)
    loss_case("ce_prob_weight_" + red, lambda x, t: F.cross_entropy(x, t, weight=cw, reduction=red), logits, probs,
              [("weight", cw)])
    loss_case("ce_kdim_" + red, lambda x, t: F.cross_entropy(x, t, reduction=red), logits_k, tgt_k)
    loss_case("ce_kdim_ignore_ls_" + red,
              lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1, reduction=red), logits_k, tgt_k_ign)
    loss_case("ce_1d_" + red, lambda x, t: F.cross_entropy(x, t, reduction=red), logits[0], torch.tensor(3))

    logp = torch.log_softmax(logits, 1)
    loss_case("nll_" + red, lambda x, t: F.nll_loss(x, t, reduction=red), logp, tgt)
    loss_case("nll_weight_" + red, lambda x, t: F.nll_loss(x, t, weight=cw, reduction=red), logp, tgt,
              [("weight", cw)])
    loss_case("nll_weight_ignore_" + red,
              lambda x, t: F.nll_loss(x, t, weight=cw, ignore_index=2, reduction=red), logp, tgt_ign,
              [("weight", cw)])
    loss_case("nll_kdim_" + red, lambda x, t: F.nll_loss(x, t, reduction=red), torch.log_softmax(logits_k, 1),
              tgt_k_ign)

    a, b = det([3, 4], 50, -2, 2), det([3, 4], 51, -2, 2)
    loss_case("mse_" + red, lambda x, t: F.mse_loss(x, t, reduction=red), a, b)
    loss_case("l1_" + red, lambda x, t: F.l1_loss(x, t, reduction=red), a, b)
    loss_case("smooth_l1_" + red, lambda x, t: F.smooth_l1_loss(x, t, reduction=red), a, b)
    loss_case("smooth_l1_beta0.5_" + red, lambda x, t: F.smooth_l1_loss(x, t, beta=0.5, reduction=red), a, b)
    loss_case("smooth_l1_beta0_" + red, lambda x, t: F.smooth_l1_loss(x, t, beta=0.0, reduction=red), a, b)

    p = det([3, 4], 52, 0.02, 0.98)
    pt = det([3, 4], 53, 0.0, 1.0)
    bw = det([3, 4], 54, 0.1, 2.0)
    loss_case("bce_" + red, lambda x, t: F.binary_cross_entropy(x, t, reduction=red), p, pt)
    loss_case("bce_weight_" + red, lambda x, t: F.binary_cross_entropy(x, t, weight=bw, reduction=red), p, pt,
              [("weight", bw)])
    z = det([3, 4], 55, -6, 6)
    z[0, 0], z[1, 1], z[2, 2] = 60.0, -60.0, 700.0  # stability: no overflow
    pw = det([4], 56, 0.5, 3.0)
    loss_case("bce_logits_" + red, lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=red), z, pt)
    loss_case("bce_logits_weight_" + red,
              lambda x, t: F.binary_cross_entropy_with_logits(x, t, weight=bw, reduction=red), z, pt,
              [("weight", bw)])
    loss_case("bce_logits_pos_weight_" + red,
              lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=pw, reduction=red), z, pt,
              [("pos_weight", pw)])
    loss_case("bce_logits_both_" + red,
              lambda x, t: F.binary_cross_entropy_with_logits(x, t, weight=bw, pos_weight=pw, reduction=red), z, pt,
              [("weight", bw), ("pos_weight", pw)])

kl_in = torch.log_softmax(det([3, 4], 60, -2, 2), 1)
kl_t = torch.softmax(det([3, 4], 61, -2, 2), 1)
kl_t0 = kl_t.clone()
kl_t0[0, 1] = 0.0  # 0 * log 0 = 0
for red in ["mean", "sum", "none", "batchmean"]:
    loss_case("kl_" + red, lambda x, t: F.kl_div(x, t, reduction=red), kl_in, kl_t)
    loss_case("kl_zero_" + red, lambda x, t: F.kl_div(x, t, reduction=red), kl_in, kl_t0)
    loss_case("kl_log_target_" + red, lambda x, t: F.kl_div(x, t, reduction=red, log_target=True), kl_in,
              torch.log(kl_t))


def clip_case(name, fn, grads):
    losses.case(name)
    params = []
    for i, g in enumerate(grads):
        p = torch.zeros(g.shape, requires_grad=True)
        p.grad = g.clone()
        params.append(p)
        losses.tensor("%s/grad%d" % (name, i), g)
    ret = fn(params)
    if ret is not None:
        losses.tensor(name + "/total_norm", ret)
    for i, p in enumerate(params):
        losses.tensor("%s/clipped%d" % (name, i), p.grad)


g1, g2, g3 = det([3, 4], 70, -2, 2), det([5], 71, -3, 3), det([2, 2, 2], 72, -1, 1)
clip_case("clip_norm_2", lambda ps: nn.utils.clip_grad_norm_(ps, 1.0), [g1, g2, g3])
clip_case("clip_norm_inf", lambda ps: nn.utils.clip_grad_norm_(ps, 0.5, norm_type=math.inf), [g1, g2, g3])
clip_case("clip_norm_1", lambda ps: nn.utils.clip_grad_norm_(ps, 2.0, norm_type=1.0), [g1, g2, g3])
clip_case("clip_norm_3", lambda ps: nn.utils.clip_grad_norm_(ps, 1.5, norm_type=3.0), [g1, g2, g3])
clip_case("clip_norm_noop", lambda ps: nn.utils.clip_grad_norm_(ps, 100.0), [g1, g2, g3])
clip_case("clip_norm_single", lambda ps: nn.utils.clip_grad_norm_(ps[0], 1.0), [g1])
clip_case("clip_value", lambda ps: nn.utils.clip_grad_value_(ps, 0.75), [g1, g2, g3])

# ---------------------------------------------------------------------------------------
# Module: repr, names, state_dict, load_state_dict errors
# ---------------------------------------------------------------------------------------
module = Fixture(os.path.join(OUT_DIR, "nn_module_golden.inc"),
                 "Module reprs, parameter/buffer/state_dict names and load_state_dict errors.",
                 "tests/nn_module_test.cc")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
        self.emb = nn.Embedding(10, 4, padding_idx=0)
        self.norm = nn.LayerNorm(4)
        self.blocks = nn.ModuleList([nn.Linear(4, 4, bias=False), nn.GELU()])
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 2), "b": nn.Identity()})
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
        self.register_buffer("scratch", torch.zeros(2), persistent=False)
        self.scale = nn.Parameter(torch.ones(1))


net = Net()
module.case("net")
module.string("net/repr", repr(net))
module.string("net/named_parameters", "\n".join(n for n, _ in net.named_parameters()))
module.string("net/parameter_shapes", "\n".join(str(list(p.shape)) for _, p in net.named_parameters()))
module.string("net/named_buffers", "\n".join(n for n, _ in net.named_buffers()))
module.string("net/state_dict", "\n".join(net.state_dict().keys()))
module.string("net/named_modules", "\n".join(n for n, _ in net.named_modules()))
module.string("net/named_children", "\n".join(n for n, _ in net.named_children()))
module.string("net/features/named_parameters", "\n".join(n for n, _ in net.features.named_parameters()))
module.string("net/parameters_norecurse", "\n".join(n for n, _ in net.named_parameters(recurse=False)))

reprs = OrderedDict([
    ("linear", nn.Linear(784, 128)),
    ("linear_nobias", nn.Linear(3, 4, bias=False)),
    ("bilinear", nn.Bilinear(2, 3, 4)),
    ("bilinear_nobias", nn.Bilinear(2, 3, 4, bias=False)),
    ("relu", nn.ReLU()),
    ("relu_inplace", nn.ReLU(inplace=True)),
    ("leaky_relu", nn.LeakyReLU()),
    ("leaky_relu_0.2", nn.LeakyReLU(0.2)),
    ("leaky_relu_inplace", nn.LeakyReLU(0.1, inplace=True)),
    ("gelu", nn.GELU()),
    ("gelu_tanh", nn.GELU("tanh")),
    ("silu", nn.SiLU()),
    ("tanh", nn.Tanh()),
    ("sigmoid", nn.Sigmoid()),
    ("softmax", nn.Softmax(dim=1)),
    ("softmax_none", nn.Softmax()),
    ("log_softmax", nn.LogSoftmax(dim=-1)),
    ("dropout", nn.Dropout()),
    ("dropout_0.2", nn.Dropout(p=0.2)),
    ("dropout_1e-05", nn.Dropout(p=1e-05)),
    ("embedding", nn.Embedding(3, 4)),
    ("embedding_padding", nn.Embedding(3, 4, padding_idx=0)),
    ("embedding_all", nn.Embedding(3, 4, padding_idx=2, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True)),
    ("flatten", nn.Flatten()),
    ("flatten_0_2", nn.Flatten(0, 2)),
    ("unflatten", nn.Unflatten(1, (2, 3))),
    ("unflatten_1", nn.Unflatten(-1, (6,))),
    ("identity", nn.Identity()),
    ("layernorm", nn.LayerNorm(4)),
    ("layernorm_2d", nn.LayerNorm([2, 3], eps=1e-3, elementwise_affine=False)),
    ("sequential_empty", nn.Sequential()),
    ("sequential_mnist", nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))),
    ("sequential_nested", nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.Tanh()), nn.ModuleList([nn.ReLU()]))),
    ("sequential_named", nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.ReLU())]))),
    ("modulelist", nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2)])),
    ("moduledict", nn.ModuleDict({"enc": nn.Linear(2, 2), "act": nn.ReLU()})),
    ("cross_entropy_loss", nn.CrossEntropyLoss()),
    ("nll_loss", nn.NLLLoss()),
    ("mse_loss", nn.MSELoss()),
    ("l1_loss", nn.L1Loss()),
    ("smooth_l1_loss", nn.SmoothL1Loss()),
    ("bce_loss", nn.BCELoss()),
    ("bce_with_logits_loss", nn.BCEWithLogitsLoss()),
    ("kl_div_loss", nn.KLDivLoss()),
])
for name, m in reprs.items():
    module.case("repr/" + name)
    module.string("repr/" + name, repr(m))

# Weighted losses keep their weight as a buffer (state_dict key "weight").
module.string("bce_with_logits_state_dict",
              "\n".join(nn.BCEWithLogitsLoss(weight=torch.ones(2), pos_weight=torch.ones(2)).state_dict().keys()))


def load_error(model, sd, strict=True):
    try:
        model.load_state_dict(sd, strict=strict)
    except RuntimeError as e:
        # Fulgur prints shapes as [2, 3] where PyTorch prints torch.Size([2, 3]).
        msg = str(e)
        while "torch.Size(" in msg:
            i = msg.index("torch.Size(")
            j = msg.index(")", i)
            msg = msg[:i] + msg[i + len("torch.Size("):j] + msg[j + 1:]
        return msg
    return ""


small = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
sd = small.state_dict()
missing = OrderedDict((k, v) for k, v in sd.items() if k != "0.bias")
module.string("load/missing", load_error(small, missing))
unexpected = OrderedDict(sd)
unexpected["3.weight"] = torch.zeros(1)
unexpected["extra"] = torch.zeros(1)
module.string("load/unexpected", load_error(small, unexpected))
mismatch = OrderedDict(sd)
mismatch["0.weight"] = torch.zeros(2, 3)
module.string("load/size_mismatch", load_error(small, mismatch))
allbad = OrderedDict((k, v) for k, v in sd.items() if k != "2.bias")
allbad["0.weight"] = torch.zeros(2, 3)
allbad["2.weight"] = torch.zeros(4, 2)
allbad["head.weight"] = torch.zeros(1)
module.string("load/all", load_error(small, allbad))
module.string("load/nonstrict_size_mismatch", load_error(small, allbad, strict=False))

for f in (layers, losses, module):
    f.write()
    print("wrote", os.path.relpath(f.path, ROOT), len(f.tensors), "tensors,", len(f.strings), "strings,",
          len(f.cases), "cases")
