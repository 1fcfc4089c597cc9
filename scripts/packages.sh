#!/usr/bin/env bash
# Packages integrators install the way their language expects (issue 20), into dist/ or --out DIR:
#   python  cloudpay_sdk-<version>-py3-none-<platform>.whl: the ctypes binding with the library
#           inside; manylinux (from target/release), win_amd64 and win32 (from the Windows leg)
# Usage: bash scripts/packages.sh [--out DIR] [python]...   (default: all)
# Inputs: the Linux library of `cargo build --release -p cloud-pay-sdk`, and the shipped Windows
# 7 DLLs that scripts/legs/windows.sh leaves in target/windows/<target>/ (CLOUDPAY_WINDOWS_DIR
# points elsewhere). Without the Windows DLLs the Python wheels are Linux-only; the jar and
# the NuGet package need them (they ship one artifact for every platform).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

OUT="$ROOT/dist"
KINDS=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        python) KINDS+=("$1"); shift ;;
        *) echo "usage: $0 [--out DIR] [python]..." >&2; exit 2 ;;
    esac
done
[[ ${#KINDS[@]} -gt 0 ]] || KINDS=(python)
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
VERSION="$(sdk_version)"
WORK="$TARGET_DIR/packages"
WIN="${CLOUDPAY_WINDOWS_DIR:-$TARGET_DIR/windows}"
LINUX_LIB="$TARGET_DIR/release/libCloudPayAPI_SDK_CPP.so"
WIN_X64="$WIN/x86_64-win7-windows-gnu/CloudPayAPI_SDK_CPP.dll"
WIN_X86="$WIN/i686-win7-windows-gnu/CloudPayAPI_SDK_CPP.dll"
require_sdk_lib

# One wheel per library: the code is the same, the tag follows the library (packaging/python/setup.py).
python_wheels() {
    local lib stage
    rm -f "$OUT"/cloudpay_sdk-*.whl
    for lib in "$LINUX_LIB" "$WIN_X64" "$WIN_X86"; do
        [[ -f "$lib" ]] || { echo "no $lib: no wheel for it" >&2; continue; }
        stage="$WORK/python/$(basename "$(dirname "$lib")")"
        rm -rf "$stage"
        mkdir -p "$stage/cloudpay"
        cp packaging/python/pyproject.toml packaging/python/setup.py packaging/LICENSE.txt bindings/python/README.md "$stage/"
        cp bindings/python/cloudpay.py "$stage/cloudpay/__init__.py"
        cp bindings/python/cloudpay_typed.py "$stage/"
        cp "$lib" "$stage/cloudpay/"
        echo "$VERSION" >"$stage/VERSION"
        # Build isolation: pip fetches the backend (setuptools) the way any PEP 517 frontend does.
        python3 -m pip wheel --quiet --no-deps --wheel-dir "$OUT" "$stage"
    done
    ls "$OUT"/cloudpay_sdk-"$VERSION"-py3-none-*.whl
}

for kind in "${KINDS[@]}"; do
    case "$kind" in
        python) python_wheels ;;
    esac
done
