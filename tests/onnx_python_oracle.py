"""The Python side of tests/onnx_python_oracle_test.cc: an independent check of fulgur's ONNX
exporter. Usage: python3 tests/onnx_python_oracle.py DIR

DIR/manifest.json lists models written by fulgur::onnx::export_model / export_function, and
per model a few runs: the inputs (.npy), the module's outputs and fulgur's InferenceSession's
outputs. For each model:
  (a) onnx.checker.check_model(path, full_check=True) (Debian's python3-onnx 1.12: the checker
      plus strict shape inference);
  (b) onnxruntime (CPUExecutionProvider) runs it on every run's inputs, once with all graph
      optimizations (what users get: fusions) and once with none (the ops as written);
  (c) each onnxruntime output must match the module's and our runtime's: same shape and dtype,
      float values within rtol 1e-4, atol 1e-5 (NaN where the other has NaN), others exactly.
Prints one line per model ("OK <name>: ..." or "FAIL <name>: ..."), then "ALL OK: N models";
exits 1 on any failure.
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

RTOL = 1e-4
ATOL = 1e-5


def compare(got, want):
    """'' when got (onnxruntime) matches want, else why not."""
    if got.shape != want.shape:
        return f"shape {list(got.shape)} vs {list(want.shape)}"
    if got.dtype != want.dtype:
        return f"dtype {got.dtype} vs {want.dtype}"
    if np.issubdtype(got.dtype, np.floating):
        ok = np.isclose(got, want, rtol=RTOL, atol=ATOL, equal_nan=True)
    else:
        ok = got == want
    if ok.all():
        return ""
    bad = np.argwhere(~ok)
    i = tuple(bad[0])
    return (f"{len(bad)} of {got.size} elements differ; first at {list(i)}: onnxruntime {got[i]!r}, "
            f"ours {want[i]!r}")


def max_abs_diff(a, b):
    if a.size == 0 or not np.issubdtype(a.dtype, np.floating):
        return 0.0
    with np.errstate(invalid="ignore"):
        d = np.abs(a.astype(np.float64) - b.astype(np.float64))
    return float(np.nanmax(d)) if not np.isnan(d).all() else 0.0


def dims(value_info):
    return [d.dim_param if d.HasField("dim_param") else d.dim_value
            for d in value_info.type.tensor_type.shape.dim]


def check_model(d, entry):
    path = os.path.join(d, entry["model"])
    onnx.checker.check_model(path, full_check=True)
    model = onnx.load(path)
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    input_names = [i.name for i in model.graph.input]
    output_names = [o.name for o in model.graph.output]
    sessions = {}
    for label, level in (("all", ort.GraphOptimizationLevel.ORT_ENABLE_ALL),
                         ("none", ort.GraphOptimizationLevel.ORT_DISABLE_ALL)):
        so = ort.SessionOptions()
        so.graph_optimization_level = level
        so.log_severity_level = 3
        sessions[label] = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    ort_inputs = [i.name for i in sessions["all"].get_inputs()]
    if ort_inputs != input_names:
        raise RuntimeError(f"onnxruntime's inputs {ort_inputs} are not the graph's {input_names}")
    errors = []
    worst = {"module": 0.0, "runtime": 0.0}
    shapes = []
    for r, run in enumerate(entry["runs"]):
        feed = {n: np.load(os.path.join(d, f)) for n, f in zip(input_names, run["inputs"])}
        shapes.append("x".join(str(s) for s in feed[input_names[0]].shape))
        module = [np.load(os.path.join(d, f)) for f in run["module"]]
        ours = [np.load(os.path.join(d, f)) for f in run["session"]]
        for label, sess in sessions.items():
            got = sess.run(None, feed)
            if len(got) != len(module):
                errors.append(f"run {r} ({label}): {len(got)} outputs, the module has {len(module)}")
                continue
            for o, (g, m, s) in enumerate(zip(got, module, ours)):
                for who, want in (("module", m), ("runtime", s)):
                    why = compare(g, want)
                    if why:
                        errors.append(f"run {r} (input {shapes[-1]}, optimizations {label}) output "
                                      f"'{output_names[o]}' vs our {who}: {why}")
                    else:
                        worst[who] = max(worst[who], max_abs_diff(g, want))
    if errors:
        raise RuntimeError("; ".join(errors))
    io = ", ".join(f"{i.name}{dims(i)}" for i in model.graph.input if i.name in input_names[:len(feed)])
    return (f"opset {opset}, {len(model.graph.node)} nodes, inputs {io}, shapes {' '.join(shapes)}: "
            f"max |ort - module| {worst['module']:.2e}, max |ort - runtime| {worst['runtime']:.2e}")


def main():
    d = sys.argv[1]
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, onnx {onnx.__version__}, "
          f"onnxruntime {ort.__version__} (CPUExecutionProvider; rtol {RTOL:g}, atol {ATOL:g})")
    with open(os.path.join(d, "manifest.json")) as f:
        entries = json.load(f)
    failed = 0
    for entry in entries:
        try:
            print(f"OK {entry['name']}: {check_model(d, entry)}", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported per model
            failed += 1
            print(f"FAIL {entry['name']}: {type(e).__name__}: {e}", flush=True)
    if failed:
        print(f"FAILED: {failed} of {len(entries)} models")
        return 1
    print(f"ALL OK: {len(entries)} models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
