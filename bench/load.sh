#!/usr/bin/env bash
# Load test of the HTTP server: holder queries at concurrency 1, 16 and 64, 10 s each, on the
# loopback interface only. Prints requests/s, p50/p99 latency and the count of non-2xx/3xx
# answers for each, then stops the server.
#
#   bench/load.sh                 # generates a ledger of 100,000 events with actledger-gen
#   bench/load.sh --events 300000 # a bigger one
#   bench/load.sh PATH            # an existing ledger (not in use; it is only read)
#   SERVE=other/serve bench/load.sh PATH   # another build's server (a baseline), same queries
#
# Needs wrk (apt-get install -y wrk), curl and python3. Builds the release binaries first.
# Bounded: about 35 s of load, plus building and, without PATH, generating the ledger.
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=100000
LEDGER=""
DURATION=10s
while [ $# -gt 0 ]; do
    case "$1" in
        --events) EVENTS="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) LEDGER="$1"; shift ;;
    esac
done

for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "bench/load.sh needs $tool" >&2; exit 1; }
done

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "building release binaries..." >&2
# Two invocations: with `--example`, cargo builds only that example, not the binaries.
cargo build --release --quiet -p actledger-server --example serve
if [ -z "$LEDGER" ]; then
    cargo build --release --quiet -p actledger-cli -p actledger-gen
fi
BIN=target/release

if [ -z "$LEDGER" ]; then
    LEDGER="$WORK/ledger"
    echo "generating $EVENTS events and recording them..." >&2
    "$BIN/actledger-gen" --events "$EVENTS" --out "$WORK/events.ndjson" --quiet
    "$BIN/actledger" --ledger "$LEDGER" init >/dev/null
    "$BIN/actledger" --ledger "$LEDGER" append "$WORK/events.ndjson" >/dev/null
    rm -f "$WORK/events.ndjson"
fi

# The server picks a free loopback port and says which.
"${SERVE:-$BIN/examples/serve}" "$LEDGER" 127.0.0.1:0 2>"$WORK/serve.log" &
SERVER_PID=$!
BASE=""
for _ in $(seq 1 300); do
    BASE="$(sed -n 's/^serving at \(http:\/\/127\.0\.0\.1:[0-9]*\)$/\1/p' "$WORK/serve.log")"
    [ -n "$BASE" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$BASE" ] || { echo "the server did not start" >&2; cat "$WORK/serve.log" >&2; exit 1; }
SIZE="$(curl -sf "$BASE/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')"
echo "serving $LEDGER ($SIZE entries) at $BASE" >&2

# 2,000 holder queries over every office and days across its history, deterministic.
curl -sf "$BASE/api/v1/offices" >"$WORK/offices.json"
python3 - "$BASE" "$WORK/offices.json" "$WORK/queries.lua" <<'PY'
import json, random, sys, urllib.request, datetime
base, offices_file, out = sys.argv[1:4]
offices = [o["office"] for o in json.load(open(offices_file))["offices"]]
if not offices:
    sys.exit("the ledger names no office")
spans = {}
for office in offices[:50]:
    with urllib.request.urlopen(f"{base}/api/v1/offices/{office}/timeline") as r:
        rows = json.load(r)["history"]
    days = [row["from"] for row in rows] + [row["until"] for row in rows if row["until"]]
    if days:
        spans[office] = (min(days), max(days))
rng = random.Random(1)
paths = []
for _ in range(2000):
    office = rng.choice(list(spans) or offices)
    lo, hi = spans.get(office, ("2000-01-01", "2000-12-31"))
    a = datetime.date.fromisoformat(lo)
    b = datetime.date.fromisoformat(hi)
    day = a + datetime.timedelta(days=rng.randint(0, max((b - a).days, 0)))
    paths.append(f"/api/v1/offices/{office}/holder?on={day.isoformat()}")
with open(out, "w") as f:
    f.write("local paths = {\n")
    for p in paths:
        f.write(f'  "{p}",\n')
    f.write("}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(\"GET\", paths[(i % #paths) + 1])\nend\n")
PY

printf '\n%-12s %12s %10s %10s %10s\n' concurrency "requests/s" p50 p99 non-2xx
for c in 1 16 64; do
    threads=$(( c < 2 ? 1 : 2 ))
    wrk -t "$threads" -c "$c" -d "$DURATION" --timeout 10s --latency -s "$WORK/queries.lua" "$BASE" >"$WORK/wrk-$c.txt"
    rps="$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk-$c.txt")"
    p50="$(awk '$1 == "50%" {print $2}' "$WORK/wrk-$c.txt")"
    p99="$(awk '$1 == "99%" {print $2}' "$WORK/wrk-$c.txt")"
    bad="$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$WORK/wrk-$c.txt")"
    errors="$(awk '/Socket errors:/ {print}' "$WORK/wrk-$c.txt")"
    printf '%-12s %12s %10s %10s %10s\n' "$c" "$rps" "$p50" "$p99" "${bad:-0}"
    [ -z "$errors" ] || echo "  $errors"
done
echo
echo "stopping the server" >&2
