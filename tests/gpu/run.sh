#!/usr/bin/env bash
# Everything that needs a real GPU, in one run: the tests tagged "gpu" and the GPU benchmarks,
# then a summary table. Two ways to call it:
#   bash tests/gpu/run.sh [OUT_DIR]   in a checkout: builds the package (tools/gpu_package.sh), runs it
#   bash .gpu/run.sh [OUT_DIR]        inside a package, on a GPU machine without Bazel
# Writes OUT_DIR/summary.txt, OUT_DIR/<test>.log and OUT_DIR/bench_<name>.jsonl; exits
# non-zero when a test fails. See tests/gpu/README.md.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-${OUT:-/tmp/fulgur-gpu}}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
if [ ! -f "$here/bin.tar.gz" ] && [ ! -d "$here/bin" ]; then
  root="$(cd "$here/../.." && pwd)"
  "$root/tools/gpu_package.sh" "$root/.gpu" || exit 1
  exec bash "$root/.gpu/run.sh" "$out"
fi

# ---- the binaries: gzipped in the package (tools/gpu_package.sh), unpacked into a scratch
# folder (not OUT_DIR: on the device tool that folder travels back) removed at exit ----
work="$(mktemp -d "${TMPDIR:-/tmp}/fulgur-gpu-run.XXXXXX")"
trap 'rm -rf "$work"' EXIT
bin="$here/bin"
if [ -f "$here/bin.tar.gz" ]; then
  tar -xzf "$here/bin.tar.gz" -C "$work" || { echo "run.sh: cannot unpack $here/bin.tar.gz" >&2; exit 1; }
  bin="$work/bin"
fi

# ---- CUDA libraries: the toolkit's folder, or the nvidia-* Python wheels (PyTorch's) ----
dirs=()
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/nvidia/lib64; do
  [ -d "$d" ] && dirs+=("$d")
done
for py in python3 /opt/torch/.venv/bin/python3; do
  if command -v "$py" > /dev/null 2>&1; then
    while IFS= read -r d; do [ -n "$d" ] && dirs+=("$d"); done < <("$py" - 2>/dev/null <<'PY'
import glob, os, site
roots = site.getsitepackages() + [site.getusersitepackages()]
for r in roots:
    for d in sorted(glob.glob(os.path.join(r, "nvidia", "*", "lib")) + glob.glob(os.path.join(r, "nvidia", "cu*", "lib"))):
        print(d)
PY
)
  fi
done
dirs+=("$here/lib")
# The package's other shared libraries (tools/gpu_package.sh), only those the machine lacks:
# its own (built for its glibc) win.
if [ -f "$here/lib-deps.tar.gz" ]; then
  mkdir -p "$work/lib-deps" && tar -xzf "$here/lib-deps.tar.gz" -C "$work/lib-deps"
  known="$( (/sbin/ldconfig -p || ldconfig -p) 2>/dev/null)"
  for f in "$work/lib-deps"/*; do
    grep -q "^[[:space:]]*$(basename "$f") (" <<< "$known" && rm -f "$f"
  done
  dirs+=("$work/lib-deps")
fi
# mnist_gpu_test's data (tools/gpu_package.sh), unless the caller points elsewhere.
[ -d "$here/data/FashionMNIST" ] && export FULGUR_MNIST_ROOT="${FULGUR_MNIST_ROOT:-$here/data}"
LD_LIBRARY_PATH="$(IFS=:; echo "${dirs[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
{
  echo "package: $(cat "$here/COMMIT" 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv 2>&1 || echo "nvidia-smi: not available"
  for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcudnn.so.9 libnccl.so.2 libgomp.so.1; do
    found=""
    for d in "${dirs[@]}"; do [ -e "$d/$lib" ] && { found="$d/$lib"; break; }; done
    echo "$lib: ${found:-NOT FOUND}"
  done
  # A binary that cannot load fails before its first line of output: name what is missing.
  for b in "$bin"/*; do
    missing="$(ldd "$b" 2>/dev/null | awk '/not found/{print $1}' | tr '\n' ' ')"
    [ -n "$missing" ] && echo "$(basename "$b"): missing $missing"
  done
} | tee "$out/environment.txt"

status=0
summary=()
for t in "$bin"/*_test; do
  [ -e "$t" ] || continue
  name="$(basename "$t")"
  start=$(date +%s)
  timeout "${FULGUR_GPU_TIMEOUT:-300}" "$t" --duration=false > "$out/$name.log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  if [ $rc -ne 0 ]; then
    status=1
    result="FAILED (rc $rc)"
  elif grep -q "SKIPPED (no GPU)" "$out/$name.log"; then
    result="SKIPPED (no GPU)"
  else
    result="passed"
  fi
  cases=$(grep -Eo "test cases: *[0-9]+ \| *[0-9]+ passed \| *[0-9]+ failed" "$out/$name.log" | tail -1)
  summary+=("$(printf '%-36s %-18s %4ss  %s' "$name" "$result" "$secs" "$cases")")
done
for b in "$bin"/gpu_*; do
  [ -e "$b" ] || continue
  name="$(basename "$b")"
  start=$(date +%s)
  timeout "${FULGUR_GPU_TIMEOUT:-300}" "$b" --json > "$out/bench_$name.jsonl" 2> "$out/bench_$name.err"
  rc=$?
  secs=$(( $(date +%s) - start ))
  [ $rc -ne 0 ] && status=1
  summary+=("$(printf '%-36s %-18s %4ss  %s lines' "$name" "$([ $rc -eq 0 ] && echo ran || echo "FAILED (rc $rc)")" "$secs" "$(wc -l < "$out/bench_$name.jsonl")")")
done
printf '%s\n' "${summary[@]}" | tee "$out/summary.txt"
echo "gpu run: status $status, results in $out"
exit $status
