#!/usr/bin/env bash
# Fuzz leg: every fuzz target for a short fixed budget (FUZZ_SECONDS, default 20 s each).
set -uo pipefail
source "$(dirname "$0")/../lib.sh"

command -v cargo-fuzz >/dev/null 2>&1 || skip "cargo-fuzz not installed (cargo install cargo-fuzz --locked)"
bash "$ROOT/scripts/fuzz.sh" "${FUZZ_SECONDS:-20}"
