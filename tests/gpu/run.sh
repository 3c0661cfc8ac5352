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

# ---- the runs, in phases under one deadline (FULGUR_GPU_BUDGET seconds, default 420:
# borrowed GPU time is short, so the run must end, pack and report on its own before the
# caller's limit kills it):
#   1. the tests except mnist_gpu_test, all at once (correctness only, one GPU is enough);
#   2. the benchmarks, one at a time with the GPU to themselves;
#   3. mnist_gpu_test alone, since it prints seconds per epoch;
#   4. Nsight Compute on the wgmma GEMM, if ncu is there and time is left.
# Logs go to a scratch folder and come back packed (OUT_DIR/logs.tgz): the device tool returns
# at most 8 files. ----
budget="${FULGUR_GPU_BUDGET:-420}"
# FULGUR_GPU_PHASES picks phases by name (default all): e.g. "ncu" alone re-profiles the GEMM
# without re-running the tests.
phases=" ${FULGUR_GPU_PHASES:-tests bench mnist ncu} "
has_phase() { [[ "$phases" == *" $1 "* ]]; }
t0=$(date +%s)
logs="$work/logs"
mkdir -p "$logs"
remaining() { echo $(( budget - ($(date +%s) - t0) - 15 )); }  # 15 s kept for packing
# cap_for CAP: the seconds a step may take: its cap, or what is left of the budget.
cap_for() { local left; left=$(remaining); (( left < $1 )) && echo "$left" || echo "$1"; }

status=0
summary=()
# Line-buffered output, so that a binary killed at its cap still leaves its last lines.
linebuf=(); command -v stdbuf > /dev/null 2>&1 && linebuf=(stdbuf -oL -eL)
run_test() {  # name cap -> writes $logs/name.log and $logs/name.rc
  local name="$1" cap="$2" start rc
  start=$(date +%s)
  timeout -k 5 "$cap" "${linebuf[@]}" "$bin/$name" --duration=true > "$logs/$name.log" 2>&1
  rc=$?
  echo "$rc $(( $(date +%s) - start ))" > "$logs/$name.rc"
}
record_test() {
  local name="$1" rc secs result cases
  if [ -f "$logs/$name.rc" ]; then read -r rc secs < "$logs/$name.rc"; else rc="not run"; secs=0; fi
  if [ "$rc" = "not run" ]; then
    status=1; result="NOT RUN (budget)"
  elif [ "$rc" -ne 0 ]; then
    status=1; result="FAILED (rc $rc)"; [ "$rc" -ge 124 ] && result="TIMED OUT (rc $rc)"
  elif grep -q "SKIPPED (no GPU)" "$logs/$name.log"; then
    result="SKIPPED (no GPU)"
  else
    result="passed"
  fi
  cases=$(grep -Eo "test cases: *[0-9]+ \| *[0-9]+ passed \| *[0-9]+ failed" "$logs/$name.log" 2>/dev/null | tail -1)
  summary+=("$(printf '%-36s %-18s %4ss  %s' "$name" "$result" "$secs" "$cases")")
}

tests=()
for t in "$bin"/*_test; do [ -e "$t" ] && tests+=("$(basename "$t")"); done
# Phase 0, beside phase 1 (CPU only): the GEMM kernels' machine code. Per kernel, its tensor-core
# instructions (HGMMA = wgmma, HMMA = mma.sync) and local-memory traffic (LDL/STL = spills or a
# register array indexed at run time), read with cuobjdump where the machine has it.
objdump="$(command -v cuobjdump || ls /usr/local/cuda/bin/cuobjdump 2>/dev/null)"
if [ -n "$objdump" ] && [ -e "$bin/gpu_gemm" ]; then
  ( timeout 90 "$objdump" --dump-sass "$bin/gpu_gemm" 2>&1 | awk '
      /Function :/ { name = $3 }
      /arch = / { arch = $0; sub(/.*arch = /, "", arch) }
      name ~ /gemm/ && /HGMMA/ { h[arch " " name]++ }
      name ~ /gemm/ && /HMMA/ { m[arch " " name]++ }
      name ~ /gemm/ && /(LDL|STL)/ { l[arch " " name]++ }
      name ~ /gemm/ { seen[arch " " name] = 1 }
      END { for (k in seen) printf "%s HGMMA=%d HMMA=%d LDL/STL=%d\n", k, h[k], m[k], l[k] }' \
    | sort > "$logs/sass_gemm.txt" ) &
fi
# Phase 1. The GEMM test gets a shorter cap: a deadlocked wgmma pipeline hangs rather than fails.
for name in "${tests[@]}"; do
  has_phase tests || break
  [ "$name" = mnist_gpu_test ] && continue
  cap=180; [ "$name" = cuda_gemm_gpu_test ] && cap=120
  run_test "$name" "$(cap_for $cap)" &
done
wait
# Phase 2. If the wgmma test hung, the benchmark leaves its rows out rather than hang too.
bench_env=()
if [ -f "$logs/cuda_gemm_gpu_test.rc" ] && [ "$(cut -d' ' -f1 "$logs/cuda_gemm_gpu_test.rc")" -ge 124 ]; then
  bench_env=(FULGUR_BENCH_SKIP_WGMMA=1)
fi
for b in "$bin"/gpu_*; do
  has_phase bench || break
  [ -e "$b" ] || continue
  name="$(basename "$b")"
  cap=$(cap_for 120)
  if (( cap < 10 )); then summary+=("$(printf '%-36s %-18s' "$name" "NOT RUN (budget)")"); status=1; continue; fi
  start=$(date +%s)
  env "${bench_env[@]}" timeout -k 5 "$cap" "${linebuf[@]}" "$b" --json > "$logs/bench_$name.jsonl" 2> "$logs/bench_$name.err"
  rc=$?
  secs=$(( $(date +%s) - start ))
  [ $rc -ne 0 ] && status=1
  summary+=("$(printf '%-36s %-18s %4ss  %s lines' "$name" "$([ $rc -eq 0 ] && echo ran || echo "FAILED (rc $rc)")" "$secs" "$(wc -l < "$logs/bench_$name.jsonl")")")
done
# Phase 3.
if has_phase mnist && [ -e "$bin/mnist_gpu_test" ]; then
  cap=$(cap_for 300)
  (( cap >= 10 )) && run_test mnist_gpu_test "$cap"
fi
# Phase 4, while the budget lasts: Nsight Compute on one launch of each wgmma tile width and of
# cuBLAS's own Hopper kernel for the same shape (the 128 x 256 tile ran at 38-54% of cuBLAS and
# the 128 x 128 one at 63-77%; these sections say whether each waits on memory, on its barriers or
# on the tensor cores). ncu names kernels demangled, "gemm_wgmma_kernel<(int)256, ...", hence the
# dots in the patterns. ncu works on some of the borrowed machines only.
if has_phase ncu && command -v ncu > /dev/null 2>&1 && [ -e "$bin/gpu_gemm" ]; then
  for kernel in "gemm_wgmma_kernel<.int.256," "gemm_wgmma_kernel<.int.128," "nvjet_sm90"; do
    cap=$(cap_for 90)
    (( cap < 45 )) && break
    name="$(echo "$kernel" | tr -c 'a-z0-9_\n' '_' | sed 's/_*$//')"
    # Clocks left as found (--clock-control none: METHOD.md), and the stall reasons per issued
    # instruction, which say what the warps wait for.
    timeout -k 5 "$cap" ncu --clock-control none --kernel-name-base demangled -k "regex:$kernel" -c 1 \
      --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats \
      --section SchedulerStats --section Occupancy --section ComputeWorkloadAnalysis \
      --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio" \
      "$bin/gpu_gemm" --json > "$logs/ncu_$name.txt" 2>&1
    summary+=("$(printf '%-36s %-18s' "ncu $kernel" "rc $?")")
  done
fi
for name in "${tests[@]}"; do
  [ "$name" = mnist_gpu_test ] && continue
  has_phase tests && record_test "$name"
done
has_phase mnist && record_test mnist_gpu_test

cp "$out/environment.txt" "$logs/" 2>/dev/null
printf '%s\n' "${summary[@]}" | tee "$out/summary.txt" > "$logs/summary.txt"
tar -C "$logs" -czf "$out/logs.tgz" .
# What the caller sees first (the device tool keeps the last 12,000 characters): failures,
# the per-epoch lines, then every benchmark row.
for f in "$logs"/*.log; do
  grep -E "ERROR|FATAL|error:|SIGSEGV|NOT verified|SKIPPED|test accuracy" "$f" 2>/dev/null | head -8 | sed "s|^|$(basename "$f" .log): |"
done
cut -c1-220 "$logs/sass_gemm.txt" 2>/dev/null | head -40
cat "$logs"/bench_*.err 2>/dev/null | head -20
cat "$logs"/bench_*.jsonl 2>/dev/null
printf '%s\n' "${summary[@]}"
echo "gpu run: status $status in $(( $(date +%s) - t0 ))s, results in $out (logs.tgz)"
exit $status
