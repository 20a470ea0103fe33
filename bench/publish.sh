#!/usr/bin/env bash
# Issue #18's figures at one size: publishing a static mirror and cloning it, each against the
# baseline the issue names, measured in the same run on the same files:
#   - a first `publish` against the `import` that built the ledger (target: at most 1x);
#   - `publish` after 1,000 new events (appended in one batch) in seconds (target: under 1 s),
#     with `head` on the same ledger beside it as the machine's yardstick;
#   - `clone` of the mirror from its folder against `import` of the ledger's export into a
#     fresh ledger, alternated run by run (target: at most 1.5x).
# compare.sh runs it at its largest size; see bench/README.md.
#
#   bench/publish.sh                 # 1,000,000 events
#   N=100000 RUNS=3 bench/publish.sh
#
# Environment (all optional): N (events, default 1000000), SEED (default 1), RUNS (rounds of
# the alternated clone and import, default 3), ACTLEDGER and GEN (binaries; default: built
# here in release), KEEP=1 keeps the work folder. Progress on stderr, the table on stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-1000000}
SEED=${SEED:-1}
RUNS=${RUNS:-3}
TIMEIT=(python3 "$ROOT/bench/timeit.py")

log() { printf '[publish %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/actledger-publish.XXXXXX")
cleanup() {
    if [[ "${KEEP:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

if [[ -z "${ACTLEDGER:-}" || -z "${GEN:-}" ]]; then
    log "building release binaries (actledger, actledger-gen)"
    (cd "$ROOT" && cargo build --release --quiet -p actledger-cli -p actledger-gen)
    ACTLEDGER="$ROOT/target/release/actledger"
    GEN="$ROOT/target/release/actledger-gen"
fi

# seconds JSON: the median wall time of one timeit.py object.
seconds() { python3 -c 'import json,sys; print("%.3f" % json.loads(sys.argv[1])["median_s"])' "$1"; }
rss_mib() { python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])["max_rss_kib"]/1024))' "$1"; }
ratio() { python3 -c 'import sys; print(f"{float(sys.argv[1])/float(sys.argv[2]):.2f}")' "$1" "$2"; }
verdict() { python3 -c 'import sys; print("met" if float(sys.argv[1]) <= float(sys.argv[2]) else "missed")' "$1" "$2"; }

log "generating $((N + 1000)) events (seed $SEED)"
"$GEN" --events $((N + 1000)) --seed "$SEED" --out "$WORK/all.ndjson" -q
head -n "$N" "$WORK/all.ndjson" >"$WORK/events.ndjson"
tail -n 1000 "$WORK/all.ndjson" >"$WORK/more.ndjson"
rm "$WORK/all.ndjson"
"$ACTLEDGER" keygen bench.example/actledger --out "$WORK/keys" >/dev/null
KEY="$WORK/keys/bench.example_actledger.key"
VKEY="$WORK/keys/bench.example_actledger.vkey"
L="$WORK/ledger"

log "appending $N events, then exporting them"
"$ACTLEDGER" --ledger "$WORK/built" init >/dev/null
"$ACTLEDGER" --ledger "$WORK/built" append --quiet "$WORK/events.ndjson" >/dev/null 2>&1
"$ACTLEDGER" --ledger "$WORK/built" export "$WORK/first.ndjson"
rm -rf "$WORK/built" "$WORK/events.ndjson"
# The first publish against the import that built the ledger, alternated: each round imports
# the export into a fresh ledger and publishes the ledger (imported once before) into a fresh folder
# (the order reversed every other round), so that a machine getting busier moves both alike.
log "import of the $N entries against a first publish, $RUNS rounds alternated"
import_first="$WORK/import-first.jsonl"
publish_first="$WORK/publish-first.jsonl"
"$ACTLEDGER" --ledger "$L" import "$WORK/first.ndjson" >/dev/null
for round in $(seq "$RUNS"); do
    rm -rf "$WORK/mirror" "$WORK/imported"
    if ((round % 2)); then order="import publish"; else order="publish import"; fi
    for what in $order; do
        if [[ $what == import ]]; then
            "${TIMEIT[@]}" --runs 1 -- "$ACTLEDGER" --ledger "$WORK/imported" import "$WORK/first.ndjson" >>"$import_first"
        else
            "${TIMEIT[@]}" --runs 1 -- "$ACTLEDGER" --ledger "$L" publish "$WORK/mirror" --key "$KEY" >>"$publish_first"
        fi
    done
done
rm -rf "$WORK/imported" "$WORK/first.ndjson"
import=$("${TIMEIT[@]}" --merge "$import_first")
first=$("${TIMEIT[@]}" --merge "$publish_first")
files=$(find "$WORK/mirror" -type f | wc -l)
bytes=$(du -sb "$WORK/mirror" | cut -f1)

log "1,000 new events, then publish again"
"$ACTLEDGER" --ledger "$L" append --quiet "$WORK/more.ndjson" >/dev/null 2>&1
update=$("${TIMEIT[@]}" --runs 1 -- "$ACTLEDGER" --ledger "$L" publish "$WORK/mirror" --key "$KEY")
again=$("${TIMEIT[@]}" --runs 1 -- "$ACTLEDGER" --ledger "$L" publish "$WORK/mirror" --key "$KEY")
head=$("${TIMEIT[@]}" --runs 5 -- "$ACTLEDGER" --ledger "$L" head)

log "clone from the folder against import of the export, $RUNS rounds alternated"
"$ACTLEDGER" --ledger "$L" export "$WORK/export.ndjson"
clone_runs="$WORK/clone.jsonl"
import_runs="$WORK/import.jsonl"
for round in $(seq "$RUNS"); do
    rm -rf "$WORK/clone" "$WORK/imported"
    if ((round % 2)); then order="clone import"; else order="import clone"; fi
    for what in $order; do
        if [[ $what == clone ]]; then
            "${TIMEIT[@]}" --runs 1 -- "$ACTLEDGER" clone "$WORK/mirror" "$WORK/clone" --vkey "$VKEY" >>"$clone_runs"
        else
            "${TIMEIT[@]}" --runs 1 -- "$ACTLEDGER" --ledger "$WORK/imported" import "$WORK/export.ndjson" >>"$import_runs"
        fi
    done
done
clone=$("${TIMEIT[@]}" --merge "$clone_runs")
reimport=$("${TIMEIT[@]}" --merge "$import_runs")
same=$([[ "$("$ACTLEDGER" --ledger "$WORK/clone" head)" == "$("$ACTLEDGER" --ledger "$L" head)" ]] && echo yes || echo NO)

t_import=$(seconds "$import"); t_first=$(seconds "$first"); t_update=$(seconds "$update")
t_again=$(seconds "$again"); t_head=$(seconds "$head")
t_clone=$(seconds "$clone"); t_reimport=$(seconds "$reimport")
r_first=$(ratio "$t_first" "$t_import"); r_clone=$(ratio "$t_clone" "$t_reimport")

echo "## Publishing and cloning at $N events (seed $SEED, $(git -C "$ROOT" rev-parse --short HEAD))"
echo
echo "| figure | measured | baseline | ratio | target | verdict |"
echo "|---|---|---|---|---|---|"
echo "| first \`publish\` ($files files, $((bytes / 1048576)) MiB; median of $RUNS) | ${t_first} s, $(rss_mib "$first") MiB | \`import\` ${t_import} s | ${r_first}x | <= 1x | $(verdict "$r_first" 1) |"
echo "| \`publish\` after 1,000 new events | ${t_update} s, $(rss_mib "$update") MiB | \`head\` ${t_head} s | $(ratio "$t_update" "$t_head")x | < 1 s | $(verdict "$t_update" 0.999) |"
echo "| \`publish\` with nothing new | ${t_again} s | | | | |"
echo "| \`clone\` from the folder (median of $RUNS, same head: $same) | ${t_clone} s, $(rss_mib "$clone") MiB | \`import\` of the export ${t_reimport} s | ${r_clone}x | <= 1.5x | $(verdict "$r_clone" 1.5) |"
