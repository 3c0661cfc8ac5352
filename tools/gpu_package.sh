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
# The other shared libraries the binaries load (Open MPI, curl, protobuf, yaml-cpp, ... for the
# tests that link the whole library): GPU machines' images lack most of them. glibc, libstdc++
# and the CUDA libraries come from the machine. Packed with gzip; run.sh unpacks those the
# machine lacks.
deps_dir="$(mktemp -d)"
trap 'rm -rf "$deps_dir"' EXIT
{ ldd "$out"/bin/* 2>/dev/null || true; } | awk '/=> \//{print $3}' | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    ld-linux*|libc.so*|libm.so*|libstdc++.so*|libgcc_s.so*|libpthread.so*|libdl.so*|librt.so*|libresolv.so*) ;;
    libcuda.so*|libcudart.so*|libcublas.so*|libcublasLt.so*|libnccl.so*|libcudnn*|libgomp.so*) ;;
    *) cp -L "$lib" "$deps_dir/" ;;
  esac
done
if [ -n "$(ls -A "$deps_dir")" ]; then
  tar -C "$deps_dir" -czf "$out/lib-deps.tar.gz" .
  echo "gpu_package: $(ls "$deps_dir" | wc -l) shared libraries in lib-deps.tar.gz ($(du -k "$out/lib-deps.tar.gz" | cut -f1) KiB)"
fi
rm -rf "$deps_dir"
# Data for mnist_gpu_test: the first 12,000 Fashion-MNIST training images (what the test trains
# on) and the whole test set, from Debian's dataset-fashion-mnist, in torchvision's layout
# (about 9 MiB gzipped). run.sh points FULGUR_MNIST_ROOT at it.
fashion=/usr/share/datasets/fashion-mnist
if [ -d "$fashion" ]; then
  mkdir -p "$out/data/FashionMNIST/raw"
  python3 - "$fashion" "$out/data/FashionMNIST/raw" 12000 <<'PY'
import gzip, struct, sys
src, dst, keep = sys.argv[1], sys.argv[2], int(sys.argv[3])
for split, n in (("train", keep), ("t10k", None)):
    for kind, item in (("images-idx3", 28 * 28), ("labels-idx1", 1)):
        name = f"{split}-{kind}-ubyte.gz"
        raw = gzip.open(f"{src}/{name}").read()
        header = 16 if kind.startswith("images") else 8
        count = struct.unpack(">I", raw[4:8])[0] if n is None else min(n, struct.unpack(">I", raw[4:8])[0])
        out = raw[:4] + struct.pack(">I", count) + raw[8:header] + raw[header:header + count * item]
        with gzip.open(f"{dst}/{name}", "wb", compresslevel=9) as f:
            f.write(out)
PY
else
  echo "gpu_package: no $fashion (dataset-fashion-mnist): mnist_gpu_test will skip on the GPU machine" >&2
fi
cp tests/gpu/run.sh "$out/run.sh"
git rev-parse HEAD > "$out/COMMIT" 2>/dev/null || true
strip --strip-debug "$out"/bin/* 2>/dev/null || true
# The binaries compressed: the tests that link the whole library with its CUDA kernels for two
# architectures are 20-25 MiB each, about 83 MiB together, 16 MiB gzipped (measured on the
# fastbuild binaries, 2026-11-29). run.sh unpacks them into a scratch folder.
tar -C "$out" -cf - bin | gzip -9 > "$out/bin.tar.gz"
rm -rf "$out/bin"
size_kb=$(du -sk "$out" | cut -f1)
echo "gpu_package: ${#tests[@]} tests, ${#benches[@]} benchmarks in $out (${size_kb} KiB)"
if [ "$size_kb" -gt $((60 * 1024)) ]; then
  echo "gpu_package: $out is over 60 MiB; the device tool takes at most 64 MiB" >&2
  exit 1
fi
