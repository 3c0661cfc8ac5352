#!/usr/bin/env bash
# Everything that needs a real GPU, in one run: the tests tagged "gpu" and the benchmarks
# (figures go to docs/PERFORMANCE.md). Usage, from the repository root on a GPU machine:
#   bash tests/gpu/run.sh [OUT_DIR]
# Writes OUT_DIR/gpu_tests.log and OUT_DIR/bench_*.jsonl; exits non-zero on a failure.
set -uo pipefail
out="${1:-${OUT:-/tmp/fulgur-gpu}}"
mkdir -p "$out"
cd "$(dirname "$0")/../.."
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
status=0
./bazelw test --test_tag_filters=gpu --test_output=all //... > "$out/gpu_tests.log" 2>&1 || status=1
./bazelw run -c opt //bench:tensor_ops -- --json > "$out/bench_tensor_ops.jsonl" 2>> "$out/gpu_tests.log" || status=1
tail -n 20 "$out/gpu_tests.log"
echo "gpu run: status $status, results in $out"
exit $status
