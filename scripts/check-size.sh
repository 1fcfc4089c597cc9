#!/usr/bin/env bash
# Fails when a shipped library, stripped, is larger than a limit (default 3 MB = 3,000,000 B).
#   scripts/check-size.sh PATH [LIMIT_BYTES]
# PATH is a .so or a DLL; it is stripped into a temporary copy first (strip, or the mingw
# strip for a .dll), so an unstripped build measures the same as the shipped file.
set -euo pipefail
[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: $0 PATH [LIMIT_BYTES]" >&2; exit 2; }
path="$1"
limit="${2:-3000000}"
[[ -f "$path" ]] || { echo "check-size: $path does not exist" >&2; exit 2; }
case "$path" in
    *.dll)
        if x86_64-w64-mingw32-objdump -f "$path" 2>/dev/null | grep -q 'pei-i386'; then
            strip_tool=i686-w64-mingw32-strip
        else
            strip_tool=x86_64-w64-mingw32-strip
        fi ;;
    *) strip_tool="strip" ;;
esac
command -v "$strip_tool" >/dev/null || { echo "check-size: $strip_tool is missing" >&2; exit 2; }
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
"$strip_tool" --strip-all -o "$tmp" "$path"
size="$(stat -c %s "$tmp")"
if [[ "$size" -gt "$limit" ]]; then
    echo "FAILED: $(basename "$path") is $size B stripped, over the limit of $limit B"
    exit 1
fi
echo "   size: $(basename "$path") is $size B stripped (limit $limit B)"
