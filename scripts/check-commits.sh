#!/usr/bin/env bash
# Checks the commit messages since the rules in CONTRIBUTING.md took hold (or since REF):
# a subject of at most 72 characters, not ending in a full stop, then a blank line and a
# body that says why. Merge commits are left out. Exits non-zero on the first offence.
#   scripts/check-commits.sh [REF]
set -euo pipefail
cd "$(dirname "$0")/.."
# The last commit written before the rules; history before it is left as it is.
base=${1:-2ac12d6}
if ! git rev-parse --verify -q "$base^{commit}" >/dev/null; then
    echo "check-commits: $base is not in this clone (shallow?): fetch the full history" >&2
    exit 1
fi
bad=0
n=0
while read -r hash; do
    n=$((n + 1))
    subject=$(git log -1 --format=%s "$hash")
    body=$(git log -1 --format=%b "$hash" | sed '/^\s*$/d')
    second=$(git log -1 --format=%B "$hash" | sed -n 2p)
    problem=""
    if [ "${#subject}" -gt 72 ]; then problem="subject has ${#subject} characters (at most 72)"; fi
    case "$subject" in *.) problem="${problem:+$problem; }subject ends with a full stop" ;; esac
    if [ -n "$second" ]; then problem="${problem:+$problem; }no blank line after the subject"; fi
    if [ -z "$body" ]; then problem="${problem:+$problem; }no body saying why"; fi
    if [ -n "$problem" ]; then
        echo "commit $(git log -1 --format='%h %s' "$hash"): $problem"
        bad=$((bad + 1))
    fi
done < <(git rev-list --no-merges "$base..HEAD")
echo "check-commits: $n commits since $base, $bad with a problem"
[ "$bad" -eq 0 ]
