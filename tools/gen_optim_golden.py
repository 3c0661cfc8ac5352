#!/usr/bin/env python3
"""Golden data for tests/optim_test.cc and tests/lr_scheduler_test.cc, printed by PyTorch.

Run from the repository root with Debian's Python, which has python3-torch (PyTorch 1.13):

    /usr/bin/python3 tools/gen_optim_golden.py

It writes
  tests/golden/optim_golden.inc      parameter trajectories of every optimizer config and the
                                     structure of its state_dict();
  tests/golden/scheduler_golden.inc  learning-rate (and momentum) sequences of every scheduler
                                     config and the structure of its state_dict();
  tests/golden/scheduler_metrics.inc the metric sequence ReduceLROnPlateau is stepped with.

The optimizer problem: float64 params p0 [3, 4], p1 [4] and p2 [2] in one group (or [p0] and
[p1, p2] in two); at step k (1-based) p0 and p1 get grad = sin(p + 0.7 k) + 0.1 k of their
current values, p2 never gets a gradient. The C++ test recomputes the same gradients.

A "structure" is a repr in which floats print as `float` and tensors as
`Tensor(dtype, [sizes])`; everything else prints as Python's repr. tests/ builds the same
string from a fulgur::Value.
"""
import inspect
import math
import os
import sys
import warnings

import torch

warnings.simplefilter("ignore")  # the scheduler-before-optimizer warnings are irrelevant here

STEPS = 20
SCHED_STEPS = 30
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = """// GENERATED FILE, do not edit. {what}
// Regenerate from the repository root with:
//     /usr/bin/python3 tools/gen_optim_golden.py
// PyTorch {version}. Included by tests/{test} inside an initializer list.
"""


# ---- C++ literals ---------------------------------------------------------------------------
def cpp_double(x):
    x = float(x)
    if math.isinf(x):
        return "kInf" if x > 0 else "-kInf"
    return repr(x)


def cpp_value(v):
    """A fulgur::Value expression for a Python option value."""
    if v is None:
        return "Value()"
    if isinstance(v, bool):
        return "Value(true)" if v else "Value(false)"
    if isinstance(v, int):
        return "Value(int64_t{%d})" % v
    if isinstance(v, float):
        return "Value(%s)" % cpp_double(v)
    if isinstance(v, str):
        return 'Value("%s")' % v
    if isinstance(v, tuple):
        return "Value::tuple({%s})" % ", ".join(cpp_value(x) for x in v)
    if isinstance(v, list):
        return "Value::list({%s})" % ", ".join(cpp_value(x) for x in v)
    if isinstance(v, dict):
        return "Value::dict({%s})" % ", ".join('{"%s", %s}' % (k, cpp_value(x)) for k, x in v.items())
    raise TypeError(type(v))


def cpp_doubles(xs, per_line=6, indent="      "):
    xs = [cpp_double(x) for x in xs]
    lines = [", ".join(xs[i:i + per_line]) for i in range(0, len(xs), per_line)]
    return "{\n" + indent + (",\n" + indent).join(lines) + "}"


def cpp_string(s):
    return 'R"golden(%s)golden"' % s


# ---- structure ------------------------------------------------------------------------------
def structure(v):
    if isinstance(v, torch.Tensor):
        return "Tensor(%s, %s)" % (str(v.dtype).replace("torch.", ""), list(v.shape))
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return repr(v)
    if isinstance(v, float):
        return "float"
    if isinstance(v, dict):
        return "{" + ", ".join("%r: %s" % (k, structure(x)) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(structure(x) for x in v) + "]"
    if isinstance(v, tuple):
        inner = ", ".join(structure(x) for x in v)
        return "(" + inner + ("," if len(v) == 1 else "") + ")"
    raise TypeError("unexpected %r in a state dict" % (v,))


# ---- optimizers -----------------------------------------------------------------------------
def params():
    p0 = torch.tensor([-1.5 + 0.27 * i for i in range(12)], dtype=torch.float64).reshape(3, 4)
    p1 = torch.tensor([0.5, -0.25, 1.0, 2.0], dtype=torch.float64)
    p2 = torch.tensor([0.3, -0.7], dtype=torch.float64)
    return [p.requires_grad_() for p in (p0, p1, p2)]


def set_grads(ps, k):
    for p in ps[:2]:
        p.grad = torch.sin(p.detach() + 0.7 * k) + 0.1 * k


def full_kwargs(cls, kwargs):
    """kwargs plus every numeric default not given, as float, so that state dicts hold floats
    where Fulgur's options (doubles) do."""
    out = dict(kwargs)
    for name, param in inspect.signature(cls.__init__).parameters.items():
        d = param.default
        if name in out or d is inspect.Parameter.empty or isinstance(d, bool):
            continue
        if isinstance(d, (int, float)):
            out[name] = float(d)
        elif isinstance(d, tuple):
            out[name] = tuple(float(x) for x in d)
    return out


OPTIMIZERS = [
    # name, class, kwargs, group-1 overrides (None: one group [p0, p1, p2])
    ("sgd_plain", torch.optim.SGD, dict(lr=0.1), None),
    ("sgd_momentum", torch.optim.SGD, dict(lr=0.1, momentum=0.9), None),
    ("sgd_dampening_wd", torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01), None),
    ("sgd_nesterov", torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.001), None),
    ("sgd_maximize", torch.optim.SGD, dict(lr=0.1, momentum=0.5, maximize=True), None),
    ("sgd_groups", torch.optim.SGD, dict(lr=0.1, momentum=0.9), dict(lr=0.01, momentum=0.5)),
    ("adam_default", torch.optim.Adam, dict(lr=0.01), None),
    ("adam_wd_amsgrad", torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.6), eps=1e-6, weight_decay=0.1, amsgrad=True), None),
    ("adam_maximize", torch.optim.Adam, dict(lr=0.02, maximize=True), None),
    ("adam_groups", torch.optim.Adam, dict(lr=0.01), dict(lr=0.05, betas=(0.5, 0.9))),
    ("adamw_default", torch.optim.AdamW, dict(lr=0.01), None),
    ("adamw_amsgrad_maximize", torch.optim.AdamW,
     dict(lr=0.01, betas=(0.9, 0.7), weight_decay=0.1, amsgrad=True, maximize=True), None),
    ("rmsprop_default", torch.optim.RMSprop, dict(lr=0.01), None),
    ("rmsprop_centered_momentum", torch.optim.RMSprop,
     dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.05, momentum=0.8, centered=True), None),
    ("rmsprop_maximize", torch.optim.RMSprop, dict(lr=0.01, momentum=0.5, maximize=True), None),
    ("adagrad_default", torch.optim.Adagrad, dict(lr=0.1), None),
    ("adagrad_decay", torch.optim.Adagrad,
     dict(lr=0.1, lr_decay=0.05, weight_decay=0.02, initial_accumulator_value=0.5, eps=1e-8), None),
    ("adagrad_maximize_groups", torch.optim.Adagrad, dict(lr=0.1, maximize=True), dict(lr=0.3)),
]


def run_optimizer(cls, kwargs, group1):
    ps = params()
    kwargs = full_kwargs(cls, kwargs)
    if group1 is None:
        opt = cls(ps, **kwargs)
    else:
        opt = cls([{"params": [ps[0]]}, dict(params=ps[1:], **group1)], **kwargs)
    trajectory, sd_structure = [], None
    for k in range(1, STEPS + 1):
        set_grads(ps, k)
        opt.step()
        trajectory += [x for p in ps for x in p.detach().reshape(-1).tolist()]
        if k == 2:
            sd_structure = structure(opt.state_dict())
    return kwargs, trajectory, sd_structure


def optim_golden():
    out = [HEADER.format(what="Trajectories of PyTorch's optimizers (see the generator).",
                         version=torch.__version__, test="optim_test.cc")]
    out.append("// {name, class, defaults, group-1 overrides (None: one group), after step 1..%d the\n"
               "// values of p0, p1, p2 (18 per step), state_dict() structure after step 2}\n" % STEPS)
    for name, cls, kwargs, group1 in OPTIMIZERS:
        full, trajectory, sd = run_optimizer(cls, kwargs, group1)
        out.append('{"%s", "%s",\n  %s,\n  %s,\n  %s,\n  %s},\n' % (
            name, cls.__name__, cpp_value(full), cpp_value(group1), cpp_doubles(trajectory), cpp_string(sd)))
    return "".join(out)


# ---- schedulers -----------------------------------------------------------------------------
S = torch.optim.lr_scheduler
PLATEAU_METRICS = [1.0, 0.9, 0.95, 0.95, 0.899, 0.9, 0.91, 0.7, 0.71, 0.72, 0.73, 0.74, 0.69, 0.695,
                   0.8, 0.8, 0.8, 0.8, 0.8, 0.5, 0.5, 0.6, 0.6, 0.6, 0.6, 0.45, 0.46, 0.47, 0.48, 0.49]


def sgd(lrs=(0.1, 0.05), momentum=0.9):
    ps = params()
    return torch.optim.SGD([{"params": [ps[0]], "lr": lrs[0]}, {"params": ps[1:], "lr": lrs[1]}],
                           lr=lrs[0], momentum=momentum)


def adam(lrs=(0.1, 0.05)):
    ps = params()
    return torch.optim.Adam([{"params": [ps[0]], "lr": lrs[0]}, {"params": ps[1:], "lr": lrs[1]}],
                            lr=lrs[0], betas=(0.9, 0.999))


# name, call (documentation), factory(optimizer) -> scheduler, optimizer factory,
# what momentum to record ("momentum", "beta1" or None), metrics (ReduceLROnPlateau)
SCHEDULERS = [
    ("step", "StepLR(opt, step_size=3, gamma=0.5)", lambda o: S.StepLR(o, step_size=3, gamma=0.5), sgd, None),
    ("multistep", "MultiStepLR(opt, milestones=[2, 5, 5, 9], gamma=0.3)",
     lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3), sgd, None),
    ("exponential", "ExponentialLR(opt, gamma=0.9)", lambda o: S.ExponentialLR(o, gamma=0.9), sgd, None),
    ("cosine", "CosineAnnealingLR(opt, T_max=7, eta_min=0.001)",
     lambda o: S.CosineAnnealingLR(o, T_max=7, eta_min=0.001), sgd, None),
    ("warm_restarts_mult2", "CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2, eta_min=0.0005)",
     lambda o: S.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2, eta_min=0.0005), sgd, None),
    ("warm_restarts_mult1", "CosineAnnealingWarmRestarts(opt, T_0=5, T_mult=1, eta_min=0.0)",
     lambda o: S.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=1, eta_min=0.0), sgd, None),
    ("linear", "LinearLR(opt, start_factor=0.25, end_factor=0.9, total_iters=6)",
     lambda o: S.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=6), sgd, None),
    ("one_cycle_cos", "OneCycleLR(opt, max_lr=[1.0, 0.5], total_steps=30) on SGD(momentum=0.9)",
     lambda o: S.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=30), sgd, "momentum"),
    ("one_cycle_linear_three_phase",
     "OneCycleLR(opt, max_lr=0.8, epochs=5, steps_per_epoch=6, pct_start=0.25, anneal_strategy='linear', "
     "base_momentum=0.8, max_momentum=0.9, div_factor=10.0, final_div_factor=100.0, three_phase=True) on Adam",
     lambda o: S.OneCycleLR(o, max_lr=0.8, epochs=5, steps_per_epoch=6, pct_start=0.25, anneal_strategy="linear",
                            base_momentum=0.8, max_momentum=0.9, div_factor=10.0, final_div_factor=100.0,
                            three_phase=True), adam, "beta1"),
    ("lambda", "LambdaLR(opt, [lambda e: 0.95 ** e, lambda e: 1.0 / (1.0 + 0.5 * e)])",
     lambda o: S.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: 1.0 / (1.0 + 0.5 * e)]), sgd, None),
    ("sequential",
     "SequentialLR(opt, [LinearLR(opt, start_factor=0.5, total_iters=4), CosineAnnealingLR(opt, T_max=10, "
     "eta_min=0.01), StepLR(opt, step_size=2, gamma=0.7)], milestones=[4, 14])",
     lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.5, total_iters=4),
                                  S.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
                                  S.StepLR(o, step_size=2, gamma=0.7)], milestones=[4, 14]), sgd, None),
    ("plateau_min_rel",
     "ReduceLROnPlateau(opt, mode='min', factor=0.5, patience=2, threshold=0.01, cooldown=1, "
     "min_lr=[0.01, 0.001])",
     lambda o: S.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=2, threshold=0.01, cooldown=1,
                                   min_lr=[0.01, 0.001]), sgd, None),
    ("plateau_max_abs",
     "ReduceLROnPlateau(opt, mode='max', factor=0.3, patience=1, threshold=0.1, threshold_mode='abs', "
     "min_lr=0.02, eps=0.001) on metrics negated",
     lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.3, patience=1, threshold=0.1, threshold_mode="abs",
                                   min_lr=0.02, eps=0.001), sgd, None),
]


def momentum_of(opt, what):
    if what == "momentum":
        return [g["momentum"] for g in opt.param_groups]
    return [g["betas"][0] for g in opt.param_groups]


def scheduler_state_structure(sd):
    # PyTorch 1.13 stores OneCycleLR's annealing function as a bound method (which pickles
    # the whole scheduler); Fulgur stores its name, as PyTorch 2.1 and later do.
    if "anneal_func" in sd:
        sd = {("_anneal_func_type" if k == "anneal_func" else k):
              (v.__name__.replace("_annealing_", "") if k == "anneal_func" else v) for k, v in sd.items()}
    return structure(sd)


def run_scheduler(name, factory, make_opt, momentum):
    opt = make_opt()
    sched = factory(opt)
    plateau = isinstance(sched, S.ReduceLROnPlateau)
    lrs = [g["lr"] for g in opt.param_groups]
    moms = momentum_of(opt, momentum) if momentum else []
    sd = None
    for k in range(SCHED_STEPS):
        opt.step()
        if plateau:
            metric = PLATEAU_METRICS[k] * (-1 if name.endswith("max_abs") else 1)
            sched.step(metric)
        else:
            sched.step()
        lrs += [g["lr"] for g in opt.param_groups]
        if momentum:
            moms += momentum_of(opt, momentum)
        if k == 4:
            sd = scheduler_state_structure(sched.state_dict())
    return lrs, moms, sd


def scheduler_golden():
    out = [HEADER.format(what="Learning-rate sequences of PyTorch's schedulers (see the generator).",
                         version=torch.__version__, test="lr_scheduler_test.cc")]
    out.append("// {name, call, lr of each of the 2 groups after construction and after each of %d steps,\n"
               "// the same for momentum (or Adam's beta1) when it cycles, state_dict() structure after 5\n"
               "// steps}. Base lrs 0.1 and 0.05, SGD(momentum=0.9) unless said otherwise.\n" % SCHED_STEPS)
    for name, call, factory, make_opt, momentum in SCHEDULERS:
        lrs, moms, sd = run_scheduler(name, factory, make_opt, momentum)
        out.append('{"%s", %s,\n  %s,\n  %s,\n  %s},\n' % (
            name, cpp_string(call), cpp_doubles(lrs), cpp_doubles(moms) if moms else "{}", cpp_string(sd)))
    return "".join(out)


def main():
    if not torch.__version__.startswith("1.13"):
        print("warning: PyTorch %s, the golden files were made with 1.13" % torch.__version__, file=sys.stderr)
    golden = os.path.join(ROOT, "tests", "golden")
    with open(os.path.join(golden, "optim_golden.inc"), "w") as f:
        f.write(optim_golden())
    with open(os.path.join(golden, "scheduler_golden.inc"), "w") as f:
        f.write(scheduler_golden())
    with open(os.path.join(golden, "scheduler_metrics.inc"), "w") as f:
        f.write(HEADER.format(what="ReduceLROnPlateau's metric sequence in tools/gen_optim_golden.py.",
                              version=torch.__version__, test="lr_scheduler_test.cc"))
        f.write(", ".join(cpp_double(x) for x in PLATEAU_METRICS) + "\n")


if __name__ == "__main__":
    main()
