#!/usr/bin/env python3
"""Python half of tests/trainer_checkpoint_torch_test.cc: torch.load reads a Trainer checkpoint.

    trainer_checkpoint_torch.py CKPT EXPECTED_JSON

EXPECTED_JSON (written by the C++ side): the module's state_dict (name -> shape, values),
epoch, global_step, hyper_parameters, the learning rate after the scheduler, the
ModelCheckpoint's state key. Exits non-zero with a message on the first mismatch.
"""
import json
import sys

import torch

CKPT, EXPECTED = sys.argv[1], sys.argv[2]


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


with open(EXPECTED) as f:
    exp = json.load(f)
# Lightning's training epoch loop steps non-plateau "epoch" schedulers after the epoch's last
# batch, before on_train_epoch_end (where ModelCheckpoint saves): a save at the end of epoch e
# holds a StepLR stepped e + 1 times.
exp["lr"] = exp["hyper_parameters"]["lr"] * 0.9 ** (exp["epoch"] + 1)

ck = torch.load(CKPT, weights_only=False)
check(isinstance(ck, dict), "top level is %s" % type(ck).__name__)

# state_dict: the module's tensors, same names, order, shapes and float32 values.
sd = ck["state_dict"]
check(list(sd.keys()) == [name for name, _ in exp["state_dict"]],
      "state_dict keys %s vs %s" % (list(sd.keys()), [n for n, _ in exp["state_dict"]]))
for name, (shape, values) in exp["state_dict"]:
    t = sd[name]
    check(isinstance(t, torch.Tensor) and t.dtype == torch.float32, "%s: %r" % (name, t))
    check(list(t.shape) == shape, "%s: shape %s vs %s" % (name, list(t.shape), shape))
    want = torch.tensor(values, dtype=torch.float32).reshape(shape)
    check(torch.equal(t, want), "%s: values\n%s\nvs\n%s" % (name, t, want))

# Lightning's top-level keys and plain values.
check(ck["epoch"] == exp["epoch"], "epoch %r vs %r" % (ck["epoch"], exp["epoch"]))
check(ck["global_step"] == exp["global_step"], "global_step %r" % ck["global_step"])
check(isinstance(ck["pytorch-lightning_version"], str) and ck["pytorch-lightning_version"].startswith("2."),
      "pytorch-lightning_version %r" % ck.get("pytorch-lightning_version"))
check(ck["hparams_name"] == "kwargs", "hparams_name %r" % ck.get("hparams_name"))
check(dict(ck["hyper_parameters"]) == exp["hyper_parameters"],
      "hyper_parameters %r vs %r" % (ck["hyper_parameters"], exp["hyper_parameters"]))

# optimizer_states: torch.optim.Adam's state_dict layout, loadable by a torch Adam.
opt = ck["optimizer_states"]
check(isinstance(opt, list) and len(opt) == 1, "optimizer_states %r" % type(opt))
state, groups = opt[0]["state"], opt[0]["param_groups"]
shapes = [shape for _, (shape, _) in exp["state_dict"]]
check(sorted(state.keys()) == list(range(len(shapes))), "Adam state keys %s" % list(state.keys()))
for i, shape in enumerate(shapes):
    for key in ("exp_avg", "exp_avg_sq"):
        check(list(state[i][key].shape) == shape, "state[%d][%s] shape %s vs %s" % (i, key, list(state[i][key].shape), shape))
    check(int(state[i]["step"]) == exp["global_step"], "state[%d].step %r" % (i, state[i]["step"]))
check(len(groups) == 1 and groups[0]["params"] == list(range(len(shapes))), "param_groups %r" % groups)
check(abs(groups[0]["lr"] - exp["lr"]) < 1e-12, "lr %r vs %r" % (groups[0]["lr"], exp["lr"]))
params = [torch.zeros(s, requires_grad=True) for s in shapes]
adam = torch.optim.Adam(params, lr=1.0)
adam.load_state_dict(opt[0])  # raises on a layout torch does not accept
check(abs(adam.param_groups[0]["lr"] - exp["lr"]) < 1e-12, "Adam.load_state_dict lr")

# lr_schedulers: StepLR's state_dict; torch's StepLR takes it back.
scheds = ck["lr_schedulers"]
check(isinstance(scheds, list) and len(scheds) == 1, "lr_schedulers %r" % scheds)
s = scheds[0]
check(s["step_size"] == 1 and abs(s["gamma"] - 0.9) < 1e-12, "StepLR options %r" % s)
check(s["last_epoch"] == exp["epoch"] + 1, "StepLR last_epoch %r" % s["last_epoch"])
check(abs(s["_last_lr"][0] - exp["lr"]) < 1e-12, "StepLR _last_lr %r" % s["_last_lr"])
step_lr = torch.optim.lr_scheduler.StepLR(adam, step_size=1, gamma=0.9)
step_lr.load_state_dict(s)
check(step_lr.last_epoch == exp["epoch"] + 1, "StepLR.load_state_dict last_epoch")

# loops and callbacks.
check("fit_loop" in ck["loops"], "loops keys %s" % list(ck["loops"].keys()))
fit_loop = ck["loops"]["fit_loop"]
for key in ("state_dict", "epoch_progress", "epoch_loop.state_dict", "epoch_loop.batch_progress"):
    check(key in fit_loop, "fit_loop lacks %s: %s" % (key, list(fit_loop.keys())))
check(fit_loop["epoch_progress"]["current"]["completed"] == exp["epoch"],
      "epoch_progress %r" % fit_loop["epoch_progress"])
check(list(ck["callbacks"].keys()) == [exp["checkpoint_state_key"]],
      "callbacks keys %s vs %s" % (list(ck["callbacks"].keys()), exp["checkpoint_state_key"]))
mc = ck["callbacks"][exp["checkpoint_state_key"]]
for key in ("monitor", "best_model_score", "best_model_path", "current_score", "dirpath", "best_k_models",
            "kth_best_model_path", "kth_value", "last_model_path"):
    check(key in mc, "ModelCheckpoint state lacks %s: %s" % (key, list(mc.keys())))

# weights_only=True (torch.load's safe unpickler, the default from torch 2.6). Every value here
# is a tensor or a plain Python type (no Lightning AttributeDict, no pathlib objects), so torch
# >= 2.0 accepts the file. torch 1.13's weights-only unpickler has no BINFLOAT opcode (71, 'G'):
# it refuses any pickle holding a Python float, Lightning's own checkpoints included (the
# optimizer's lr), so there the refusal is what we assert.
torch_major = int(torch.__version__.split(".")[0])
if torch_major >= 2:
    safe = torch.load(CKPT, weights_only=True)
    check(list(safe["state_dict"].keys()) == list(sd.keys()), "weights_only=True state_dict keys")
    for name in sd:
        check(torch.equal(safe["state_dict"][name], sd[name]), "weights_only=True %s" % name)
    check(safe["hyper_parameters"] == ck["hyper_parameters"], "weights_only=True hyper_parameters")
else:
    try:
        torch.load(CKPT, weights_only=True)
        fail("torch %s: weights_only=True loaded a file with floats" % torch.__version__)
    except Exception as e:  # pickle.UnpicklingError
        check("Unsupported operand 71" in str(e), "torch %s weights_only=True: %s" % (torch.__version__, e))
print("OK")
