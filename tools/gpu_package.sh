#!/usr/bin/env bash
# Builds everything that needs a real GPU (the tests tagged "gpu" and the GPU benchmarks) for a
# baseline x86-64 CPU (--config=portable) and packs the binaries with tests/gpu/run.sh into one
# folder (default .gpu/, ignored by git), small enough to send to a GPU machine that has no
# Bazel and no network (the device tool sends at most 64 MiB). There:  bash .gpu/run.sh OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.gpu}"
mapfile -t tests < <(./bazelw query --noshow_progress 'attr(tags, "\bgpu\b", tests(//...))' 2>/dev/null)
mapfile -t benches < <(./bazelw query --noshow_progress 'filter("^//bench:gpu_", kind(cc_binary, //bench:*))' 2>/dev/null)
if [ "${#tests[@]}" -eq 0 ]; then
  echo "gpu_package: no test tagged gpu found" >&2
  exit 1
fi
# sm_80 for the mma.sync paths on A100-class cards, sm_90a for Hopper (wgmma); PTX is not
# embedded, so an unknown GPU fails loudly instead of JIT-compiling slow code.
./bazelw build --config=portable --//third_party/cuda:archs=sm_80,sm_90a "${tests[@]}" "${benches[@]}"
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib"
for t in "${tests[@]}" "${benches[@]}"; do
  path="bazel-bin/$(echo "${t#//}" | tr ':' '/')"
  cp "$path" "$out/bin/"
done
# The GPU machine's image may lack the OpenMP runtime the binaries link; ship Debian's as a
# fallback (run.sh puts it last on the library path).
gomp="$(gcc -print-file-name=libgomp.so.1)"
[ -f "$gomp" ] && cp -L "$gomp" "$out/lib/"
cp tests/gpu/run.sh "$out/run.sh"
git rev-parse HEAD > "$out/COMMIT" 2>/dev/null || true
strip --strip-debug "$out"/bin/* 2>/dev/null || true
size_kb=$(du -sk "$out" | cut -f1)
echo "gpu_package: ${#tests[@]} tests, ${#benches[@]} benchmarks in $out (${size_kb} KiB)"
if [ "$size_kb" -gt $((60 * 1024)) ]; then
  echo "gpu_package: $out is over 60 MiB; the device tool takes at most 64 MiB" >&2
  exit 1
fi
