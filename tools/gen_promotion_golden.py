#!/usr/bin/python3
"""Generates tests/golden/promotion_golden.inc: PyTorch's type promotion, for
tests/type_promotion_test.cc.

Run with Debian's PyTorch (1.13), from the repository root:
    /usr/bin/python3 tools/gen_promotion_golden.py

The file defines, at namespace scope, arrays of string triples/quads (the test declares
the structs before including it):
  kPromoteTypes[]  {a, b, torch.promote_types(a, b)}
  kCanCast[]       {from, to, torch.can_cast(from, to) ? "true" : "false"}
  kResultType[]    {x, y, torch.result_type(x, y)} where an operand is "t1:<dtype>" (1-D
                   tensor), "t0:<dtype>" (0-dim tensor), "int" (2), "float" (2.5) or
                   "bool" (True)
  kOps[]           {op, x, y, result dtype or "error", note}; op is one of
                   add div eq (torch.<op>(x, y)), add_ (x.add_(y), result is x's dtype),
                   exp sum mean (torch.<op>(x), y is ""). Tensors are torch.ones(3).
                   Where the CPU kernel is missing in this PyTorch build ("... not
                   implemented for 'Half'") the dtype comes from the same call on the
                   meta device and the note says so.
"""
import os
import sys

import torch

assert torch.__version__.startswith("1.13"), torch.__version__

DTYPES = [
    torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
    torch.float16, torch.bfloat16, torch.float32, torch.float64,
]
SCALARS = {"int": 2, "float": 2.5, "bool": True}


def name(dtype):
    return str(dtype)[len("torch."):]


def operand(spec, device="cpu"):
    if spec in SCALARS:
        return SCALARS[spec]
    kind, dt = spec.split(":")
    dtype = getattr(torch, dt)
    shape = (3,) if kind == "t1" else ()
    return torch.ones(shape, dtype=dtype, device=device)


def t1(d):
    return "t1:" + name(d)


def t0(d):
    return "t0:" + name(d)


OPS = {
    "add": lambda x, y: torch.add(x, y),
    "div": lambda x, y: torch.div(x, y),
    "eq": lambda x, y: torch.eq(x, y),
    "add_": lambda x, y: x.add_(y),
    "exp": lambda x, y: torch.exp(x),
    "sum": lambda x, y: torch.sum(x),
    "mean": lambda x, y: torch.mean(x),
}


def run_op(op, xs, ys):
    """(result dtype name or "error", note)."""
    def call(device):
        x = operand(xs, device)
        y = operand(ys, device) if ys else None
        return OPS[op](x, y)

    try:
        return name(call("cpu").dtype), ""
    except (RuntimeError, TypeError) as e:
        msg = str(e).splitlines()[0].strip()
        if "not implemented for" in msg:
            try:
                return name(call("meta").dtype), "dtype from the meta device; CPU: " + msg
            except (RuntimeError, TypeError) as e2:
                msg = str(e2).splitlines()[0].strip()
        return "error", msg


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    out = [
        "// GENERATED FILE, do not edit. PyTorch %s's type promotion." % torch.__version__,
        "// Regenerate from the repository root with:",
        "//     /usr/bin/python3 tools/gen_promotion_golden.py",
        "// Included by tests/type_promotion_test.cc (see the generator's docstring).",
        "",
    ]

    out.append("// {a, b, torch.promote_types(a, b)}")
    out.append("inline const PromoteCase kPromoteTypes[] = {")
    for a in DTYPES:
        for b in DTYPES:
            out.append("    {%s, %s, %s}," % (q(name(a)), q(name(b)), q(name(torch.promote_types(a, b)))))
    out.append("};\n")

    out.append("// {from, to, torch.can_cast(from, to)}")
    out.append("inline const PromoteCase kCanCast[] = {")
    for a in DTYPES:
        for b in DTYPES:
            out.append("    {%s, %s, %s}," % (q(name(a)), q(name(b)), q("true" if torch.can_cast(a, b) else "false")))
    out.append("};\n")

    pairs = []
    for a in DTYPES:
        for b in DTYPES:
            pairs += [(t1(a), t1(b)), (t1(a), t0(b)), (t0(a), t1(b)), (t0(a), t0(b))]
    for a in DTYPES:
        for s in SCALARS:
            pairs += [(t1(a), s), (t0(a), s), (s, t1(a))]
    out.append("// {x, y, torch.result_type(x, y)}")
    out.append("inline const PromoteCase kResultType[] = {")
    for x, y in pairs:
        r = torch.result_type(operand(x), operand(y))
        out.append("    {%s, %s, %s}," % (q(x), q(y), q(name(r))))
    out.append("};\n")

    cases = []
    for op in ("add", "div", "eq", "add_"):
        for a in DTYPES:
            for b in DTYPES:
                cases.append((op, t1(a), t1(b)))
            for s in SCALARS:
                cases.append((op, t1(a), s))
    for op in ("exp", "sum", "mean"):
        for a in DTYPES:
            cases.append((op, t1(a), ""))
    out.append("// {op, x, y, result dtype or \"error\", note}")
    out.append("inline const OpCase kOps[] = {")
    for op, x, y in cases:
        r, note = run_op(op, x, y)
        out.append("    {%s, %s, %s, %s, %s}," % (q(op), q(x), q(y), q(r), q(note)))
    out.append("};")

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden", "promotion_golden.inc")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print("wrote %s: %d result_type cases, %d op cases" % (path, len(pairs), len(cases)), file=sys.stderr)


if __name__ == "__main__":
    main()
