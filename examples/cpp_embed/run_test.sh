#!/usr/bin/env bash
# //examples:cpp_embed_test: installs fulgur into $TEST_TMPDIR/prefix (tools/install.sh with
# //:install's arguments, tools/install.bzl), builds examples/cpp_embed with CMake against that
# tree only (find_package(fulgur COMPONENTS mpi)), runs it on 2 ranks under mpirun
# (tools/mpi_test.sh) and checks:
#   (a) the surrogate learned: its 5-step rollout is at least 10x closer to the solver than
#       "nothing changes" (surrogate_rms < 0.1 * change_rms, change_rms being the solver's own
#       change over those steps: the error of predicting no change);
#   (b) both ranks end with bit-identical weights (equal param_checksum lines);
#   (c) resume is exact: 400 steps in one run, and 200 steps then --resume last.ckpt to 400,
#       give the same param_checksum and the same surrogate_rms and train_loss (all printed
#       with 17 significant digits); the resumed run really started at step 200 and optimizer
#       step 560 (20 training events x 28 minibatches: 448 training points per rank / 16);
#   and a --resume with another --grid is refused with the grid named.
# Under --config=asan libfulgur.so needs the ASan runtime: the program is then built with
# -fsanitize=address,undefined too (tests/install/install_test.sh explains why).
#
# Usage (from examples/BUILD):
#   run_test.sh <mpi_test.sh> <lsan.supp> <cpp_embed/CMakeLists.txt> <install.sh> <install arguments...>
set -euo pipefail

mpi_test="$(realpath "$1")"
lsan="$(realpath "$2")"
# The runfiles' examples/cpp_embed (symlinks to the sources; not resolved: they live in several folders).
src="$(cd "$(dirname "$3")" && pwd)"
install_sh="$(realpath "$4")"
shift 4
install_args=("$@")
tmp="${TEST_TMPDIR:?run me with bazel test}"
prefix="${tmp}/prefix"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "=== $*"; }

step "install into ${prefix}"
"${install_sh}" "${install_args[@]}" --prefix="${prefix}" >/dev/null
cd "${tmp}"  # the install arguments are relative to the runfiles

cmake_flags=(-DCMAKE_PREFIX_PATH="${prefix}" -DCMAKE_BUILD_TYPE=Release)
real_lib="$(realpath "${prefix}/lib/libfulgur.so")"
if readelf -d "${real_lib}" | grep -q 'NEEDED.*libasan'; then
  echo "libfulgur.so is an ASan build (--config=asan): building cpp_embed with -fsanitize=address,undefined"
  cmake_flags+=(-DCMAKE_CXX_FLAGS="-fsanitize=address,undefined")
fi

step "cmake -S examples/cpp_embed (find_package(fulgur REQUIRED COMPONENTS mpi))"
cmake -S "${src}" -B "${tmp}/build" "${cmake_flags[@]}" >"${tmp}/cmake.log" 2>&1 ||
  fail "cmake configure failed: $(cat "${tmp}/cmake.log")"
cmake --build "${tmp}/build" -j 2 >>"${tmp}/cmake.log" 2>&1 || fail "cmake build failed: $(cat "${tmp}/cmake.log")"
binary="${tmp}/build/cpp_embed"

# Runs the program on 2 ranks; its output goes to $1.log (and the test log).
run() {
  local name="$1"
  shift
  step "mpirun -np 2 cpp_embed $*"
  bash "${mpi_test}" 2 300 "${lsan}" "${binary}" "$@" >"${tmp}/${name}.log" 2>&1 || {
    cat "${tmp}/${name}.log"
    fail "cpp_embed $* failed"
  }
  grep 'cpp_embed:' "${tmp}/${name}.log"
}
# The value of key=... in rank R's lines of a run's output (mpirun --tag-output: "[1,R]<stdout>:").
value() {
  local name="$1" rank="$2" key="$3" v
  v="$(sed -n "s/^\[[0-9]*,${rank}\]<stdout>:cpp_embed: .*\b${key}=\([^ ]*\).*/\1/p" "${tmp}/${name}.log")"
  [[ -n "${v}" ]] || fail "${name}: rank ${rank} printed no ${key}="
  echo "${v}"
}

run full --steps 400 --checkpoint-dir "${tmp}/full_ckpt"
run half --steps 200 --checkpoint-dir "${tmp}/resumed_ckpt"
for f in last.ckpt last.ckpt.rank0.field last.ckpt.rank1.field; do
  [[ -s "${tmp}/resumed_ckpt/${f}" ]] || fail "the 200-step run wrote no ${f}"
done
run resumed --steps 400 --checkpoint-dir "${tmp}/resumed_ckpt" --resume "${tmp}/resumed_ckpt/last.ckpt"

step "checks"
# (a) learned.
rms="$(value full 0 surrogate_rms)"
change="$(value full 0 change_rms)"
awk -v r="${rms}" -v c="${change}" 'BEGIN { exit !(c > 0 && r < 0.1 * c) }' ||
  fail "the surrogate did not learn: surrogate_rms=${rms} is not below 0.1 * change_rms=${change}"
echo "(a) surrogate_rms=${rms} < 0.1 * change_rms=${change}"
# (b) the ranks agree, in every run.
for name in full half resumed; do
  c0="$(value "${name}" 0 param_checksum)"
  c1="$(value "${name}" 1 param_checksum)"
  [[ "${c0}" == "${c1}" ]] || fail "${name}: rank 0's weights (${c0}) differ from rank 1's (${c1})"
done
echo "(b) both ranks hold the same weights in every run"
# (c) resume is exact, and it did resume.
[[ "$(value resumed 0 start_step)" == 200 && "$(value resumed 0 start_global_step)" == 560 ]] ||
  fail "the resumed run did not start at step 200, optimizer step 560"
[[ "$(value half 0 param_checksum)" != "$(value full 0 param_checksum)" ]] ||
  fail "200 and 400 steps gave the same weights: the comparison below would prove nothing"
for key in param_checksum surrogate_rms change_rms train_loss global_step; do
  a="$(value full 0 "${key}")"
  b="$(value resumed 0 "${key}")"
  [[ "${a}" == "${b}" ]] || fail "resume is not exact: ${key}=${a} in one run, ${b} after --resume"
done
echo "(c) 200 steps + --resume to 400 == 400 steps: param_checksum $(value full 0 param_checksum)," \
  "surrogate_rms ${rms}"

step "a --resume with another grid is refused"
if bash "${mpi_test}" 2 120 "${lsan}" "${binary}" --steps 400 --grid 16 \
  --resume "${tmp}/resumed_ckpt/last.ckpt" >"${tmp}/bad_resume.log" 2>&1; then
  fail "--resume with --grid 16 on a --grid 32 checkpoint succeeded"
fi
grep -q "was written with --grid 32" "${tmp}/bad_resume.log" ||
  fail "--resume with another grid failed without saying why: $(cat "${tmp}/bad_resume.log")"
grep -m1 "was written with --grid 32" "${tmp}/bad_resume.log"
echo "PASS"
