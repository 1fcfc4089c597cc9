#!/usr/bin/env bash
# Runs every fuzz target for a fixed budget (seconds each, default 20) under AddressSanitizer:
# `cargo fuzz` with its default sanitizer (address), which needs a nightly rustc; the nightly is
# the one windows/nightly-toolchain pins (scripts/install-deps.sh installs it and cargo-fuzz).
# Before fuzzing it proves the sanitizer is in: the build's rustc command lines carry
# -Zsanitizer=address and every target binary links the ASan runtime (__asan_init).
# New inputs go to a scratch corpus; the committed seeds under fuzz/corpus stay unchanged.
# Prints one line per target with its executions; fails on any crash or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh   # NIGHTLY, HOST_TARGET
budget="${1:-20}"
TARGETS=(config replies files exports http_replies request_text reply_content)
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "SKIPPED: fuzz (cargo-fuzz not installed: bash scripts/install-deps.sh fuzz)"
    exit 77
fi
if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1; then
    echo "SKIPPED: fuzz ($NIGHTLY not installed: bash scripts/install-deps.sh fuzz)"
    exit 77
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
echo "fuzz: $(rustup run "$NIGHTLY" rustc --version), $(cargo fuzz --version), --sanitizer address"
start=$SECONDS
if ! cargo "+$NIGHTLY" fuzz build --sanitizer address -O --verbose >"$scratch/build.log" 2>&1; then
    tail -40 "$scratch/build.log"
    echo "FAILED: cargo +$NIGHTLY fuzz build --sanitizer address"
    exit 1
fi
if ! grep -q -- '-Zsanitizer=address' "$scratch/build.log"; then
    echo "FAILED: the fuzz build's rustc command lines lack -Zsanitizer=address"
    exit 1
fi
for t in "${TARGETS[@]}"; do
    bin="fuzz/target/$HOST_TARGET/release/$t"
    n_asan="$(nm "$bin" 2>/dev/null | grep -c ' __asan_init$' || true)"
    if [[ "$n_asan" == 0 ]]; then
        echo "FAILED: $bin does not link the AddressSanitizer runtime (no __asan_init)"
        exit 1
    fi
done
echo "fuzz build: -Zsanitizer=address on the rustc command lines, __asan_init in all ${#TARGETS[@]} targets ($((SECONDS - start)) s)"
total=0
for t in "${TARGETS[@]}"; do
    mkdir -p "$scratch/$t"
    log="$scratch/$t.log"
    if ! cargo "+$NIGHTLY" fuzz run --sanitizer address -O "$t" "$scratch/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$budget" -print_final_stats=1 >"$log" 2>&1; then
        tail -40 "$log"
        echo "FAILED: fuzz target $t (artifacts in fuzz/artifacts/$t)"
        exit 1
    fi
    n=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    total=$((total + n))
    echo "fuzz $t: $n executions in ${budget}s under ASan, 0 crashes"
done
echo "fuzz total: $total executions, 0 crashes"
