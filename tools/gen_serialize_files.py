#!/usr/bin/env python3
"""Writes the torch.save / safetensors files that tests/serialize_*_test.cc load.

    /usr/bin/python3 tools/gen_serialize_files.py            # Debian's torch 1.13: torch1_*
    # torch2_lightning.ckpt and torch2_values.pt: a venv with pytorch_lightning from PyPI
    # (pip pulls a torch 2.x wheel into it):
    /usr/bin/python3 -m venv --system-site-packages /tmp/plvenv
    /tmp/plvenv/bin/pip install pytorch-lightning==2.1.4
    /tmp/plvenv/bin/python tools/gen_serialize_files.py

Run from the repository root. Every value is a closed form (arange-based) so that the C++
tests assert exact values without golden tables. Files written with Debian's torch 1.13 are
named torch1_*; files that need pytorch_lightning (a PyPI package, not in Debian) are only
written when it imports, by whatever torch that Python has (named torch2_* when it is 2.x).
The files are small and checked in under tests/data/serialize/.
"""
import collections
import json
import os
import struct
import sys

import numpy as np
import torch

OUT = os.path.join("tests", "data", "serialize")


def ar(n, dtype, scale=1.0, offset=0.0):
    """arange(n) * scale + offset in dtype (integers and bool: arange % 2 for bool)."""
    x = torch.arange(n, dtype=torch.float64) * scale + offset
    if dtype == torch.bool:
        return (torch.arange(n) % 2 == 1)
    return x.to(dtype)


DTYPES = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
          torch.float16, torch.bfloat16, torch.float32, torch.float64]


def values_file():
    """Every Value kind and dtype, views, shared storage (see serialize_checkpoint_test.cc)."""
    base = ar(12, torch.float32, 0.5, -1.0).reshape(3, 4)
    d = {
        "none": None, "true": True, "false": False,
        "int": 7, "neg": -123456, "big": 2 ** 40, "min": -2 ** 63, "max": 2 ** 63 - 1,
        "float": 0.1, "inf": float("inf"), "str": "h\u00e9llo \u2603",
        "tuple": (1, 2.5, "x"), "list": [1, [2, [3]], {}], "empty_list": [], "empty_tuple": (),
        "int_keys": {0: "a", 5: "b"},
        "base": base,
        "transposed": base.t(),              # shares base's storage, strides (1, 4)
        "row": base[1],                      # offset 4
        "strided": base[:, ::2],             # strides (4, 2)
        "scalar": torch.tensor(3.25, dtype=torch.float64),
        "empty": torch.zeros(0, 3),
        "expanded": torch.tensor([1.0, 2.0]).expand(3, 2),  # stride 0
        "param": torch.nn.Parameter(ar(3, torch.float32, 2.0)),
    }
    for dt in DTYPES:
        name = str(dt).replace("torch.", "")
        d["dtype_" + name] = ar(5, dt, 1.5 if dt.is_floating_point else 1.0, -2.0 if dt not in (torch.bool, torch.uint8) else 0.0)
    return d


def model():
    torch.manual_seed(0)
    m = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.BatchNorm2d(3), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 5))
    with torch.no_grad():
        for i, (_, p) in enumerate(sorted(m.state_dict().items())):
            if p.is_floating_point():
                p.copy_(ar(p.numel(), p.dtype, 0.01 * (i + 1), -0.1).reshape(p.shape))
        m[1].running_var.copy_(ar(3, torch.float32, 0.25, 0.5))  # positive
    m[1].num_batches_tracked.fill_(3)
    return m


def optimizer_state():
    w = torch.nn.Parameter(ar(6, torch.float32, 0.5).reshape(2, 3))
    b = torch.nn.Parameter(ar(2, torch.float32, -1.0))
    opt = torch.optim.Adam([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.01, betas=(0.8, 0.9))
    w.grad = torch.ones(2, 3)
    b.grad = torch.full((2,), 2.0)
    opt.step()
    return opt.state_dict()


def write_safetensors(path, tensors, metadata=None):
    """A safetensors file from the format's description, with json + numpy only."""
    names = {torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16",
             torch.int32: "I32", torch.int64: "I64", torch.float16: "F16", torch.bfloat16: "BF16",
             torch.float32: "F32", torch.float64: "F64"}
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for k, t in tensors.items():
        t = t.contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[k] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


class Hostile:
    """Pickles as a call to os.system (torch.load(weights_only=False) would run it)."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def lightning_checkpoint(path):
    import pytorch_lightning as pl

    class Lit(pl.LightningModule):
        def __init__(self, hidden=4, lr=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.net = torch.nn.Sequential(torch.nn.Linear(3, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2))

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, i):
            x, y = batch
            return torch.nn.functional.mse_loss(self(x), y)

        def configure_optimizers(self):
            opt = torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
            return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)}

    torch.manual_seed(0)
    ds = torch.utils.data.TensorDataset(torch.randn(8, 3), torch.randn(8, 2))
    trainer = pl.Trainer(max_epochs=2, logger=False, enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False, accelerator="cpu")
    trainer.fit(Lit(), torch.utils.data.DataLoader(ds, batch_size=4))
    trainer.save_checkpoint(path)
    # The test compares the state_dict with this file's (written by torch.save directly).
    ck = torch.load(path, weights_only=False)
    return ck


def main():
    os.makedirs(OUT, exist_ok=True)
    major = int(torch.__version__.split(".")[0])
    tag = "torch%d" % major
    try:
        import pytorch_lightning  # noqa: F401
        have_pl = True
    except ImportError:
        have_pl = False

    if major == 1 or not have_pl:
        torch.save(values_file(), os.path.join(OUT, tag + "_values.pt"))
        m = model()
        torch.save(m.state_dict(), os.path.join(OUT, tag + "_model_state_dict.pt"))
        x = ar(2 * 2 * 4 * 4, torch.float32, 0.05, -1.0).reshape(2, 2, 4, 4)
        m.eval()
        with torch.no_grad():
            torch.save({"x": x, "y": m(x)}, os.path.join(OUT, tag + "_model_io.pt"))
        torch.save(optimizer_state(), os.path.join(OUT, tag + "_adam_state.pt"))
        torch.save({"ok": torch.zeros(2), "bad": Hostile()}, os.path.join(OUT, "hostile_os_system.pt"))
        write_safetensors(os.path.join(OUT, "numpy_written.safetensors"),
                          {"w": ar(6, torch.float32, 0.5).reshape(2, 3), "ids": ar(4, torch.int64, 1.0, -1.0),
                           "h": ar(3, torch.bfloat16, 0.25), "mask": ar(3, torch.bool), "empty": torch.zeros(0, 2),
                           "s": torch.tensor(2.5, dtype=torch.float64)},
                          metadata={"format": "pt", "note": "written with json+numpy"})
    if have_pl:
        lightning_checkpoint(os.path.join(OUT, tag + "_lightning.ckpt"))
        torch.save(values_file(), os.path.join(OUT, tag + "_values.pt"))
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
