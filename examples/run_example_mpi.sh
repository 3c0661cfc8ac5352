#!/usr/bin/env bash
# Runs an example on 2 processes with mpirun (tools/mpi_test.sh) in $TEST_TMPDIR, then checks
# that the ranks wrote one run folder between them (lightning_logs/version_0 only).
# Usage: run_example_mpi.sh MPI_TEST_SH LSAN_SUPPRESSIONS BINARY [ARGS...]
set -uo pipefail
mpi_test="$(realpath "$1")"
lsan="$(realpath "$2")"
binary="$(realpath "$3")"
shift 3
cd "${TEST_TMPDIR:-$(mktemp -d)}"
bash "${mpi_test}" 2 600 "${lsan}" "${binary}" "$@" || exit 1
versions="$(ls lightning_logs)"
echo "lightning_logs: ${versions//$'\n'/ }"
[[ "${versions}" == "version_0" ]] || { echo "FAIL: expected exactly one run folder (version_0)"; exit 1; }
