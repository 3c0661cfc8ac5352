#!/usr/bin/env bash
# trim_disk_cache.sh DIR CAP_KIB: when DIR holds more than CAP_KIB kibibytes, remove its least
# recently used files (by access time, which a cache hit updates) until it holds two thirds of
# that. Checked at most once an hour (DIR/.fulgur_trimmed); du over a large cache takes seconds.
#
# bazelw runs this on Bazel's --disk_cache, which Bazel never trims (it reached 41 GB and filled
# a disk). A removed entry is only a cache miss. Exits 0 unless DIR cannot be read; bazelw goes
# on either way.
#
# No pipefail here on purpose: awk stops choosing files once enough are chosen, and an early
# exit would kill find and sort with SIGPIPE. That made the first version of this, inside
# bazelw under `set -o pipefail`, abort bazelw itself on a machine whose cache was over the cap.
set -u

dir="$1"
cap_kib="$2"
[[ -d "${dir}" ]] || exit 0
stamp="${dir}/.fulgur_trimmed"
[[ -n "$(find "${stamp}" -mmin -60 2>/dev/null)" ]] && exit 0
touch "${stamp}" 2>/dev/null

used_kib="$(du -sk "${dir}" 2>/dev/null | cut -f1)"
[[ "${used_kib}" =~ ^[0-9]+$ ]] || exit 1
((used_kib > cap_kib)) || exit 0
echo "bazelw: the disk cache ${dir} holds $((used_kib / 1024)) MiB, over its limit of $((cap_kib / 1024)) MiB (FULGUR_DISK_CACHE_GB): removing the least recently used files" >&2
# awk reads all of its input (no early exit), so nothing upstream dies of SIGPIPE.
find "${dir}" -type f ! -name .fulgur_trimmed -printf '%A@ %k %p\n' 2>/dev/null | sort -n |
  awk -v excess=$((used_kib - cap_kib * 2 / 3)) 'freed < excess { print substr($0, index($0, $3)); freed += $2 }' |
  xargs -r -d '\n' rm -f
exit 0
