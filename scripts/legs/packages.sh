#!/usr/bin/env bash
# Packages leg (issue 20): builds each package with scripts/packages.sh into a scratch folder,
# installs it fresh as a newcomer would and pays against the sandbox with the installed copy:
#   python  a new venv, pip install the wheel, the binding's pytest suite on the installed
#           package (CLOUDPAY_TEST_INSTALLED=1: not the source folder, the wheel's library)
# Reuses target/release and the Windows DLLs the windows leg built (run it first, as test-all.sh
# does); a part whose toolchain is absent prints "SKIPPED (part): reason".
set -uo pipefail
source "$(dirname "$0")/../lib.sh"

require_sdk_lib
VERSION="$(sdk_version)"
failed=0
ran=0
fail() { echo "FAILED: $*"; failed=1; }
start_sandbox || exit 1
PKG="$LEG_TMP/dist"
mkdir -p "$PKG"

python_part() {
    local PY="${PYTHON:-python3}" venv="$LEG_TMP/venv" wheel t=$SECONDS
    command -v "$PY" >/dev/null || { echo "SKIPPED (python): no python3"; return; }
    "$PY" -c 'import venv, ensurepip' 2>/dev/null || { echo "SKIPPED (python): no venv/ensurepip module"; return; }
    ran=1
    echo "-- python: build the wheel"
    bash "$ROOT/scripts/packages.sh" --out "$PKG" python || { fail "python wheel build"; return; }
    wheel="$(ls "$PKG"/cloudpay_sdk-"$VERSION"-py3-none-manylinux_*_x86_64.whl 2>/dev/null | head -n 1)"
    [[ -n "$wheel" ]] || { fail "no manylinux x86_64 wheel"; return; }
    # Listings are read whole before grep -q (a pipe into it would fail under pipefail).
    grep -qx 'cloudpay/libCloudPayAPI_SDK_CPP.so' <<<"$(unzip -Z1 "$wheel")" || fail "$(basename "$wheel") lacks the library"
    for w in "$PKG"/cloudpay_sdk-*-py3-none-win*.whl; do
        [[ -f "$w" ]] || continue
        grep -qx 'cloudpay/CloudPayAPI_SDK_CPP.dll' <<<"$(unzip -Z1 "$w")" && echo "   $(basename "$w"): DLL inside" ||
            fail "$(basename "$w") lacks the DLL"
    done
    echo "-- python: fresh venv, pip install $(basename "$wheel")"
    "$PY" -m venv "$venv" || { fail "python -m venv"; return; }
    "$venv/bin/python" -m pip install --quiet --no-index "$wheel" || { fail "pip install the wheel"; return; }
    "$venv/bin/python" -m pip install --quiet pytest || { echo "SKIPPED (python tests): pytest not installable in the venv"; return; }
    echo "-- python: the binding's tests on the installed package"
    (cd "$LEG_TMP" && env -u CLOUDPAY_SDK_LIB CLOUDPAY_TEST_INSTALLED=1 \
        "$venv/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/bindings/python/tests") || fail "pytest on the installed wheel"
    echo "   python part: $((SECONDS - t)) s"
}

python_part
[[ $ran == 1 ]] || skip "no package toolchain (python3)"
exit $failed
