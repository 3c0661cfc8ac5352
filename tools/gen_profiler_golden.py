#!/usr/bin/env python3
"""Golden profiler reports for tests/trainer_profiler_test.cc, made by Lightning's SimpleProfiler.

pytorch-lightning 2.2.5 is the last release that runs on Debian's PyTorch 1.13; its Trainer names
and calls the profiled actions as Lightning 2.5's does (the same _call_*_hook sites; 2.5 adds only
the datamodule's on_exception, and the "save_checkpoint" action around Trainer.save_checkpoint,
which the test adds once per checkpoint saved). It goes into a venv on top of Debian's torch:

    /usr/bin/python3 -m venv --system-site-packages /tmp/plvenv && \\
        /tmp/plvenv/bin/pip install --no-deps pytorch-lightning==2.2.5 torchmetrics==1.4.0 \\
        lightning-utilities==0.11.2 packaging typing_extensions fsspec pyyaml tqdm

then, from the repository root:

    /tmp/plvenv/bin/python tools/gen_profiler_golden.py

It writes tests/golden/profiler_golden.inc: for each scenario (the same module, data and Trainer
options as the C++ test), the report file of every stage, as (stage, action, number of calls) in
the report's row order, plus the table's header line. Durations are not golden: they are this
machine's times. Debian's torch 1.13 fails to import torch.distributed._shard on Python 3.11
(a dataclass default), which LightningModule.__init__ reaches only for sharded tensors: that
registration is skipped.
"""
import os
import shutil
import tempfile

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint
from pytorch_lightning.profilers import SimpleProfiler
from torch.utils.data import DataLoader, TensorDataset

pl.LightningModule._register_sharded_tensor_state_dict_hooks_if_available = lambda self: None


def dataset(n):
    g = torch.Generator().manual_seed(n)
    return TensorDataset(torch.randn(n, 3, generator=g), torch.randn(n, 1, generator=g))


class LitProf(pl.LightningModule):
    def __init__(self, manual=False):
        super().__init__()
        self.layer = torch.nn.Linear(3, 1)
        self.automatic_optimization = not manual

    def forward(self, x):
        return self.layer(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("loss", loss)
        if not self.automatic_optimization:
            opt = self.optimizers()
            opt.zero_grad()
            self.manual_backward(loss)
            opt.step()
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test_loss", torch.nn.functional.mse_loss(self(x), y))

    def predict_step(self, batch, batch_idx):
        return self(batch[0])

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1)
        if not self.automatic_optimization:
            return opt
        return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt, step_size=1)}


class ProfData(pl.LightningDataModule):
    def train_dataloader(self):
        return DataLoader(dataset(8), batch_size=2)

    def val_dataloader(self):
        return DataLoader(dataset(8), batch_size=4)

    def test_dataloader(self):
        return DataLoader(dataset(6), batch_size=2)

    def predict_dataloader(self):
        return DataLoader(dataset(6), batch_size=3)


def read_report(path):
    rows, header = [], None
    with open(path) as f:
        lines = f.read().split("\n")
    for line in lines:
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == "Action":
            header = line
        elif cells[0] != "Total":
            rows.append((cells[0], int(cells[2])))
    return header, rows


def scenario_plain(root):
    """fit (2 epochs, sanity check) then validate; no callbacks; loaders passed in."""
    profiler = SimpleProfiler(dirpath=root, filename="perf")
    trainer = pl.Trainer(max_epochs=2, profiler=profiler, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    model = LitProf()
    trainer.fit(model, DataLoader(dataset(8), batch_size=2), DataLoader(dataset(8), batch_size=4))
    trainer.validate(model, DataLoader(dataset(8), batch_size=4), verbose=False)
    return ["fit", "validate"]


def scenario_full(root):
    """A datamodule, ModelCheckpoint + EarlyStopping + progress bar + summary, accumulation, a
    scheduler; fit, test, predict."""
    profiler = SimpleProfiler(dirpath=root, filename="perf")
    trainer = pl.Trainer(max_epochs=2, profiler=profiler, logger=False, default_root_dir=root,
                         callbacks=[ModelCheckpoint(dirpath=os.path.join(root, "ckpt"), monitor="val_loss"),
                                    EarlyStopping(monitor="val_loss", patience=5)],
                         accumulate_grad_batches=2, accelerator="cpu")
    model, data = LitProf(), ProfData()
    trainer.fit(model, datamodule=data)
    trainer.test(model, datamodule=data, verbose=False)
    trainer.predict(model, datamodule=data)
    return ["fit", "test", "predict"]


def scenario_manual(root):
    """Manual optimization, 1 epoch of 4 batches, no validation."""
    profiler = SimpleProfiler(dirpath=root, filename="perf")
    trainer = pl.Trainer(max_epochs=1, profiler=profiler, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
                         limit_val_batches=0)
    trainer.fit(LitProf(manual=True), DataLoader(dataset(8), batch_size=2))
    return ["fit"]


def main():
    out = ["// Generated by tools/gen_profiler_golden.py (pytorch-lightning 2.2.5, SimpleProfiler); do not edit.",
           "// Per scenario and stage: the report's header line and its rows (action, calls), in order.", ""]
    for fn in (scenario_plain, scenario_full, scenario_manual):
        root = tempfile.mkdtemp()
        try:
            torch.manual_seed(0)
            stages = fn(root)
            for stage in stages:
                header, rows = read_report(os.path.join(root, f"{stage}-perf.txt"))
                name = fn.__name__.replace("scenario_", "")
                out.append(f'{{"{name}", "{stage}", R"({header})", {{')
                out += [f'  {{"{a}", {n}}},' for a, n in rows]
                out.append("}},")
        finally:
            shutil.rmtree(root)
    with open("tests/golden/profiler_golden.inc", "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
