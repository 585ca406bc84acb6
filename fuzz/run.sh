#!/usr/bin/env bash
# Runs Comity's fuzz targets with cargo-fuzz on stable Rust (libFuzzer, no sanitizer:
# `-s none`; debug assertions and overflow checks on: `-a`).
#
#   fuzz/run.sh TARGET|all SECONDS
#
# Each target starts from its committed seeds (fuzz/seeds/TARGET/, made by
# `cargo run --manifest-path fuzz/Cargo.toml --bin make-seeds`), copied into the working corpus
# fuzz/corpus/TARGET/ (not committed), where what the fuzzer finds accumulates between runs.
# A crash is written to fuzz/artifacts/TARGET/ and ends the run with a non-zero exit;
# reproduce it with `cargo fuzz run -s none -a TARGET fuzz/artifacts/TARGET/crash-…`.
# Each run's log is fuzz/logs/TARGET.log; its last line (libFuzzer's `DONE` line: executions,
# coverage, features, corpus) and libFuzzer's final statistics are printed at the end.
#
# Needs cargo-fuzz: cargo install cargo-fuzz --locked
set -euo pipefail
cd "$(dirname "$0")"

TARGETS=(scenario rules envelope directory note tile http)

usage() {
    echo "usage: fuzz/run.sh TARGET|all SECONDS   (targets: ${TARGETS[*]})" >&2
    exit 2
}

[ $# -eq 2 ] || usage
case "$2" in '' | *[!0-9]*) usage ;; esac
seconds=$2
if [ "$1" = all ]; then
    run=("${TARGETS[@]}")
else
    run=()
    for t in "${TARGETS[@]}"; do [ "$t" = "$1" ] && run=("$t"); done
    [ ${#run[@]} -eq 1 ] || usage
fi
command -v cargo-fuzz >/dev/null || {
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
}

# The fuzz crate is a workspace of its own: its build (instrumented, release) stays in
# fuzz/target, whatever CARGO_TARGET_DIR says for the project's.
export CARGO_TARGET_DIR="$PWD/target"
mkdir -p logs
status=0
for t in "${run[@]}"; do
    mkdir -p "corpus/$t"
    cp -n "seeds/$t"/* "corpus/$t/" 2>/dev/null || true
    echo "== $t: $seconds s"
    if ! cargo fuzz run -s none -a "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=4096 -timeout=30 \
        >"logs/$t.log" 2>&1; then
        echo "!! $t failed (crash, leak or timeout): see fuzz/logs/$t.log and fuzz/artifacts/$t/"
        tail -n 40 "logs/$t.log"
        status=1
        continue
    fi
    grep -E '^#[0-9]+[[:space:]]+DONE' "logs/$t.log" | tail -n 1 || true
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "logs/$t.log" || true
    echo "corpus: $(find "corpus/$t" -type f | wc -l) files"
done
exit $status
