#!/usr/bin/env bash
# Runs every fuzz target for a fixed budget (seconds each, default 20) on stable Rust
# (libFuzzer, no sanitizer: `-s none`; use `cargo +nightly fuzz run <t>` locally for ASan).
# New inputs go to a scratch corpus; the committed seeds under fuzz/corpus stay unchanged.
# Prints one line per target with its executions; fails on any crash.
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${1:-20}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "SKIPPED: fuzz (cargo-fuzz not installed: cargo install cargo-fuzz --locked)"
  exit 0
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cargo fuzz build -s none -O >/dev/null
total=0
for t in config replies files exports http_replies; do
  mkdir -p "$scratch/$t"
  log="$scratch/$t.log"
  if ! cargo fuzz run -s none -O "$t" "$scratch/$t" "fuzz/corpus/$t" -- -max_total_time="$budget" -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    echo "FAILED: fuzz target $t (artifacts in fuzz/artifacts/$t)"
    exit 1
  fi
  n=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  total=$((total + n))
  echo "fuzz $t: $n executions in ${budget}s, 0 crashes"
done
echo "fuzz total: $total executions, 0 crashes"
