#!/usr/bin/env bash
# //examples:fortran_surrogate_test: the Fortran example as its users build it. Installs fulgur
# into $TEST_TMPDIR/prefix (tools/install.sh, the arguments of //:install), builds
# heat_surrogate with its Makefile and Open MPI's mpif90 against that tree only, then runs it
# on 2 ranks (tools/mpi_test.sh) three times and checks:
#   1. an uninterrupted run of 200 steps: the surrogate learned (its last val_loss, measured on
#      fields it had not seen, is 1000x below the first; its 20-step rollout is 3x closer to
#      the solver than leaving the field unchanged), both ranks hold the same surrogate (DDP),
#      and the Trainer wrote its metrics and one best checkpoint (save_top_k 1);
#   2. 100 steps, then --resume to 200: the same surrogate, val_loss and rollout, bit for bit
#      (printed with 17 significant digits, compared as text);
#   3. --resume with no state to resume from: a message and a non-zero exit.
# Under --config=asan libfulgur.so needs the ASan runtime first: the program is then built
# with -fsanitize=address,undefined (as tests/install/install_test.sh does for its consumers).
#
# Usage (from BUILD): run_test.sh <install.sh> <mpi_test.sh> <lsan.supp> <Makefile> <install args...>
set -euo pipefail

install_sh="$1" mpi_test="$(realpath "$2")" lsan="$(realpath "$3")" makefile="$(realpath "$4")"
shift 4
tmp="${TEST_TMPDIR:?run me with bazel test}"
prefix="${tmp}/prefix"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

"${install_sh}" "$@" --prefix="${prefix}"
fflags="-O2"
if readelf -d "${prefix}"/lib/libfulgur.so.*.*.* | grep -q 'NEEDED.*libasan'; then
  echo "libfulgur.so is an ASan build: building heat_surrogate with -fsanitize=address,undefined"
  fflags="-O1 -fsanitize=address,undefined"
  # libgfortran's formatted output strndup()s the format string past its end (a read ASan's
  # strict_string_checks reports in libgfortran, not in this program or fulgur).
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:strict_string_checks=0"
fi
mkdir -p "${tmp}/build"
cd "${tmp}/build"
make -f "${makefile}" FULGUR_PREFIX="${prefix}" FFLAGS="${fflags}"

# run NAME ARGS...: 2 ranks, output (mpirun's [job,rank] tags removed) in NAME.log.
run() {
  local name="$1"
  shift
  bash "${mpi_test}" 2 300 "${lsan}" ./heat_surrogate "$@" >"${name}.log" 2>&1 || {
    cat "${name}.log"
    fail "heat_surrogate $* exited with an error"
  }
  sed -i -E 's/^\[[0-9]+,[0-9]+\]<std(out|err)>: ?//' "${name}.log"
  cat "${name}.log"
}
# field NAME KEY: the value after KEY on the summary line.
field() { awk -v key="$2" '$1 == "summary" { for (i = 2; i < NF; ++i) if ($i == key) print $(i + 1) }' "$1.log"; }
checksum() { awk -v rank="$2" '$1 == "checksum" && $2 == rank { print $3 }' "$1.log"; }
# less A B: A < B as numbers.
less() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

echo "=== 1. 200 steps in one run"
mkdir -p full
run full --out full --steps 200 --train-every 10
[[ "$(field full rounds)" == "20" ]] || fail "expected 20 training rounds, the summary says '$(field full rounds)'"
first="$(field full first_val_loss)" last="$(field full last_val_loss)"
less "${last}" "$(awk -v f="${first}" 'BEGIN { print f / 1000 }')" ||
  fail "the surrogate did not learn: val_loss ${first} -> ${last} (expected a 1000x drop)"
rollout="$(field full rollout_rel_rms)" persistence="$(field full persistence_rel_rms)"
less "${rollout}" "$(awk -v p="${persistence}" 'BEGIN { print p / 3 }')" ||
  fail "the surrogate's rollout (relative RMS ${rollout}) is not 3x better than persistence (${persistence})"
c0="$(checksum full 0)" c1="$(checksum full 1)"
[[ -n "${c0}" && "${c0}" == "${c1}" ]] || fail "the ranks hold different surrogates: checksums '${c0}' and '${c1}'"
metrics="full/lightning_logs/version_0/metrics.csv"
[[ -f "${metrics}" ]] || fail "the CSVLogger wrote no ${metrics}"
head -1 "${metrics}" | grep -q 'train_loss_step' || fail "${metrics} has no train_loss_step column: $(head -1 "${metrics}")"
head -1 "${metrics}" | grep -q 'val_loss' || fail "${metrics} has no val_loss column: $(head -1 "${metrics}")"
best=(full/checkpoints/*.ckpt)
((${#best[@]} == 1)) || fail "expected one best checkpoint (save_top_k 1), found: ${best[*]}"
[[ -f full/resume.ckpt && -f full/state_rank0.bin && -f full/state_rank1.bin ]] ||
  fail "the resume files are missing: $(ls full)"
echo "learned: val_loss ${first} -> ${last}; rollout ${rollout} vs persistence ${persistence}; checksum ${c0}"

echo "=== 2. 100 steps, then --resume to 200"
mkdir -p split
run half --out split --steps 100 --train-every 10
run resumed --out split --steps 200 --train-every 10 --resume
[[ "$(field resumed rounds)" == "10" ]] || fail "the resumed run should train 10 rounds, it says '$(field resumed rounds)'"
for key in last_val_loss rollout_rel_rms persistence_rel_rms; do
  [[ "$(field resumed "${key}")" == "$(field full "${key}")" ]] ||
    fail "resumed ${key} $(field resumed "${key}") != uninterrupted $(field full "${key}")"
done
for rank in 0 1; do
  [[ "$(checksum resumed "${rank}")" == "${c0}" ]] ||
    fail "rank ${rank}: the resumed surrogate's checksum $(checksum resumed "${rank}") != uninterrupted ${c0}"
done
echo "resumed bit for bit: checksum ${c0}"

echo "=== 3. --resume with nothing to resume"
mkdir -p empty
if bash "${mpi_test}" 2 120 "${lsan}" ./heat_surrogate --out empty --resume >empty.log 2>&1; then
  cat empty.log
  fail "--resume without a state file succeeded"
fi
grep -q 'cannot open empty/state_rank' empty.log || { cat empty.log; fail "no message naming the missing state file"; }
echo "refused: $(grep -m1 'cannot open' empty.log)"
echo "PASS"
