#!/usr/bin/env bash
# Issue #6's comparison in one run: actledger beside the sqlite3 chain baseline, the raw sled
# ceiling and the SHA-256 limit, at several sizes, then the issue's target ratios, each marked
# met or missed. See bench/README.md for what each figure means and docs/PERFORMANCE.md for a run.
#
#   bench/compare.sh                          # 10,000 / 100,000 / 1,000,000 events
#   SIZES="10000 100000" bench/compare.sh     # a quicker run
#
# Environment (all optional):
#   SIZES       event counts, smallest first           (default "10000 100000 1000000")
#   SEED        generator seed                          (default 1)
#   RUNS        runs of each short command; the median  (default 7)
#   APPEND_MAX  largest N appended in one `actledger append` batch (above it the one-batch
#               append is skipped and reported as such; its memory no longer grows with N, the
#               append being read and written in parts)                        (default 1000000)
#   TIMEOUT     seconds allowed for each long step; a step that takes longer is reported as a
#               timeout and the run goes on                                      (default 3600)
#   OFFICE, DAY the who-held query                      (default PE-MINDEF, 1962-06-03)
#   KEEP=1      keep the work folder; OUT_DIR=DIR copies the raw results and the table there
#
# Progress goes to stderr, the table to stdout. Needs cargo, python3, openssl, du.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZES=${SIZES:-"10000 100000 1000000"}
SEED=${SEED:-1}
RUNS=${RUNS:-7}
APPEND_MAX=${APPEND_MAX:-1000000}
TIMEOUT=${TIMEOUT:-3600}
OFFICE=${OFFICE:-PE-MINDEF}
DAY=${DAY:-1962-06-03}

log() { printf '[compare %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/actledger-compare.XXXXXX")
cleanup() {
    if [[ "${KEEP:-0}" == 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

for tool in cargo python3 openssl du; do
    command -v "$tool" >/dev/null || { echo "compare.sh: $tool is required" >&2; exit 1; }
done

log "building release binaries (actledger, actledger-gen, sled-ceiling)"
(cd "$ROOT" && cargo build --release --quiet -p actledger-cli -p actledger-gen)
(cd "$ROOT/bench" && cargo build --release --quiet -p sled-ceiling)
ACTLEDGER="$ROOT/target/release/actledger"
GEN="$ROOT/target/release/actledger-gen"
CEILING="$ROOT/bench/target/release/sled-ceiling"
TIMEIT=(python3 "$ROOT/bench/timeit.py")
SQLITE=(python3 "$ROOT/bench/sqlite_chain.py")

record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; }

# measure N KEY RUNS [timeit options] -- COMMAND...: records KEY.s (median), KEY.rss (KiB) and
# KEY.status; returns 1 if the command failed or timed out.
measure() {
    local n=$1 key=$2 runs=$3
    shift 3
    local out
    if out=$("${TIMEIT[@]}" --runs "$runs" --timeout "$TIMEOUT" "$@"); then
        record "$n" "$key.s" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["median_s"])' "$out")"
        record "$n" "$key.rss" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["max_rss_kib"])' "$out")"
        record "$n" "$key.status" ok
        return 0
    fi
    local status
    status=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["status"])' "$out" 2>/dev/null || echo failed)
    record "$n" "$key.status" "$status"
    log "  $key: $status"
    return 1
}

disk() { du -sb "$1" | cut -f1; }

for N in $SIZES; do
    D="$WORK/$N"
    mkdir -p "$D"
    log "N=$N: generating events (seed $SEED)"
    measure "$N" gen 1 -- "$GEN" --events "$N" --seed "$SEED" --out "$D/events.ndjson" --quiet
    record "$N" ndjson.bytes "$(stat -c %s "$D/events.ndjson")"
    python3 "$ROOT/bench/chain.py" export "$D/events.ndjson" "$D/export.ndjson" >/dev/null
    record "$N" export.bytes "$(stat -c %s "$D/export.ndjson")"

    log "N=$N: actledger import of the export"
    if measure "$N" al.import 1 -- "$ACTLEDGER" --ledger "$D/imported" import "$D/export.ndjson"; then
        record "$N" al.disk "$(disk "$D/imported")"
        log "N=$N: actledger verify (answers included), then verify --log-only"
        measure "$N" al.verify 3 -- "$ACTLEDGER" --ledger "$D/imported" verify || true
        measure "$N" al.verifylog 3 -- "$ACTLEDGER" --ledger "$D/imported" verify --log-only || true
        log "N=$N: actledger repair of a copy with one office posting block removed"
        cp -r "$D/imported" "$D/damaged"
        if "$CEILING" remove-first "$D/damaged" O >/dev/null; then
            measure "$N" al.repair 1 -- "$ACTLEDGER" --ledger "$D/damaged" repair || true
        fi
        rm -rf "$D/damaged"
        log "N=$N: actledger who-held, cold process x$RUNS"
        "$ACTLEDGER" --ledger "$D/imported" who-held "$OFFICE" --on "$DAY" >/dev/null # warm the page cache
        measure "$N" al.who "$RUNS" --stdout "$D/who-held.txt" -- \
            "$ACTLEDGER" --ledger "$D/imported" who-held "$OFFICE" --on "$DAY" || true
        log "N=$N: sled alone opening the ledger's database, cold process x$RUNS"
        measure "$N" sl.open "$RUNS" -- "$CEILING" open "$D/imported" || true
        log "N=$N: actledger head x$RUNS, then one durable append of one act x$RUNS"
        measure "$N" al.head "$RUNS" -- "$ACTLEDGER" --ledger "$D/imported" head || true
        for i in $(seq 1 "$RUNS"); do
            printf '%s\n' \
                "{\"type\":\"act_issued\",\"act\":\"RS-BENCH-$i-PCM\",\"kind\":\"resolucion_suprema\",\"issuer\":\"PE-PCM\",\"issued_on\":\"9000-01-0$((i % 9 + 1))\",\"title\":\"Autorizan viaje del titular del Ministerio de Defensa\"}" \
                "{\"type\":\"trip_authorized\",\"act\":\"RS-BENCH-$i-PCM\",\"person\":\"bench-minister\",\"office\":\"$OFFICE\",\"from\":\"9000-02-0$((i % 9 + 1))\",\"until\":\"9000-02-1$((i % 9))\",\"destination\":\"Ginebra, Suiza\"}" \
                "{\"type\":\"duties_delegated\",\"act\":\"RS-BENCH-$i-PCM\",\"office\":\"$OFFICE\",\"delegate\":\"bench-delegate\",\"from\":\"9000-02-0$((i % 9 + 1))\"}" \
                >"$D/act-$i.ndjson"
        done
        measure "$N" al.single "$RUNS" -- "$ACTLEDGER" --ledger "$D/imported" append "$D/act-{i}.ndjson" || true
    fi

    if ((N <= APPEND_MAX)); then
        log "N=$N: actledger append of the NDJSON in one batch"
        "$ACTLEDGER" --ledger "$D/appended" init >/dev/null
        if measure "$N" al.append 1 -- "$ACTLEDGER" --ledger "$D/appended" append "$D/events.ndjson"; then
            record "$N" al.append.disk "$(disk "$D/appended")"
        fi
        rm -rf "$D/appended"
    else
        record "$N" al.append.status "skipped"
    fi
    rm -rf "$D/imported"

    log "N=$N: sqlite3 chain baseline"
    if measure "$N" sq.import 1 -- "${SQLITE[@]}" import "$D/events.ndjson" "$D/chain.sqlite"; then
        record "$N" sq.disk "$(disk "$D/chain.sqlite")"
        measure "$N" sq.verify 3 -- "${SQLITE[@]}" verify "$D/chain.sqlite" || true
        "${SQLITE[@]}" who-held "$D/chain.sqlite" "$OFFICE" "$DAY" >/dev/null # warm the page cache
        measure "$N" sq.who "$RUNS" --stdout "$D/who-held-sqlite.txt" -- \
            "${SQLITE[@]}" who-held "$D/chain.sqlite" "$OFFICE" "$DAY" || true
    fi
    rm -f "$D/chain.sqlite"

    log "N=$N: raw sled ceiling"
    if measure "$N" sl.import 1 -- "$CEILING" import "$D/events.ndjson" "$D/sled"; then
        record "$N" sl.disk "$(disk "$D/sled")"
        measure "$N" sl.verify 3 -- "$CEILING" verify "$D/sled" || true
    fi
    rm -rf "$D/sled"

    log "N=$N: SHA-256 limit (openssl dgst -sha256 over the export)"
    measure "$N" sha 3 -- openssl dgst -sha256 "$D/export.ndjson" || true
    rm -f "$D/events.ndjson" "$D/export.ndjson"
done

{
    echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB; $(uname -srm)"
    echo "command: SIZES=\"$SIZES\" SEED=$SEED RUNS=$RUNS APPEND_MAX=$APPEND_MAX bench/compare.sh"
    echo "who-held query: $OFFICE on $DAY"
    echo
    python3 "$ROOT/bench/report.py" "$RESULTS"
} | tee "$WORK/table.txt"

if [[ -n "${OUT_DIR:-}" ]]; then
    mkdir -p "$OUT_DIR"
    cp "$RESULTS" "$WORK/table.txt" "$OUT_DIR/"
    log "results copied to $OUT_DIR"
fi
