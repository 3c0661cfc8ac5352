#!/usr/bin/env python3
"""Python half of tests/serialize_interop_test.cc (run by it with /usr/bin/python3).

    serialize_interop.py DIR

1. Checks the files the C++ side wrote in DIR, value by value:
   cpp_state_dict.pt   torch.load(weights_only=True); closed-form values
   cpp_optimizer.pt    torch.load(weights_only=False); equal to torch.optim.Adam's state
                       after the same step, and loadable by Adam.load_state_dict
   cpp_checkpoint.pt   torch.load(weights_only=False); a Lightning-shaped nested checkpoint
   cpp.safetensors     read from the format's specification with json + numpy
2. Writes for the C++ side: py_model_state_dict.pt (a torch.nn model's state_dict),
   py_model_io.pt (an input and the model's output) and py.safetensors (json + numpy).
Exits non-zero with a message on the first mismatch.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

DIR = sys.argv[1]


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def ar(n, dtype, scale=1.0, offset=0.0):
    """The closed form the C++ side uses: element i is i * scale + offset (bool: i % 2)."""
    if dtype == torch.bool:
        return torch.arange(n) % 2 == 1
    return (torch.arange(n, dtype=torch.float64) * scale + offset).to(dtype)


def same(a, b, what):
    check(type(a) is type(b) or (isinstance(a, dict) and isinstance(b, dict)),
          "%s: %s vs %s" % (what, type(a).__name__, type(b).__name__))
    if isinstance(a, torch.Tensor):
        check(a.dtype == b.dtype, "%s: dtype %s vs %s" % (what, a.dtype, b.dtype))
        check(a.shape == b.shape, "%s: shape %s vs %s" % (what, tuple(a.shape), tuple(b.shape)))
        check(torch.equal(a, b), "%s: values differ:\n%s\n%s" % (what, a, b))
    elif isinstance(a, dict):
        check(list(a.keys()) == list(b.keys()), "%s: keys %s vs %s" % (what, list(a.keys()), list(b.keys())))
        for k in a:
            same(a[k], b[k], "%s[%r]" % (what, k))
    elif isinstance(a, (list, tuple)):
        check(len(a) == len(b), "%s: lengths" % what)
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, "%s[%d]" % (what, i))
    else:
        check(a == b, "%s: %r vs %r" % (what, a, b))


DTYPES = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
          torch.float16, torch.bfloat16, torch.float32, torch.float64]


def expected_state_dict():
    from collections import OrderedDict
    return OrderedDict([
        ("0.weight", ar(12, torch.float32, 0.125, -0.5).reshape(4, 3)),
        ("0.bias", ar(4, torch.float32, 0.25)),
        ("2.weight", ar(8, torch.float32, -0.125, 0.5).reshape(2, 4)),
        ("2.bias", ar(2, torch.float32, 1.0, -1.0)),
    ])


def check_state_dict():
    sd = torch.load(os.path.join(DIR, "cpp_state_dict.pt"), weights_only=True)
    check(type(sd).__name__ == "OrderedDict", "state_dict is a %s, not an OrderedDict" % type(sd).__name__)
    same(sd, expected_state_dict(), "cpp_state_dict.pt")
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    m.load_state_dict(sd)
    print("ok: cpp_state_dict.pt (weights_only=True, loads into torch.nn.Sequential)")
    return sd


def torch_adam_state():
    w = torch.nn.Parameter(ar(6, torch.float32, 0.5).reshape(2, 3))
    b = torch.nn.Parameter(ar(2, torch.float32, -1.0))
    opt = torch.optim.Adam([w, b], lr=0.01, betas=(0.8, 0.9))
    w.grad = torch.ones(2, 3)
    b.grad = torch.full((2,), 2.0)
    opt.step()
    return opt, w, b


def check_optimizer():
    st = torch.load(os.path.join(DIR, "cpp_optimizer.pt"), weights_only=False)
    opt, w, b = torch_adam_state()
    ref = opt.state_dict()
    check(sorted(st.keys()) == ["param_groups", "state"], "optimizer keys %s" % list(st.keys()))
    check(sorted(st["state"].keys()) == [0, 1], "optimizer state ids %s" % list(st["state"].keys()))
    for pid in (0, 1):
        for k in ("step", "exp_avg", "exp_avg_sq"):
            a, r = st["state"][pid][k], ref["state"][pid][k]
            check(a.dtype == r.dtype and a.shape == r.shape, "state[%d][%s]: %s%s vs %s%s" %
                  (pid, k, a.dtype, tuple(a.shape), r.dtype, tuple(r.shape)))
            check(torch.allclose(a, r, rtol=1e-6, atol=1e-7), "state[%d][%s]: %s vs %s" % (pid, k, a, r))
    g, rg = st["param_groups"][0], ref["param_groups"][0]
    for k in ("lr", "betas", "eps", "weight_decay", "amsgrad", "params"):
        check(g[k] == rg[k], "param_groups[0][%r]: %r vs %r" % (k, g[k], rg[k]))
    opt.load_state_dict(st)
    print("ok: cpp_optimizer.pt (equals torch.optim.Adam's state; Adam.load_state_dict accepts it)")


def check_checkpoint(sd):
    ck = torch.load(os.path.join(DIR, "cpp_checkpoint.pt"), weights_only=False)
    check(ck["epoch"] == 3 and ck["global_step"] == 120, "epoch/global_step")
    check(ck["pytorch-lightning_version"] == "2.1.0", "version string")
    same(ck["state_dict"], sd, "checkpoint['state_dict']")
    check(len(ck["optimizer_states"]) == 1 and ck["optimizer_states"][0]["state"][0]["exp_avg"].shape == (2, 3),
          "optimizer_states")
    same(ck["lr_schedulers"], [{"step_size": 1, "gamma": 0.5, "base_lrs": [0.01], "last_epoch": 3,
                                 "_step_count": 4, "verbose": False, "_get_lr_called_within_step": False,
                                 "_last_lr": [0.00125]}], "lr_schedulers")
    same(ck["hyper_parameters"], {"hidden": 4, "lr": 0.01, "name": "mlp \u2603", "flags": [True, False],
                                  "none": None, "big": 2 ** 40, "neg": -7, "shape": (3, 4)}, "hyper_parameters")
    m = ck["misc"]
    base = m["base"]
    same(base, ar(12, torch.float32, 0.5, -1.0).reshape(3, 4), "misc.base")
    for name, view, stride, offset in [("transposed", base.t(), (1, 4), 0), ("row", base[1], (1,), 4),
                                       ("strided", base[:, ::2], (4, 2), 0)]:
        t = m[name]
        same(t, view, "misc." + name)
        check(t.stride() == stride and t.storage_offset() == offset,
              "misc.%s: stride %s offset %d" % (name, t.stride(), t.storage_offset()))
        check(t.storage().data_ptr() == base.storage().data_ptr(), "misc.%s does not share base's storage" % name)
    check(m["expanded"].stride() == (0, 1), "misc.expanded stride %s" % (m["expanded"].stride(),))
    same(m["expanded"], torch.tensor([1.0, 2.0]).expand(3, 2), "misc.expanded")
    check(m["param"].requires_grad, "misc.param.requires_grad")
    same(m["param"].detach(), ar(3, torch.float32, 2.0), "misc.param")
    same(m["scalar"], torch.tensor(3.25, dtype=torch.float64), "misc.scalar")
    same(m["empty"], torch.zeros(0, 3), "misc.empty")
    for dt in DTYPES:
        name = str(dt).replace("torch.", "")
        same(m["dtype_" + name], ar(5, dt, 1.5 if dt.is_floating_point else 1.0,
                                    0.0 if dt in (torch.bool, torch.uint8) else -2.0), "misc.dtype_" + name)
    same(m["int_keys"], {0: "a", 5: "b", -7: "c"}, "misc.int_keys")
    check(m["min"] == -2 ** 63 and m["max"] == 2 ** 63 - 1, "misc int64 range")
    check(m["inf"] == float("inf") and m["float"] == 0.1, "misc floats")
    print("ok: cpp_checkpoint.pt (weights_only=False, every value)")


SAFE_DTYPES = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "I32": np.int32,
               "I64": np.int64, "F16": np.float16, "BF16": np.int16, "F32": np.float32, "F64": np.float64}


def read_safetensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    meta = header.pop("__metadata__", {})
    out = {}
    for k, v in header.items():
        b, e = v["data_offsets"]
        arr = np.frombuffer(body[b:e], dtype=SAFE_DTYPES[v["dtype"]]).reshape(v["shape"])
        t = torch.from_numpy(arr.copy())
        if v["dtype"] == "BF16":
            t = t.view(torch.bfloat16)
        out[k] = t
    return out, meta


def check_safetensors():
    t, meta = read_safetensors(os.path.join(DIR, "cpp.safetensors"))
    check(meta == {"format": "pt", "source": "fulgur"}, "metadata %r" % meta)
    for dt in DTYPES:
        name = str(dt).replace("torch.", "")
        same(t[name], ar(6, dt, 1.5 if dt.is_floating_point else 1.0,
                         0.0 if dt in (torch.bool, torch.uint8) else -2.0).reshape(2, 3), "safetensors " + name)
    same(t["transposed"], ar(6, torch.float32, 1.0).reshape(2, 3).t().contiguous(), "safetensors transposed")
    print("ok: cpp.safetensors (json + numpy)")


def write_for_cpp():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                            torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 10))
    with torch.no_grad():
        m[1].running_mean.copy_(torch.randn(4) * 0.1)
        m[1].running_var.copy_(torch.rand(4) + 0.5)
        m[1].weight.copy_(torch.rand(4) + 0.5)
        m[1].bias.copy_(torch.randn(4) * 0.1)
    m.eval()
    torch.save(m.state_dict(), os.path.join(DIR, "py_model_state_dict.pt"))
    x = torch.randn(3, 1, 6, 6)
    with torch.no_grad():
        torch.save({"x": x, "y": m(x)}, os.path.join(DIR, "py_model_io.pt"))
    # safetensors, written from the specification.
    tensors = {"w": torch.randn(3, 5), "ids": torch.arange(-3, 3), "half": torch.randn(4).to(torch.float16),
               "bf": torch.randn(2, 2).to(torch.bfloat16), "mask": torch.tensor([True, False, True]),
               "empty": torch.zeros(0, 4)}
    header, blobs, off = {"__metadata__": {"framework": "numpy"}}, [], 0
    names = {v: k for k, v in {"BOOL": torch.bool, "I64": torch.int64, "F16": torch.float16,
                               "BF16": torch.bfloat16, "F32": torch.float32}.items()}
    for k, v in tensors.items():
        raw = (v.view(torch.int16) if v.dtype == torch.bfloat16 else v).numpy().tobytes()
        header[k] = {"dtype": names[v.dtype], "shape": list(v.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(DIR, "py.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    torch.save(tensors, os.path.join(DIR, "py_safetensors_ref.pt"))
    print("ok: wrote py_model_state_dict.pt, py_model_io.pt, py.safetensors")


def main():
    print("python", sys.version.split()[0], "torch", torch.__version__)
    sd = check_state_dict()
    check_optimizer()
    check_checkpoint(sd)
    check_safetensors()
    write_for_cpp()
    print("ALL OK")


if __name__ == "__main__":
    main()
