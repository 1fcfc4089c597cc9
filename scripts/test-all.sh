#!/usr/bin/env bash
# All tests: `cargo test --workspace`, then every foreign-language leg against the real release
# library and the real sandbox over sockets:
#   c        examples-c (C99, -Werror, ASan/UBSan)    scripts/legs/c.sh
#   csharp   bindings/csharp + examples-csharp (mcs)  scripts/legs/csharp.sh
#   java     bindings/java (JNI shim, javac)          scripts/legs/java.sh
#   python   bindings/python (ctypes, pytest)         scripts/legs/python.sh
#   windows  x64/x86 DLLs, .def, wine64               scripts/legs/windows.sh
#   packages wheel, jar, NuGet installed fresh       scripts/legs/packages.sh (after windows: packs its DLLs)
#   console  sandbox web console, headless Chromium   scripts/legs/console.sh
#   fuzz     every fuzz target, fixed budget          scripts/legs/fuzz.sh
# First scripts/install-deps.sh installs what the chosen legs need and is missing (apt as root
# or with password-less sudo, pip, cargo install, rustup; quick when all is there;
# CLOUDPAY_NO_INSTALL=1 leaves the machine alone).
# A leg whose toolchain is absent prints "SKIPPED: <reason>" and does not fail the run.
# Run one leg: bash scripts/test-all.sh python   (cargo test is then left out too:
# CLOUDPAY_SKIP_CARGO_TEST=1 leaves it out of a full run).
# Ends with one line "N passed, M failed" (legs, cargo test counted as one); exits non-zero
# when anything that ran failed.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

LEGS=(c csharp java python windows packages console fuzz)
if [[ $# -gt 0 ]]; then
    LEGS=("$@")
    CLOUDPAY_SKIP_CARGO_TEST=1
fi

echo "== dependencies (scripts/install-deps.sh ${LEGS[*]})"
bash scripts/install-deps.sh "${LEGS[@]}"

passed=0
failed=0
skipped=0
report=()
record() { # name status seconds
    report+=("$(printf '%-12s %-8s %4ss' "$1" "$2" "$3")")
    case "$2" in
        passed) passed=$((passed + 1)) ;;
        failed) failed=$((failed + 1)) ;;
        *) skipped=$((skipped + 1)) ;;
    esac
}

if [[ "${CLOUDPAY_SKIP_CARGO_TEST:-0}" != 1 ]]; then
    echo "== cargo test --workspace"
    start=$SECONDS
    if cargo test --workspace; then record "cargo-test" passed $((SECONDS - start)); else record "cargo-test" failed $((SECONDS - start)); fi
fi

echo "== release library and sandbox (one release build, shared by every leg)"
start=$SECONDS
if ! cargo build --release -p cloud-pay-sdk -p cloud-pay-sandbox; then
    echo "FAILED: release build"
    record "release-build" failed $((SECONDS - start))
    echo
    printf '%s\n' "${report[@]}"
    echo "$passed passed, $failed failed"
    exit 1
fi
echo "   $((SECONDS - start)) s"

for leg in "${LEGS[@]}"; do
    echo
    echo "== leg: $leg"
    start=$SECONDS
    bash "scripts/legs/$leg.sh"
    rc=$?
    secs=$((SECONDS - start))
    if [[ $rc == 0 ]]; then
        record "$leg" passed "$secs"
    elif [[ $rc == "$SKIP" ]]; then
        record "$leg" skipped "$secs"
    else
        echo "FAILED: leg $leg (exit $rc)"
        record "$leg" failed "$secs"
    fi
done

echo
echo "== summary"
printf '%s\n' "${report[@]}"
[[ $skipped -gt 0 ]] && echo "($skipped leg(s) skipped: see the SKIPPED lines above)"
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
