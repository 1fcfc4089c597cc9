#!/usr/bin/env bash
# Fuzz leg: every fuzz target under AddressSanitizer on the pinned nightly, for a short fixed
# budget (FUZZ_SECONDS, default 20 s each); see scripts/fuzz.sh.
set -uo pipefail
source "$(dirname "$0")/../lib.sh"

command -v cargo-fuzz >/dev/null 2>&1 || skip "cargo-fuzz not installed (bash scripts/install-deps.sh fuzz)"
rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1 || skip "$NIGHTLY not installed (bash scripts/install-deps.sh fuzz)"
bash "$ROOT/scripts/fuzz.sh" "${FUZZ_SECONDS:-20}"
