#!/usr/bin/env bash
# Instructions per call of cloud_pay_query_order and cloud_pay_micro_pay, counted by valgrind
# (callgrind) inside the exports only: a figure that does not move with the machine's load,
# for before/after comparisons of the SDK's own work (BENCHMARKS.md; the hot-path history is in its git history).
# Each figure is the difference between a run of 600 and one of 200 calls, divided by 400, so
# init and the first payment drop out. valgrind hides SHA-NI, so SHA-256 runs its software path
# here (natively it is a few percent of a call); compare like with like.
#   bash scripts/bench-instructions.sh            # the working tree
#   bash scripts/bench-instructions.sh <commit>   # a commit's library, built in a temporary worktree
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)"; exit 1; }
src=$PWD
if [[ $# -gt 0 ]]; then
    src=$(mktemp -d)
    git worktree add -f --detach "$src" "$1" >/dev/null
    trap 'git worktree remove --force "$src"' EXIT
    # That commit's library, driven by this tree's bench (the same calls, counted the same way).
    cp benches/cashier_bench.rs "$src/benches/cashier_bench.rs"
fi
target=${CARGO_TARGET_DIR:-$PWD/target}/instructions
(cd "$src" && CARGO_TARGET_DIR=$target CARGO_PROFILE_BENCH_STRIP=none CARGO_PROFILE_BENCH_DEBUG=line-tables-only \
    cargo bench --bench cashier_bench --no-run -q)
bin=$(ls -t "$target"/release/deps/cashier_bench-* | grep -v '\.d$' | head -1)
count() { # calls pay(0|1) -> instructions
    local out
    out=$(mktemp)
    BENCH_ONLY=profile BENCH_PROFILE_CALLS=$1 BENCH_PROFILE_PAY=$2 valgrind --tool=callgrind --callgrind-out-file="$out" \
        '--toggle-collect=cloud_pay_query_order' '--toggle-collect=cloud_pay_micro_pay' "$bin" --bench >/dev/null 2>&1
    callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print ($1 == "." ? 0 : $1); exit}'
    rm -f "$out"
}
for pay in 0 1; do
    name=$([[ $pay == 1 ]] && echo micro_pay || echo query_order)
    a=$(count 200 $pay)
    b=$(count 600 $pay)
    [[ $a -gt 0 && $b -gt $a ]] || { echo "$name: callgrind counted nothing inside the export"; exit 1; }
    echo "$name: $(( (b - a) / 400 )) instructions per call"
done
