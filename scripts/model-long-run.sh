#!/usr/bin/env bash
# The model's long run (RELIABILITY.md, "Model-based tests"), spread over several processes.
#
#   scripts/model-long-run.sh [HISTORIES] [PROCESSES] [FIRST_SEED]   (default 10000 8 1)
#
# A history spends most of its time waiting (poll intervals, timeouts, a late customer), not
# computing, and the SDK holds one runtime per process: so the run is PROCESSES test processes,
# each with its own sandbox and seed (FIRST_SEED, FIRST_SEED+1, ...) and HISTORIES/PROCESSES
# histories. Logs go to target/model-long/seed-N.log; the totals are summed at the end. Exits
# non-zero if any process found a violation (its log holds the shrunk minimal history).
set -euo pipefail
cd "$(dirname "$0")/.."

histories=${1:-10000}
procs=${2:-8}
first_seed=${3:-1}
per=$(( (histories + procs - 1) / procs ))
out=target/model-long
mkdir -p "$out"

cargo test --release --test it --no-run
started=$(date +%s)
pids=()
for i in $(seq 0 $((procs - 1))); do
    seed=$((first_seed + i))
    CLOUDPAY_MODEL_CASES=$per CLOUDPAY_MODEL_SEED=$seed \
        cargo test --release --test it -- model::long_run --nocapture >"$out/seed-$seed.log" 2>&1 &
    pids+=($!)
done
failed=0
for p in "${pids[@]}"; do
    wait "$p" || failed=$((failed + 1))
done
elapsed=$(( $(date +%s) - started ))

# Sum the "model: seed S, N histories ..., M steps, ..." lines of every process.
for i in $(seq 0 $((procs - 1))); do grep -h '^model: seed' "$out/seed-$((first_seed + i)).log" || true; done |
    awk -v procs="$procs" -v failed="$failed" -v elapsed="$elapsed" '
    {
        gsub(/[,()]/, "")
        for (f = 1; f <= NF; f++) {
            if ($(f + 1) == "histories") h += $f
            if ($(f + 1) == "steps") s += $f
            if ($(f + 1) == "till") c += $f
            if ($(f + 1) == "restarts") r += $f
            if ($(f + 1) == "SIGKILLed") k += $f
            if ($(f + 1) == "second") st += $f
            if ($(f + 1) == "other-till") o += $f
            if ($(f + 1) == "faults") fa += $f
            if ($(f + 1) == "link") l += $f
            if ($(f + 1) == "violations") v += $f
            if ($f == "call" && $(f + 1) + 0 > slow) slow = $(f + 1) + 0
        }
        n++
    }
    END {
        printf "model long run: %d processes (%d finished), %d histories, %d steps, %d till calls, %d restarts (%d SIGKILL), %d second tills refused, %d other-till sales, %d faults armed, %d link outages, %d violations, slowest call %d ms, %d s wall\n", procs, n, h, s, c, r, k, st, o, fa, l, v, slow, elapsed
    }'
if [ "$failed" -ne 0 ]; then
    echo "model long run: $failed process(es) failed; see $out/seed-*.log" >&2
    exit 1
fi
