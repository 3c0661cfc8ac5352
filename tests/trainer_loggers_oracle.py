"""Reads back what fulgur's TensorBoardLogger and MLFlowLogger wrote, with the real Python
packages, and compares it with what the C++ side says it logged (tests/trainer_loggers_python_test.cc).

    python3 trainer_loggers_oracle.py expected.json

expected.json: {"tensorboard": {"log_dir", "scalars": {tag: [[step, value], ...]},
"hparams": {flat key: value}, "metric_tags": [...], "texts": {tag: [[step, text], ...]}},
"mlflow": {"tracking_uri", "experiment_name", "run_id", "run_name", "status",
"params": {key: value}, "metrics": {key: [[step, value], ...]}, "tags": {key: value}}}

Checks, with tensorboard's EventAccumulator: every event file's TFRecord framing (lengths and
masked CRC32C, with tensorboard's own crc code), the file_version, every scalar (step and
float32 value), the hparams plugin records (parsed with tensorboard's HParamsPluginData, and
equal to what torch.utils.tensorboard.summary.hparams builds when torch is importable), the
text records. With mlflow.tracking.MlflowClient: the experiment, the run's status, name,
params, tags and each metric's history (steps and values).

Prints one line per check; the last line is "ORACLE PASSED" or "ORACLE FAILED: N problem(s)"
(exit status 1). Exit status 3 and a "MISSING: ..." line when a package is not importable.
"""

import faulthandler
import glob
import json
import os
import struct
import sys

# Once in a dozen runs under CI load this process never ended and the test waited for it until
# Bazel killed it (2026-11-29; not reproduced since). If it happens again, Python dumps every
# thread's stack into the output the test prints, and the run fails in 4 minutes instead,
# before the test's own Bazel timeout (medium, 5 minutes) would hide the dump.
faulthandler.dump_traceback_later(240, exit=True)

missing = []
try:
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
    from tensorboard.plugins.hparams import plugin_data_pb2
    from tensorboard.util import tensor_util
except Exception as e:  # noqa: BLE001 - any import failure means "not usable here"
    missing.append(f"tensorboard ({e})")
try:
    from mlflow.tracking import MlflowClient
except Exception as e:  # noqa: BLE001
    missing.append(f"mlflow-skinny ({e})")
if missing:
    print("MISSING: " + "; ".join(missing))
    sys.exit(3)

problems = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        problems.append(what)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def check_framing(path):
    data = open(path, "rb").read()
    at, n = 0, 0
    while at < len(data):
        if len(data) - at < 12:
            check(False, f"{os.path.basename(path)}: truncated header at byte {at}")
            return
        header = data[at : at + 8]
        (length,) = struct.unpack("<Q", header)
        (hcrc,) = struct.unpack("<I", data[at + 8 : at + 12])
        if masked_crc32c(header) != hcrc:
            check(False, f"{os.path.basename(path)}: record {n}: length CRC mismatch")
            return
        payload = data[at + 12 : at + 12 + length]
        (pcrc,) = struct.unpack("<I", data[at + 12 + length : at + 16 + length])
        if masked_crc32c(payload) != pcrc:
            check(False, f"{os.path.basename(path)}: record {n}: payload CRC mismatch")
            return
        at += 16 + length
        n += 1
    check(True, f"{os.path.basename(path)}: {n} records, lengths and CRCs verified")


def check_tensorboard(tb):
    files = sorted(glob.glob(os.path.join(tb["log_dir"], "events.out.tfevents.*")))
    check(len(files) >= 1, f"event files in {tb['log_dir']}: {len(files)}")
    for f in files:
        check_framing(f)
    acc = ea.EventAccumulator(tb["log_dir"], size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
    acc.Reload()
    check(acc.file_version == 2.0, f"file_version {acc.file_version}")
    tags = acc.Tags()
    check(sorted(tags["scalars"]) == sorted(tb["scalars"]), f"scalar tags {sorted(tags['scalars'])}")
    for tag, points in tb["scalars"].items():
        got = [(e.step, e.value) for e in acc.Scalars(tag)] if tag in tags["scalars"] else []
        want = [(int(s), f32(v)) for s, v in points]
        check(got == want, f"scalar {tag}: {got}" + ("" if got == want else f" != expected {want}"))

    content = acc.PluginTagToContent("hparams")
    check(
        sorted(content) == ["_hparams_/experiment", "_hparams_/session_end_info", "_hparams_/session_start_info"],
        f"hparams plugin tags {sorted(content)}",
    )
    parsed = {}
    for tag, raw in content.items():
        d = plugin_data_pb2.HParamsPluginData()
        d.ParseFromString(raw)
        parsed[tag] = d
    exp = parsed["_hparams_/experiment"].experiment
    ssi = parsed["_hparams_/session_start_info"].session_start_info
    sei = parsed["_hparams_/session_end_info"].session_end_info
    want = tb["hparams"]
    got = {}
    for k, v in ssi.hparams.items():
        got[k] = v.number_value if v.WhichOneof("kind") == "number_value" else v.string_value
    want_values = {k: (float(v) if isinstance(v, (bool, int, float)) else v) for k, v in want.items()}
    check(got == want_values, f"session_start_info hparams {got}")
    types = {h.name: h.type for h in exp.hparam_infos}
    want_types = {k: (1 if isinstance(v, str) else 3) for k, v in want.items()}  # STRING 1, FLOAT64 3
    check(types == want_types, f"experiment hparam_infos types {types}")
    metric_tags = [m.name.tag for m in exp.metric_infos]
    check(metric_tags == tb["metric_tags"], f"experiment metric_infos {metric_tags}")
    check(sei.status == 1, f"session_end_info status {sei.status} (1 = STATUS_SUCCESS)")
    try:
        from torch.utils.tensorboard.summary import hparams as torch_hparams
    except Exception:  # noqa: BLE001
        print("note torch not importable: no byte-level comparison with torch.utils.tensorboard")
    else:
        t_exp, t_ssi, t_sei = torch_hparams(want, {t: -1 for t in tb["metric_tags"]})
        for tag, summary in (
            ("_hparams_/experiment", t_exp),
            ("_hparams_/session_start_info", t_ssi),
            ("_hparams_/session_end_info", t_sei),
        ):
            ref = plugin_data_pb2.HParamsPluginData()
            ref.ParseFromString(summary.value[0].metadata.plugin_data.content)
            check(summary.value[0].tag == tag and ref == parsed[tag], f"{tag} equals torch's summary.hparams")

    text_plugin = acc.PluginTagToContent("text") if tb["texts"] else {}
    for tag, points in tb["texts"].items():
        full = tag + "/text_summary"
        check(full in text_plugin, f"text plugin tag {full}")
        events = acc.Tensors(full) if full in tags.get("tensors", []) else []
        got = [(e.step, tensor_util.make_ndarray(e.tensor_proto).tolist()) for e in events]
        want_t = [(int(s), [t.encode()]) for s, t in points]
        check(got == want_t, f"text {full}: {got}")


def check_mlflow(m):
    client = MlflowClient(m["tracking_uri"])
    exp = client.get_experiment_by_name(m["experiment_name"])
    check(exp is not None and exp.lifecycle_stage == "active", f"experiment {m['experiment_name']}")
    run = client.get_run(m["run_id"])
    check(run.info.experiment_id == exp.experiment_id, f"run in experiment {run.info.experiment_id}")
    check(run.info.status == m["status"], f"run status {run.info.status}")
    check(run.info.run_name == m["run_name"], f"run name {run.info.run_name}")
    check(run.info.end_time is not None and run.info.end_time >= run.info.start_time, "run start/end times")
    check(run.data.params == m["params"], f"params {run.data.params}")
    for k, v in m["tags"].items():
        check(run.data.tags.get(k) == v, f"tag {k} = {run.data.tags.get(k)!r}")
    check(sorted(run.data.metrics) == sorted(m["metrics"]), f"metric keys {sorted(run.data.metrics)}")
    for key, points in m["metrics"].items():
        history = client.get_metric_history(m["run_id"], key)
        got = [(h.step, h.value) for h in history]
        want = [(int(s), float(v)) for s, v in points]
        check(got == want, f"metric {key}: {got}" + ("" if got == want else f" != expected {want}"))
    runs = client.search_runs([exp.experiment_id])
    check(m["run_id"] in [r.info.run_id for r in runs], "search_runs finds the run")


def main():
    expected = json.load(open(sys.argv[1]))
    for section, checker in (("tensorboard", check_tensorboard), ("mlflow", check_mlflow)):
        if section not in expected:
            continue
        try:
            checker(expected[section])
        except Exception as e:  # noqa: BLE001 - a read that breaks is a failed check, not a crash
            check(False, f"{section}: reading back raised {type(e).__name__}: {e}")
    if problems:
        print(f"ORACLE FAILED: {len(problems)} problem(s)")
        return 1
    print("ORACLE PASSED")
    return 0


if __name__ == "__main__":
    code = main()
    # Straight out: the verdict is printed, and the libraries' exit handlers and threads (torch,
    # tensorboard, mlflow) have nothing left to do; waiting on them is one way a run can hang.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
