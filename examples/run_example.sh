#!/usr/bin/env bash
# Runs an example binary with the given arguments and fails if it fails (showing its output)
# or prints nothing.
set -euo pipefail
rc=0
output="$("$@")" || rc=$?
echo "$output"
((rc == 0)) || exit "$rc"
[ -n "$output" ]
