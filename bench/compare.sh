#!/usr/bin/env bash
# Issue #6's comparison in one run: actledger beside the sqlite3 chain baseline, the raw sled
# ceiling and the SHA-256 limit, at several sizes, then the issue's target ratios, each marked
# met or missed; and issue #17's figures: answer proofs (the bundle, who-held --proof,
# check-answer, checkpoint) and appends against a baseline build from before the answers'
# state was kept with each append. See bench/README.md for what each figure means and
# docs/PERFORMANCE.md for a run.
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
#   APPEND_RUNS runs of the one-batch append, each into a fresh ledger, alternated with the
#               baseline's                                                      (default 3)
#   BASELINE_REV  the git revision whose appends this build's are compared with: built once
#               from `git archive` in BASELINE_DIR; empty skips the comparison  (default c35bd17)
#   BASELINE_DIR  where the baseline is extracted and built; set it to a lasting folder to
#               build it once over several runs                   (default: inside the work folder)
#   TIMEOUT     seconds allowed for each long step; a step that takes longer is reported as a
#               timeout and the run goes on                                      (default 3600)
#   OFFICE, DAY the who-held query                      (default PE-MINDEF, 1962-06-03)
#   KEEP=1      keep the work folder; OUT_DIR=DIR copies the raw results and the table there
#   PUBLISH=0   skip issue #18's publish and clone figures (bench/publish.sh, run last)
#   CLERK=0     skip issue #19's figures for a ledger built by one-act appends (bench/clerk.py:
#               CLERK_APPENDS appends, default 10000, a few minutes)
#
# Progress goes to stderr, the table to stdout. Needs cargo, python3, openssl, du.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZES=${SIZES:-"10000 100000 1000000"}
SEED=${SEED:-1}
RUNS=${RUNS:-7}
APPEND_MAX=${APPEND_MAX:-1000000}
APPEND_RUNS=${APPEND_RUNS:-3}
# Main before the answers' state was kept with each append (#17's phase 1, which did not touch
# the append path, is in it): `-` and not `:-`, so that BASELINE_REV= skips the comparison.
BASELINE_REV=${BASELINE_REV-c35bd17}
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
BASELINE_DIR=${BASELINE_DIR:-$WORK/baseline}

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

# The baseline: a build of BASELINE_REV, from its own sources and with its own target folder.
# Its cache version differs from this build's (a ledger opened by the other one rebuilds its
# cache), so each binary only ever touches ledgers it built itself.
BASELINE=""
if [[ -n "$BASELINE_REV" ]]; then
    rev=$(git -C "$ROOT" rev-parse --verify --quiet "$BASELINE_REV^{commit}") ||
        { echo "compare.sh: BASELINE_REV=$BASELINE_REV is no commit" >&2; exit 1; }
    src="$BASELINE_DIR/src-${rev:0:12}"
    if [[ ! -f "$src/Cargo.toml" ]]; then
        log "extracting the baseline ${rev:0:12} ($BASELINE_REV) into $src"
        rm -rf "$src.tmp" && mkdir -p "$src.tmp"
        git -C "$ROOT" archive "$rev" | tar -x -C "$src.tmp"
        mv "$src.tmp" "$src"
    fi
    log "building the baseline's actledger (release) in $BASELINE_DIR"
    (cd "$src" && CARGO_TARGET_DIR="$BASELINE_DIR/target" cargo build --release --locked --quiet -p actledger-cli)
    BASELINE="$BASELINE_DIR/target/release/actledger"
fi

# The signing key of the checkpoints the answer proofs are made against.
"$ACTLEDGER" keygen bench.example/actledger --out "$WORK/keys" >/dev/null
KEY="$WORK/keys/bench.example_actledger.key"
VKEY="$WORK/keys/bench.example_actledger.vkey"

record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; }

# measure N KEY RUNS [timeit options] -- COMMAND...: records KEY.s (median), KEY.rss (KiB) and
# KEY.status; returns 1 if the command failed or timed out.
measure() {
    local n=$1 key=$2 runs=$3
    shift 3
    local out
    if out=$("${TIMEIT[@]}" --runs "$runs" --timeout "$TIMEOUT" "$@"); then
        record_timing "$n" "$key" "$out"
        return 0
    fi
    local status
    status=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["status"])' "$out" 2>/dev/null || echo failed)
    record "$n" "$key.status" "$status"
    log "  $key: $status"
    return 1
}

# record_timing N KEY JSON: KEY.s, KEY.rss and KEY.status from one object of timeit.py.
record_timing() {
    local n=$1 key=$2 out=$3 status
    status=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["status"])' "$out" 2>/dev/null || echo failed)
    if [[ "$status" == ok ]]; then
        record "$n" "$key.s" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["median_s"])' "$out")"
        record "$n" "$key.rss" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["max_rss_kib"])' "$out")"
    else
        log "  $key: $status"
    fi
    record "$n" "$key.status" "$status"
}

# measure_alt N RUNS KEY... [timeit options] -- COMMAND... --- COMMAND...: the commands run in
# turn, RUNS rounds (timeit.py's alternation), each recorded under its KEY as by measure;
# returns 1 if one failed or timed out.
measure_alt() {
    local n=$1 runs=$2
    shift 2
    local keys=()
    while [[ "$1" != -* ]]; do keys+=("$1"); shift; done
    local out ok=0 line k=0
    out=$("${TIMEIT[@]}" --runs "$runs" --timeout "$TIMEOUT" "$@") || ok=1
    while IFS= read -r line; do
        ((k < ${#keys[@]})) || break
        record_timing "$n" "${keys[k]}" "$line"
        k=$((k + 1))
    done <<<"$out"
    for ((; k < ${#keys[@]}; k++)); do record "$n" "${keys[k]}.status" failed; done
    return "$ok"
}

# write_acts DIR: DIR/act-1.ndjson ... act-RUNS.ndjson, each a new act of three events (the
# act, a trip of OFFICE's titular, a delegation of its duties) for one durable append.
write_acts() {
    for i in $(seq 1 "$RUNS"); do
        printf '%s\n' \
            "{\"type\":\"act_issued\",\"act\":\"RS-BENCH-$i-PCM\",\"kind\":\"resolucion_suprema\",\"issuer\":\"PE-PCM\",\"issued_on\":\"9000-01-0$((i % 9 + 1))\",\"title\":\"Autorizan viaje del titular del Ministerio de Defensa\"}" \
            "{\"type\":\"trip_authorized\",\"act\":\"RS-BENCH-$i-PCM\",\"person\":\"bench-minister\",\"office\":\"$OFFICE\",\"from\":\"9000-02-0$((i % 9 + 1))\",\"until\":\"9000-02-1$((i % 9))\",\"destination\":\"Ginebra, Suiza\"}" \
            "{\"type\":\"duties_delegated\",\"act\":\"RS-BENCH-$i-PCM\",\"office\":\"$OFFICE\",\"delegate\":\"bench-delegate\",\"from\":\"9000-02-0$((i % 9 + 1))\"}" \
            >"$1/act-$i.ndjson"
    done
}

# status_of N KEY: the status last recorded for KEY at size N.
status_of() {
    awk -F'\t' -v n="$1" -v k="$2.status" '$1 == n && $2 == k { s = $3 } END { print s }' "$RESULTS"
}

# append_rounds N NDJSON KEY BIN DIR [KEY2 BIN2 DIR2]: BIN's `append` of NDJSON in one batch
# into a fresh ledger at DIR, made by BIN, APPEND_RUNS times, in turn with BIN2's (the order
# reversed every other round, as timeit.py alternates); each KEY recorded as by measure.
# Only the last round's ledgers are kept (at most two on disk): the one-act appends use them.
append_rounds() {
    local n=$1 ndjson=$2
    shift 2
    local specs=("$@") count=$(($# / 3)) r j k key bin dir out
    for ((k = 0; k < count; k++)); do : >"$WORK/${specs[3 * k]}.runs"; done
    for ((r = 1; r <= APPEND_RUNS; r++)); do
        for ((j = 0; j < count; j++)); do
            k=$((r % 2 ? j : count - 1 - j))
            key=${specs[3 * k]} bin=${specs[3 * k + 1]} dir=${specs[3 * k + 2]}
            rm -rf "$dir"
            "$bin" --ledger "$dir" init >/dev/null
            out=$("${TIMEIT[@]}" --runs 1 --timeout "$TIMEOUT" -- "$bin" --ledger "$dir" append "$ndjson") || true
            printf '%s\n' "$out" >>"$WORK/$key.runs"
            ((r == APPEND_RUNS)) || rm -rf "$dir"
        done
    done
    for ((k = 0; k < count; k++)); do
        key=${specs[3 * k]}
        record_timing "$n" "$key" "$(python3 "$ROOT/bench/timeit.py" --merge "$WORK/$key.runs")"
        rm -f "$WORK/$key.runs"
    done
}

# skipped N KEY...: records each KEY as skipped (with BASELINE_REV=, or no ledger to work on).
skipped() {
    local n=$1
    shift
    for key in "$@"; do record "$n" "$key.status" skipped; done
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
        log "N=$N: actledger head x$RUNS"
        measure "$N" al.head "$RUNS" -- "$ACTLEDGER" --ledger "$D/imported" head || true

        # Answer proofs (issue #17), on the same ledger. checkpoint --key against head,
        # alternated; the last checkpoint leaves the newest kept one at the head.
        log "N=$N: actledger checkpoint --key and head, alternated x$RUNS"
        "$ACTLEDGER" --ledger "$D/imported" checkpoint --key "$KEY" >/dev/null || true # warm the page cache
        measure_alt "$N" "$RUNS" pf.head pf.checkpoint -- \
            "$ACTLEDGER" --ledger "$D/imported" head --- \
            "$ACTLEDGER" --ledger "$D/imported" checkpoint --key "$KEY" || true
        log "N=$N: actledger who-held and who-held --proof (checkpoint at the head), alternated x$RUNS"
        who=("$ACTLEDGER" --ledger "$D/imported" who-held "$OFFICE" --on "$DAY")
        "${who[@]}" --proof "$D/bundle.json" >/dev/null || true # warm the page cache
        if measure_alt "$N" "$RUNS" pf.prove pf.who --stdout "$D/who-held-proof.txt" -- \
            "${who[@]}" --proof "$D/bundle.json" --- "${who[@]}"; then
            record "$N" pf.bundle.bytes "$(stat -c %s "$D/bundle.json")"
            cmp -s "$D/who-held-proof.txt" "$D/who-held.txt" ||
                log "  who-held --proof printed another answer than who-held (see $D)"
            log "N=$N: actledger check-answer of the bundle x$RUNS"
            measure "$N" pf.check "$RUNS" -- "$ACTLEDGER" check-answer --vkey "$VKEY" "$D/bundle.json" || true
        fi

        log "N=$N: one durable append of one act x$RUNS"
        write_acts "$D"
        if measure "$N" al.single "$RUNS" -- "$ACTLEDGER" --ledger "$D/imported" append "$D/act-{i}.ndjson"; then
            # The acts just appended (to the office asked about) leave the kept checkpoint
            # behind the head: the bundle is made against it, which recomputes that office.
            log "N=$N: actledger who-held and who-held --proof (an older checkpoint), alternated x$RUNS"
            "${who[@]}" --proof "$D/bundle-old.json" >/dev/null || true # warm the page cache
            if measure_alt "$N" "$RUNS" pf.oldprove pf.oldwho -- \
                "${who[@]}" --proof "$D/bundle-old.json" --- "${who[@]}"; then
                record "$N" pf.oldbundle.bytes "$(stat -c %s "$D/bundle-old.json")"
                "$ACTLEDGER" check-answer --vkey "$VKEY" "$D/bundle-old.json" >/dev/null ||
                    record "$N" pf.oldprove.status "bundle refused"
            fi
        else
            skipped "$N" pf.oldprove pf.oldwho
        fi
    fi

    rm -rf "$D/imported"

    log "N=$N: SHA-256 limit (openssl dgst -sha256 over the export)"
    measure "$N" sha 3 -- openssl dgst -sha256 "$D/export.ndjson" || true
    rm -f "$D/export.ndjson"

    if ((N <= APPEND_MAX)); then
        if [[ -n "$BASELINE" ]]; then
            log "N=$N: actledger append of the NDJSON in one batch, this build and the baseline alternated x$APPEND_RUNS"
            append_rounds "$N" "$D/events.ndjson" al.append "$ACTLEDGER" "$D/appended" \
                base.append "$BASELINE" "$D/base-appended"
        else
            log "N=$N: actledger append of the NDJSON in one batch x$APPEND_RUNS"
            append_rounds "$N" "$D/events.ndjson" al.append "$ACTLEDGER" "$D/appended"
            skipped "$N" base.append
        fi
        if [[ "$(status_of "$N" al.append)" == ok ]]; then
            record "$N" al.append.disk "$(disk "$D/appended")"
        fi
        if [[ "$(status_of "$N" base.append)" == ok ]]; then
            record "$N" base.append.disk "$(disk "$D/base-appended")"
        fi
        # One-act appends, each binary on the ledger it has just built.
        if [[ "$(status_of "$N" al.append)" == ok && "$(status_of "$N" base.append)" == ok ]]; then
            log "N=$N: one durable append of one act, this build and the baseline alternated x$RUNS"
            write_acts "$D"
            "$ACTLEDGER" --ledger "$D/appended" head >/dev/null # warm the page cache
            "$BASELINE" --ledger "$D/base-appended" head >/dev/null
            measure_alt "$N" "$RUNS" al.single.appended base.single -- \
                "$ACTLEDGER" --ledger "$D/appended" append "$D/act-{i}.ndjson" --- \
                "$BASELINE" --ledger "$D/base-appended" append "$D/act-{i}.ndjson" || true
        else
            skipped "$N" al.single.appended base.single
        fi
        rm -rf "$D/appended" "$D/base-appended"
    else
        record "$N" al.append.status "skipped"
        skipped "$N" base.append al.single.appended base.single
    fi

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
    rm -f "$D/events.ndjson"
done

{
    echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB; $(uname -srm)"
    echo "command: SIZES=\"$SIZES\" SEED=$SEED RUNS=$RUNS APPEND_MAX=$APPEND_MAX APPEND_RUNS=$APPEND_RUNS BASELINE_REV=$BASELINE_REV bench/compare.sh"
    echo "this build: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- crates Cargo.toml Cargo.lock || echo ' (crates changed since)'); baseline: ${BASELINE_REV:-none}${BASELINE:+ (${rev:0:12})}"
    echo "who-held query: $OFFICE on $DAY"
    echo
    python3 "$ROOT/bench/report.py" "$RESULTS"
} | tee "$WORK/table.txt"

if [[ -n "${OUT_DIR:-}" ]]; then
    mkdir -p "$OUT_DIR"
    cp "$RESULTS" "$WORK/table.txt" "$OUT_DIR/"
    log "results copied to $OUT_DIR"
fi

# Issue #19's figures for a ledger built one act at a time (space against its imported copy,
# a one-act append against `head`), with the same binaries; CLERK=0 skips them.
if [[ "${CLERK:-1}" == 1 ]]; then
    log "a clerk's ledger: ${CLERK_APPENDS:-10000} appends of one act (bench/clerk.py)"
    python3 "$ROOT/bench/clerk.py" --actledger "$ACTLEDGER" --gen "$GEN" --seed "$SEED" \
        --appends "${CLERK_APPENDS:-10000}" --runs "$RUNS" --work "$WORK/clerk" |
        tee -a "$WORK/table.txt" || log "bench/clerk.py failed"
fi

# Issue #18's figures (publishing and cloning) at the largest size, with the same binaries;
# PUBLISH=0 skips them.
if [[ "${PUBLISH:-1}" == 1 ]]; then
    largest=${SIZES##* }
    log "publishing and cloning at $largest events (bench/publish.sh)"
    N=$largest SEED=$SEED ACTLEDGER="$ACTLEDGER" GEN="$GEN" "$ROOT/bench/publish.sh" |
        tee -a "$WORK/table.txt" || log "bench/publish.sh failed"
fi
