#!/usr/bin/env bash
# Runs an example binary with the given arguments and fails if it fails (showing its output)
# or prints nothing. Under `bazel test` it runs in $TEST_TMPDIR, so what the example writes
# (lightning_logs/, data/) stays out of the runfiles tree.
set -euo pipefail
binary="$(realpath "$1")"
shift
[[ -n "${TEST_TMPDIR:-}" ]] && cd "${TEST_TMPDIR}"
rc=0
output="$("${binary}" "$@")" || rc=$?
echo "$output"
((rc == 0)) || exit "$rc"
[ -n "$output" ]
