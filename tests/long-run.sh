#!/usr/bin/env bash
# The long run of the reliability suite of issue #7 (docs/RELIABILITY.md): hundreds of
# corruption trials and crash rounds, tens of thousands of fuzz cases per target, then one
# half a minute of libFuzzer per target where cargo-fuzz and a nightly toolchain are installed.
# About 12 minutes on 2 cores (plus the first build of the fuzz targets). The full output goes to LOG (default target/long-run.log);
# the summary lines are printed.
#
#   tests/long-run.sh [LOG]
#   ACTLEDGER_SEED=N tests/long-run.sh     # replay the random choices of a run
#   FUZZ_SECONDS=600 tests/long-run.sh     # longer libFuzzer runs (default 30 s a target)
set -euo pipefail
cd "$(dirname "$0")/.."
log=${1:-target/long-run.log}
mkdir -p "$(dirname "$log")"
export ACTLEDGER_LONG=1
summary='corruption of|crash during|repair killed|contention:|full disk|full filesystem|SKIPPED|^fuzz |test result|FAILED|panicked'
started=$(date +%s)
{
    echo "long run started $(date -u +%FT%TZ) at $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    cargo test -p actledger-e2e --test e2e -- --nocapture --test-threads=1
    cargo test -p actledger-cli --test cli bad_input
    if cargo fuzz --version >/dev/null 2>&1 && rustup run nightly rustc --version >/dev/null 2>&1; then
        for target in event_batch export_line import stored_entry checkpoint proof_json key_file; do
            (cd fuzz && cargo +nightly fuzz run "$target" -- \
                -max_total_time="${FUZZ_SECONDS:-30}" -rss_limit_mb=2048 -timeout=10 \
                -max_len=100000 2>&1 | grep -E '^(Done|==|INFO: Running|SUMMARY)|panicked' |
                sed "s/^/fuzz $target: /")
        done
    else
        echo "SKIPPED libFuzzer: cargo-fuzz or a nightly toolchain is not installed (cargo install cargo-fuzz)"
    fi
    echo "long run finished in $(( $(date +%s) - started )) s"
} 2>&1 | tee "$log" | grep -E "$summary|long run"
