"""wandb's own cost per logging call, for bench/logger_overhead.cc's "wandb" row: an offline run
(wandb.init(mode="offline"), as Lightning's WandbLogger(offline=True) makes it) with Lightning's
metric definitions, then run.log of the same five metrics plus trainer/global_step, timed per
call; the median of 7 rounds of 2000 calls. run.log hands the row to wandb's service process,
which writes it; the time after the last call until run.finish() returns is reported apart.

    <python with wandb==0.18.7> bench/logger_overhead_wandb.py [--json]
"""

import json
import os
import statistics
import sys
import tempfile
import time

import wandb

CALLS, ROUNDS = 2000, 7
os.environ["WANDB_SILENT"] = "true"
per_call, drain = [], []
with tempfile.TemporaryDirectory() as root:
    for r in range(ROUNDS):
        run = wandb.init(project="bench", dir=root, mode="offline", config={"lr": 1e-3, "batch_size": 64})
        run.define_metric("trainer/global_step")
        run.define_metric("*", step_metric="trainer/global_step", step_sync=True)
        start = time.perf_counter()
        for i in range(CALLS):
            x = 1.0 / (i + 1)
            run.log({"train_loss": x, "train_acc": 1 - x, "lr": 1e-3, "grad_norm": 2 * x, "epoch": i // 500,
                     "trainer/global_step": i})
        logged = time.perf_counter()
        run.finish()
        per_call.append((logged - start) / CALLS * 1e6)
        drain.append(time.perf_counter() - logged)
result = {"bench": "logger_overhead_wandb", "wandb_version": wandb.__version__, "calls": CALLS, "rounds": ROUNDS,
          "run_log_us": round(statistics.median(per_call), 2), "finish_s": round(statistics.median(drain), 3)}
if "--json" in sys.argv:
    print(json.dumps(result))
else:
    print(f"wandb {wandb.__version__} offline run.log: {result['run_log_us']} us per call "
          f"(median of {ROUNDS} rounds of {CALLS}); run.finish() after the last call: {result['finish_s']} s")
