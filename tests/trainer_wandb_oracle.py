"""Reads back, with wandb itself (0.18.7, the last release whose Python side still reads .wandb
files), the offline run fulgur's WandbLogger wrote, and compares it with what the C++ side says it
logged (tests/trainer_wandb_python_test.cc).

    python3 trainer_wandb_oracle.py expected.json

expected.json: {"run_dir", "run_id", "project", "display_name", "group", "tags": [...],
"config": {key: value} (the config after every update), "rows": [{key: value}, ...] (each
logging call's keys, without wandb's _step/_runtime/_timestamp), "step_metric", "exit_code"}.

Checks: `wandb sync --view --verbose <run_dir>` (wandb's own command, which finds the run's one
.wandb file and prints every record; no network: --view sends nothing) reads every record; then
what `wandb sync` would upload, by its own code (SyncThread._parse_pb, which holds the exit record
back until the final one, feeding wandb's SendManager) with the two network ends replaced by
recorders (the GraphQL API and the file stream; nothing else of wandb is replaced): the run's
last upsert carries the config and Lightning's x-axis (_wandb.m), the file stream gets every
history row and the summary, and the run is finished with its exit code; with
wandb's DataStore (header, LevelDB chunk framing, CRC-32 of every chunk, records cut across
blocks) every record parses as a wandb_internal_pb2.Record; the run record (id, project, name,
group, tags, start time), the config updates, Lightning's metric definitions (the step metric,
"*" against it with step_sync), every history row (values through json.loads, wandb's _step
0, 1, ..., _runtime never decreasing, _timestamp after the start), the summary (each key's last
value), and the exit record.

Prints one line per check; the last line is "ORACLE PASSED" or "ORACLE FAILED: N problem(s)"
(exit status 1). Exit status 3 and a "MISSING: ..." line when wandb is not importable.
"""

import faulthandler
import json
import math
import os
import subprocess
import sys
import tempfile
import time

faulthandler.dump_traceback_later(240, exit=True)

try:
    import wandb
    from wandb.proto import wandb_internal_pb2 as pb
    from wandb.sdk.internal import datastore
except Exception as e:  # noqa: BLE001 - any import failure means "not usable here"
    print(f"MISSING: wandb ({e})")
    sys.exit(3)

problems = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        problems.append(what)


def same(a, b):
    """Equality of JSON values, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def item_key(item):
    return "/".join(item.nested_key) if item.nested_key else item.key


def read_records(path):
    wandb._set_internal_process()  # DataStore asserts it runs in wandb's internal process
    ds = datastore.DataStore()
    ds.open_for_scan(path)
    records = []
    while True:
        data = ds.scan_data()
        if data is None:
            return records
        r = pb.Record()
        r.ParseFromString(data)
        records.append(r)


class RecordingApi:
    """Stands in for wandb's server API (there is no W&B server here): records every call."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append((name, kwargs))
            if name == "upsert_run":
                project = {"name": kwargs.get("project") or "p", "entity": {"name": "e"}}
                return {"id": "server-id", "name": kwargs.get("name"), "project": project}, True, []
            if name in ("viewer_server_info",):
                return {}, {}
            return None

        return call


class RecordingFileStream:
    """Stands in for wandb's FileStreamApi (the upload of history rows and the summary)."""

    def __init__(self):
        self.pushed, self.exit_code = {}, None

    def push(self, name, data):
        self.pushed.setdefault(name, []).append(data)

    def finish(self, exit_code):
        self.exit_code = exit_code

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def check_sender(path, want, rows_want, summary_want):
    from wandb.sdk.internal import sender
    from wandb.sync.sync import SyncThread

    os.environ.setdefault("WANDB_API_KEY", "0" * 40)
    wandb._set_internal_process(disable=True)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = os.path.join(tmp, "run")
        os.makedirs(run_dir)
        api, fs = RecordingApi(), RecordingFileStream()
        sm = sender.SendManager.setup(run_dir, resume=None)
        sm._api = api
        sm._start_run_threads = lambda file_dir=None: setattr(sm, "_fs", fs)
        thread = SyncThread([path])
        ds = datastore.DataStore()
        ds.open_for_scan(path)
        exit_pb = None
        while True:  # the loop of SyncThread.run, without its network set-up
            data = ds.scan_data()
            if data is None:
                break
            record, exit_pb, skip = thread._parse_pb(data, exit_pb)
            if skip:
                continue
            sm.send(record)
            while not sm._record_q.empty():
                sm.send(sm._record_q.get(block=True))
            if record.control.req_resp:
                sm._result_q.get(block=True)
        sm.finish()
    upserts = [k for n, k in api.calls if n == "upsert_run"]
    config = (upserts[-1].get("config") or {}) if upserts else {}
    values = {k: v["value"] for k, v in config.items() if k != "_wandb"}
    check(same(values, want["config"]), f"sender: the last upsert_run's config ({len(upserts)} upserts): "
          + json.dumps(values)[:200])
    # The metric definitions the sender would put into the config's _wandb.m (wandb 0.18.7's
    # legacy sender drops that key from the upsert itself: sender_config.to_backend_dict builds
    # its result from the tree, not from the copy it added _wandb to), as {1: name, 5: 1-based
    # index of its step metric}: the step metric, then every logged key against it.
    defs = {m[1]: m.get(5) for m in sm._config_metric_pbdict_list}
    axis = list(defs).index(want["step_metric"]) + 1 if want["step_metric"] in defs else None
    keys = sorted({k for row in rows_want for k in row if k != want["step_metric"]})
    check(axis is not None and all(defs.get(k) == axis for k in keys),
          f"sender: metric definitions {json.dumps(sm._config_metric_pbdict_list)[:300]}")
    rows = [json.loads(r) for r in fs.pushed.get("wandb-history.jsonl", [])]
    user_rows = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
    check(same(user_rows, rows_want), f"sender: {len(rows)} history rows to the file stream")
    summaries = fs.pushed.get("wandb-summary.json", [])
    last = json.loads(summaries[-1]) if summaries else {}
    check(same({k: v for k, v in last.items() if not k.startswith("_")}, summary_want),
          f"sender: the uploaded summary {json.dumps(last)[:200]}")
    check(fs.exit_code == want["exit_code"], f"sender: the file stream finished with exit code {fs.exit_code}")


def check_sync_view(run_dir, n_records):
    env = dict(os.environ, WANDB_API_KEY="0" * 40, WANDB_SILENT="true", WANDB_MODE="offline")
    with tempfile.TemporaryDirectory() as cwd:  # wandb sync writes its debug log under ./wandb
        p = subprocess.run(
            [sys.executable, "-m", "wandb", "sync", "--view", "--verbose", run_dir],
            cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
        )
    out = p.stdout + p.stderr
    shown = out.count("Record: ")
    check(p.returncode == 0 and "Skipping directory" not in out and shown == n_records,
          f"wandb sync --view --verbose: exit {p.returncode}, {shown} records shown (of {n_records})"
          + ("" if p.returncode == 0 else "\n" + out[-2000:]))


def main():
    want = json.load(open(sys.argv[1]))
    run_dir, run_id = want["run_dir"], want["run_id"]
    files = sorted(f for f in os.listdir(run_dir) if f.endswith(".wandb"))
    check(files == [f"run-{run_id}.wandb"], f"the run folder's .wandb files: {files}")
    if not files:
        return
    try:
        records = read_records(os.path.join(run_dir, files[0]))
    except AssertionError as e:  # DataStore's framing and CRC checks
        check(False, f"wandb's DataStore: {e}")
        return
    check(True, f"wandb's DataStore read {len(records)} records (header, chunks and CRCs verified)")
    check_sync_view(run_dir, len(records))

    kinds = [r.WhichOneof("record_type") for r in records]
    check(kinds[:2] == ["header", "run"] and kinds[-2:] == ["exit", "final"],
          f"first and last records: {kinds[:2]} ... {kinds[-2:]}")
    check([r.num for r in records] == list(range(1, len(records) + 1)), "record numbers 1, 2, ...")

    run = records[1].run
    check(run.run_id == run_id and run.project == want["project"], f"run {run.run_id} in project {run.project}")
    check(run.display_name == want["display_name"], f"display name {run.display_name!r}")
    check(run.run_group == want["group"] and list(run.tags) == want["tags"], f"group {run.run_group!r}, tags {list(run.tags)}")
    start = run.start_time.seconds + run.start_time.nanos / 1e9
    check(start > 1.6e9, f"start time {start}")

    config = {}
    for item in run.config.update:
        config[item_key(item)] = json.loads(item.value_json)
    for r in records:
        if r.WhichOneof("record_type") == "config":
            for item in r.config.update:
                config[item_key(item)] = json.loads(item.value_json)
    check(same(config, want["config"]), "config: " + (json.dumps(config)[:300]))

    step_metric = want["step_metric"]
    metrics = [r.metric for r in records if r.WhichOneof("record_type") == "metric"]
    defined = [(m.name, m.glob_name, m.step_metric, m.options.step_sync) for m in metrics if m.options.defined]
    check(defined == [(step_metric, "", "", False), ("", "*", step_metric, True)], f"define_metric calls: {defined}")
    derived = {m.name: m.step_metric for m in metrics if not m.options.defined}
    user_keys = sorted({k for row in want["rows"] for k in row if k != step_metric})
    check(derived == {k: step_metric for k in user_keys}, f"metrics derived from '*': {sorted(derived)}")

    rows = []
    for r in records:
        if r.WhichOneof("record_type") == "history":
            rows.append(({item_key(i): json.loads(i.value_json) for i in r.history.item}, r.history.step.num))
    check(len(rows) == len(want["rows"]), f"{len(rows)} history rows")
    last_runtime = -1.0
    for n, ((row, step), expected) in enumerate(zip(rows, want["rows"])):
        user = {k: v for k, v in row.items() if not k.startswith("_")}
        runtime = row.get("_runtime", -1.0)
        check(same(user, expected) and row.get("_step") == n == step and runtime >= max(last_runtime, 0.0)
              and start - 1 <= row.get("_timestamp", 0) <= time.time() + 1,
              f"row {n}: {json.dumps(user)}" + ("" if same(user, expected) else f" != expected {json.dumps(expected)}"))
        last_runtime = runtime

    summary = {}
    for r in records:
        if r.WhichOneof("record_type") == "summary":
            for item in r.summary.update:
                summary[item_key(item)] = json.loads(item.value_json)
    want_summary = {}
    for row in want["rows"]:
        want_summary.update(row)
    got_summary = {k: v for k, v in summary.items() if not k.startswith("_")}
    check(same(got_summary, want_summary) and summary.get("_step") == len(want["rows"]) - 1,
          f"summary: {json.dumps(got_summary)}")

    check(records[-2].exit.exit_code == want["exit_code"], f"exit code {records[-2].exit.exit_code}")
    check_sender(os.path.join(run_dir, files[0]), want, want["rows"], want_summary)


main()
if problems:
    print(f"ORACLE FAILED: {len(problems)} problem(s)")
    sys.exit(1)
print("ORACLE PASSED")
