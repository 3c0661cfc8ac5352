#!/usr/bin/env bash
# Runs an example binary with the given arguments and fails if it fails or prints nothing.
set -euo pipefail
output="$("$@")"
echo "$output"
[ -n "$output" ]
