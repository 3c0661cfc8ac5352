#!/usr/bin/env bash
# Runs a test binary on NP processes under Open MPI's mpirun (fulgur_mpi_test in
# build_defs.bzl). Usage: mpi_test.sh NP TIME_LIMIT_S LSAN_SUPPRESSIONS BINARY [ARGS...]
#
# Every rank's output is shown, each line tagged [job,rank]<stdout|stderr>. The test fails when
# any rank exits non-zero (mpirun then ends the others and reports it) or when the run exceeds
# TIME_LIMIT_S (mpirun --timeout ends every rank; `timeout` is the backstop if mpirun hangs).
set -uo pipefail

np="$1"
limit="$2"
lsan_suppressions="$3"
binary="$4"
shift 4

# Open MPI writes its session directory and the shared-memory (vader) segments under TMPDIR;
# in Bazel's sandbox the test's own TEST_TMPDIR is the writable place.
tmp="${TEST_TMPDIR:-${TMPDIR:-/tmp}}"
export TMPDIR="${tmp}"
export OMPI_MCA_orte_tmpdir_base="${tmp}"
export OMPI_MCA_btl_vader_backing_directory="${tmp}"
# Fail fast instead of retrying other transports; shared memory within the machine.
export OMPI_MCA_btl="self,vader"
# ASan builds: Open MPI's own allocations are never freed at exit (suppressed, scoped to
# libmpi/libopen-*/PMIx/hwloc; our leaks still fail the test).
if [[ -n "${lsan_suppressions}" && -f "${lsan_suppressions}" ]]; then
  export LSAN_OPTIONS="suppressions=$(realpath "${lsan_suppressions}")${LSAN_OPTIONS:+:${LSAN_OPTIONS}}"
fi
# Open MPI's libraries have no frame pointers: ASan's fast unwinder stops inside them, and
# the suppressions above never see the libmpi frame. The slow (DWARF) unwinder gets it.
if [[ -n "${ASAN_OPTIONS:-}" ]]; then
  export ASAN_OPTIONS="${ASAN_OPTIONS}:fast_unwind_on_malloc=0"
fi

echo "mpi_test.sh: mpirun -np ${np} ${binary} $* (time limit ${limit} s)"
timeout -k 10 "$((limit + 30))" \
  mpirun --allow-run-as-root --oversubscribe --tag-output --timeout "${limit}" \
  -np "${np}" "${binary}" "$@" </dev/null
rc=$?
echo "mpi_test.sh: mpirun exited with status ${rc}"
exit "${rc}"
