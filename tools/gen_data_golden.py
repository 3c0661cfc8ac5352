#!/usr/bin/env python3
"""Golden data for the data pipeline tests (tests/data_*_test.cc), printed by PyTorch.

Run from the repository root with Debian's Python, which has python3-torch (PyTorch 1.13):

    /usr/bin/python3 tools/gen_data_golden.py

It writes tests/golden/data_golden.inc: C++ struct definitions and tables of
  - random_split part lengths from fractions (floor, remainder round robin);
  - len(DataLoader) for (n, batch_size, drop_last), for batch_size=None, for an
    IterableDataset with __len__, and with a DistributedSampler;
  - DistributedSampler partitions (shuffle=False) and lengths for num_replicas/rank/drop_last;
  - BatchSampler outputs over a SequentialSampler;
  - default_collate: the examples (as fulgur::Value expressions) and the structure of the
    batch, tensors printed as Tensor(dtype, [sizes], [values]).
Only deterministic paths are recorded: shuffled orders come from our Philox generator and
are tested for their properties instead.
"""
import math
import os
import warnings

import torch
from torch.utils.data import (BatchSampler, DataLoader, IterableDataset, SequentialSampler,
                              random_split)
from torch.utils.data.distributed import DistributedSampler
from torch.utils.data._utils.collate import default_collate

warnings.simplefilter("ignore")  # zero-length split warnings are expected here

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "golden", "data_golden.inc")


def ints(xs):
    return "{" + ", ".join(str(int(x)) for x in xs) + "}"


def doubles(xs):
    return "{" + ", ".join(repr(float(x)) for x in xs) + "}"


# ---- default_collate ------------------------------------------------------------------------
DTYPES = {torch.float32: ("kFloat32", "float32"), torch.float64: ("kFloat64", "float64"),
          torch.int64: ("kInt64", "int64"), torch.bool: ("kBool", "bool"),
          torch.int32: ("kInt32", "int32")}


def cpp_value(v):
    """A fulgur::Value expression building the Python example v (tests define T())."""
    if isinstance(v, torch.Tensor):
        return "T(%s, %s, %s)" % (DTYPES[v.dtype][0], ints(v.shape), doubles(v.flatten().tolist()))
    if isinstance(v, bool):
        return "Value(true)" if v else "Value(false)"
    if isinstance(v, int):
        return "Value(int64_t{%d})" % v
    if isinstance(v, float):
        return "Value(%r)" % v
    if isinstance(v, str):
        return "Value(\"%s\")" % v
    if isinstance(v, tuple):
        return "Value::tuple({%s})" % ", ".join(cpp_value(x) for x in v)
    if isinstance(v, list):
        return "Value::list({%s})" % ", ".join(cpp_value(x) for x in v)
    if isinstance(v, dict):
        return "Value::dict({%s})" % ", ".join("{\"%s\", %s}" % (k, cpp_value(x)) for k, x in v.items())
    raise TypeError(type(v))


def leaf_repr(x):
    if isinstance(x, bool):
        return "True" if x else "False"
    if isinstance(x, float):
        return repr(x)
    return str(x)


def structure(v):
    """Python-repr-like, tensors as Tensor(dtype, [sizes], [values]); tests/ builds the same."""
    if isinstance(v, torch.Tensor):
        return "Tensor(%s, [%s], [%s])" % (DTYPES[v.dtype][1], ", ".join(str(s) for s in v.shape),
                                           ", ".join(leaf_repr(x) for x in v.flatten().tolist()))
    if isinstance(v, (bool, int, float)):
        return leaf_repr(v)
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(structure(x) for x in v) + "]"
    if isinstance(v, tuple):
        return "(" + ", ".join(structure(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, dict):
        return "{" + ", ".join("%r: %s" % (k, structure(x)) for k, x in v.items()) + "}"
    raise TypeError(type(v))


def t(shape, start, dtype=torch.float32):
    n = math.prod(shape)
    return (torch.arange(n, dtype=torch.float64) * 0.5 + start).to(dtype).reshape(shape)


COLLATE_CASES = [
    ("tensors", [t((3,), i) for i in range(4)]),
    ("tensors_2d_int", [t((2, 2), i, torch.int64) for i in range(3)]),
    ("tensors_0d", [t((), i) for i in range(3)]),
    ("ints", [1, 2, 3]),
    ("floats", [0.5, 1.5]),
    ("bools", [True, False, True]),
    ("strings", ["a", "bb", "ccc"]),
    ("int_then_float", [1, 2.5]),
    ("float_then_int", [2.5, 1]),
    ("bool_then_int", [True, 2]),
    ("tuple_tensor_label", [(t((2,), i), i) for i in range(3)]),
    ("list_mixed", [[t((1, 2), i), 0.25 * i, "s%d" % i] for i in range(2)]),
    ("dict", [{"image": t((2, 2), i), "label": i, "name": "n%d" % i} for i in range(3)]),
    ("nested", [{"x": (t((2,), i), {"y": 1.5 * i}), "z": [True, i % 2 == 0]} for i in range(2)]),
    ("one_example", [(t((2,), 7), 3)]),
    ("int32_tensors", [t((2,), i, torch.int32) for i in range(2)]),
]


def collate_table():
    rows = []
    for name, examples in COLLATE_CASES:
        out = default_collate(examples)
        rows.append('  {"%s",\n   {%s},\n   "%s"},' % (
            name, ", ".join(cpp_value(e) for e in examples), structure(out)))
    return rows


# ---- lengths, samplers ----------------------------------------------------------------------
def split_table():
    cases = [(10, [0.5, 0.5]), (10, [0.3, 0.3, 0.4]), (7, [0.5, 0.5]), (11, [0.1, 0.2, 0.7]),
             (5, [0.2] * 5), (3, [0.25] * 4), (100, [0.333, 0.333, 0.334]), (1, [0.5, 0.5]),
             (0, [0.5, 0.5]), (13, [1.0]), (9, [0.0, 1.0]), (10, [0.1] * 10), (17, [0.6, 0.2, 0.2]),
             (2, [0.9, 0.1]), (1000, [0.8, 0.1, 0.1])]
    rows = []
    for n, fracs in cases:
        parts = random_split(range(n), fracs, generator=torch.Generator().manual_seed(0))
        rows.append("  {%d, %s, %s}," % (n, doubles(fracs), ints(len(p) for p in parts)))
    return rows


def loader_len_table():
    rows = []
    for n in [0, 1, 7, 10, 64, 100]:
        for bs in [1, 3, 10, 64, 128]:
            for drop_last in [False, True]:
                length = len(DataLoader(range(n), batch_size=bs, drop_last=drop_last))
                rows.append("  {%d, %d, %s, %d}," % (n, bs, str(drop_last).lower(), length))
        rows.append("  {%d, -1, false, %d}," % (n, len(DataLoader(range(n), batch_size=None))))
    return rows


class Sized(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def iterable_len_table():
    rows = []
    for n in [0, 1, 7, 10, 64]:
        for bs in [1, 3, 10]:
            for drop_last in [False, True]:
                length = len(DataLoader(Sized(n), batch_size=bs, drop_last=drop_last))
                rows.append("  {%d, %d, %s, %d}," % (n, bs, str(drop_last).lower(), length))
        rows.append("  {%d, -1, false, %d}," % (n, len(DataLoader(Sized(n), batch_size=None))))
    return rows


def distributed_table():
    rows = []
    for n in [0, 1, 5, 10, 11, 13]:
        for replicas in [1, 2, 3, 4, 8]:
            for drop_last in [False, True]:
                for rank in range(replicas):
                    s = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False,
                                           drop_last=drop_last)
                    rows.append("  {%d, %d, %d, %s, %d, %s}," % (
                        n, replicas, rank, str(drop_last).lower(), len(s), ints(list(s))))
    return rows


def distributed_loader_len_table():
    rows = []
    for n in [10, 11, 100, 101]:
        for replicas in [2, 3, 8]:
            for sampler_drop in [False, True]:
                for bs in [1, 4, 16]:
                    for drop_last in [False, True]:
                        s = DistributedSampler(range(n), num_replicas=replicas, rank=replicas - 1,
                                               shuffle=False, drop_last=sampler_drop)
                        length = len(DataLoader(range(n), batch_size=bs, sampler=s, drop_last=drop_last))
                        rows.append("  {%d, %d, %s, %d, %s, %d}," % (
                            n, replicas, str(sampler_drop).lower(), bs, str(drop_last).lower(), length))
    return rows


def batch_sampler_table():
    rows = []
    for n in [0, 1, 5, 10]:
        for bs in [1, 2, 3, 4, 11]:
            for drop_last in [False, True]:
                batches = list(BatchSampler(SequentialSampler(range(n)), bs, drop_last))
                rows.append("  {%d, %d, %s, {%s}}," % (
                    n, bs, str(drop_last).lower(), ", ".join(ints(b) for b in batches)))
    return rows


def main():
    parts = ["""// GENERATED FILE, do not edit. Data pipeline behaviour printed by PyTorch %s.
// Regenerate from the repository root with:
//     /usr/bin/python3 tools/gen_data_golden.py
// Included at namespace scope by tests/data_*_test.cc (which define T(dtype, sizes, values)
// before including it).
#include <cstdint>
#include <vector>
""" % torch.__version__]

    def table(decl, name, rows, comment):
        parts.append("\n// %s\n%s\n[[maybe_unused]] const std::vector<%s> %s = {\n%s\n};\n" % (
            comment, decl, decl.split()[1], name, "\n".join(rows)))

    table("struct SplitGolden { int64_t n; std::vector<double> fractions; std::vector<int64_t> lengths; };",
          "kSplitGoldens", split_table(), "random_split(range(n), fractions): the part lengths")
    table("struct LoaderLenGolden { int64_t n; int64_t batch_size; bool drop_last; int64_t len; };",
          "kLoaderLenGoldens", loader_len_table(),
          "len(DataLoader(range(n), batch_size, drop_last)); batch_size -1 means None")
    table("struct IterableLenGolden { int64_t n; int64_t batch_size; bool drop_last; int64_t len; };",
          "kIterableLenGoldens", iterable_len_table(),
          "len(DataLoader(IterableDataset with __len__ = n, batch_size, drop_last)); -1 means None")
    table("struct DistributedGolden { int64_t n; int64_t num_replicas; int64_t rank; bool drop_last; "
          "int64_t len; std::vector<int64_t> indices; };",
          "kDistributedGoldens", distributed_table(),
          "DistributedSampler(range(n), num_replicas, rank, shuffle=False, drop_last): len, indices")
    table("struct DistributedLoaderLenGolden { int64_t n; int64_t num_replicas; bool sampler_drop_last; "
          "int64_t batch_size; bool drop_last; int64_t len; };",
          "kDistributedLoaderLenGoldens", distributed_loader_len_table(),
          "len(DataLoader(range(n), batch_size, sampler=DistributedSampler(..., rank=last), drop_last))")
    table("struct BatchSamplerGolden { int64_t n; int64_t batch_size; bool drop_last; "
          "std::vector<std::vector<int64_t>> batches; };",
          "kBatchSamplerGoldens", batch_sampler_table(),
          "list(BatchSampler(SequentialSampler(range(n)), batch_size, drop_last))")
    table("struct CollateGolden { const char* name; std::vector<Value> examples; const char* structure; };",
          "kCollateGoldens", collate_table(), "default_collate(examples): the batch's structure")
    with open(OUT, "w") as f:
        f.write("".join(parts))
    print("wrote", os.path.relpath(OUT, ROOT))


if __name__ == "__main__":
    main()
