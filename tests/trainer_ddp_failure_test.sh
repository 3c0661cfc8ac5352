#!/usr/bin/env bash
# One rank of a 2-process DDP run fails (an exception, then SIGKILL): the whole job must end
# with a non-zero status within 60 seconds instead of leaving rank 0 waiting in a collective.
# A control run without failure must succeed. Usage: trainer_ddp_failure_test.sh MPI_TEST_SH
# LSAN_SUPPRESSIONS BINARY (tools/mpi_test.sh launches the ranks).
set -uo pipefail
mpi_test="$1"
lsan="$2"
binary="$3"
failures=0

run() {  # run MODE EXPECTED(zero|nonzero) -> checks status and time
  local mode="$1" expected="$2" out start elapsed rc
  out="${TEST_TMPDIR:-/tmp}/ddp_failure_${mode}.log"
  start=$(date +%s)
  bash "${mpi_test}" 2 90 "${lsan}" "${binary}" "${mode}" >"${out}" 2>&1
  rc=$?
  elapsed=$(( $(date +%s) - start ))
  echo "mode=${mode}: exit status ${rc} after ${elapsed} s"
  if [[ "${expected}" == "zero" && ${rc} -ne 0 ]] || [[ "${expected}" == "nonzero" && ${rc} -eq 0 ]]; then
    echo "FAIL: mode=${mode} expected a ${expected} exit status"; cat "${out}"; failures=$((failures + 1))
  fi
  if [[ "${expected}" == "nonzero" && ${elapsed} -ge 60 ]]; then
    echo "FAIL: mode=${mode} took ${elapsed} s (limit 60)"; cat "${out}"; failures=$((failures + 1))
  fi
  LAST_LOG="${out}"
}

run none zero
grep -q "rank 0 finished 16 steps" "${LAST_LOG}" && grep -q "rank 1 finished 16 steps" "${LAST_LOG}" ||
  { echo "FAIL: the control run did not finish 16 steps on both ranks"; cat "${LAST_LOG}"; failures=$((failures + 1)); }

run raise nonzero
# The failing rank says why before ending the job.
grep -q "rank 1 of 2: rank 1 failed on purpose" "${LAST_LOG}" ||
  { echo "FAIL: the aborting rank did not report the exception"; cat "${LAST_LOG}"; failures=$((failures + 1)); }

run kill nonzero

if [[ ${failures} -ne 0 ]]; then echo "${failures} check(s) failed"; exit 1; fi
echo "all checks passed"
