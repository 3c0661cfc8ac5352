#!/usr/bin/env bash
# tools/trim_disk_cache.sh, run the way bazelw runs it (a caller under set -euo pipefail), on a
# cache of 2000 files with known access times: it must exit 0, remove the oldest files first
# down to two thirds of the cap, keep the newest, and then wait an hour before looking again.
# 2000 files make its file listing larger than a pipe buffer, which is what made the first
# version die of SIGPIPE (and take bazelw with it) on a cache over the cap.
set -euo pipefail
trim="$1"
dir="$(mktemp -d "${TEST_TMPDIR:-/tmp}/trim.XXXXXX")/bazel-disk"
mkdir -p "${dir}/cas/ab"
fail() { echo "FAIL: $*" >&2; exit 1; }

n=2000
base=$(date +%s)
for ((i = 0; i < n; i++)); do
  f="$(printf '%s/cas/ab/entry_with_a_long_name_like_a_sha256_digest_%05d' "${dir}" "${i}")"
  head -c 4096 /dev/zero > "${f}"
done
# Access times: entry i was last used i seconds after the epoch base - n, so entry 0 is oldest.
python3 - "${dir}/cas/ab" "${n}" "${base}" <<'PY'
import os, sys
d, n, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    p = os.path.join(d, "entry_with_a_long_name_like_a_sha256_digest_%05d" % i)
    os.utime(p, (base - n + i, base))
PY
used=$(du -sk "${dir}" | cut -f1)
cap=$((used / 2))

"${trim}" "${dir}" "${cap}" 2> "${dir}/../stderr" || fail "exit status $? on a cache over its cap"
grep -q "removing the least recently used files" "${dir}/../stderr" || fail "no message: $(cat "${dir}/../stderr")"
after=$(du -sk "${dir}" | cut -f1)
((after <= cap * 2 / 3 + 8)) || fail "${after} KiB left, expected at most $((cap * 2 / 3)) (cap ${cap}, before ${used})"
((after >= cap * 2 / 3 - 16)) || fail "${after} KiB left: removed more than needed (cap ${cap})"
[[ ! -e "${dir}/cas/ab/entry_with_a_long_name_like_a_sha256_digest_00000" ]] || fail "the oldest entry was kept"
[[ -e "${dir}/cas/ab/entry_with_a_long_name_like_a_sha256_digest_01999" ]] || fail "the newest entry was removed"
# What is left is exactly the newest entries: no gap in the numbering.
oldest_left=$(ls "${dir}/cas/ab" | sort | awk 'NR == 1')  # awk reads it all: no SIGPIPE
left=$(ls "${dir}/cas/ab" | wc -l)
[[ "${oldest_left}" == "$(printf 'entry_with_a_long_name_like_a_sha256_digest_%05d' $((n - left)))" ]] ||
  fail "kept ${left} entries but the oldest kept is ${oldest_left}"

# Within the hour it does not look again, even with the cap lowered.
"${trim}" "${dir}" 1 || fail "second run: exit status $?"
[[ "$(ls "${dir}/cas/ab" | wc -l)" == "${left}" ]] || fail "trimmed again within the hour"

# Under the cap: nothing removed. A missing directory: nothing to do.
rm -f "${dir}/.fulgur_trimmed"
"${trim}" "${dir}" $((used * 2)) || fail "under the cap: exit status $?"
[[ "$(ls "${dir}/cas/ab" | wc -l)" == "${left}" ]] || fail "removed files under the cap"
"${trim}" "${dir}/absent" 1 || fail "missing directory: exit status $?"
echo "PASS: trimmed ${used} KiB to ${after} KiB (cap ${cap} KiB), kept the newest ${left} of ${n} entries"
