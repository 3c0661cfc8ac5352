#!/usr/bin/env bash
# Runs an example binary and fails if it fails or prints nothing.
set -euo pipefail
output="$("$1")"
echo "$output"
[ -n "$output" ]
