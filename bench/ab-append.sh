#!/usr/bin/env bash
# Compares the append path of two actledger binaries, alternated on the same machine in the
# same run (the machines are shared and noisy: only the ratio means something).
#
#   bench/ab-append.sh OLD_BIN NEW_BIN [EVENTS] [BATCH] [ROUNDS]
#
# For each round and binary: a fresh ledger filled by EVENTS generated events appended
# BATCH lines at a time (one `actledger append` process per batch), then 20 single-act
# appends on it (each a new process, durable). Prints seconds per round and the medians.
set -euo pipefail
old=$1 new=$2 events=${3:-100000} batch=${4:-1000} rounds=${5:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gen="$here/target/release/actledger-gen"
[ -x "$gen" ] || cargo build --release -q -p actledger-gen --manifest-path "$here/Cargo.toml"
"$gen" --events "$events" --seed 14 > "$work/events.ndjson"
split -l "$batch" -d -a 5 "$work/events.ndjson" "$work/batch."
run() { # BIN -> "fill_seconds single_median_ms"
  local bin=$1 db="$work/ledger.db"
  rm -rf "$db"
  "$bin" --ledger "$db" init > /dev/null
  local t0 t1
  t0=$(date +%s.%N)
  for f in "$work"/batch.*; do "$bin" --ledger "$db" append "$f" > /dev/null; done
  t1=$(date +%s.%N)
  local singles=()
  for i in $(seq 1 20); do
    local a b
    a=$(date +%s%N)
    "$bin" --ledger "$db" append act --act "RS-$i-2099-AB" --kind resolucion_suprema \
      --issuer PCM --issued-on 2099-01-01 > /dev/null
    b=$(date +%s%N)
    singles+=($(( (b - a) / 1000000 )))
  done
  local median
  median=$(printf '%s\n' "${singles[@]}" | sort -n | sed -n 10p)
  echo "$(echo "$t1 - $t0" | bc) $median"
}
echo "events=$events batch=$batch rounds=$rounds"
for r in $(seq 1 "$rounds"); do
  o=$(run "$old"); n=$(run "$new")
  echo "round $r: old fill ${o% *} s, single ${o#* } ms | new fill ${n% *} s, single ${n#* } ms"
  echo "$o" >> "$work/old"; echo "$n" >> "$work/new"
done
med() { sort -n | sed -n "$(( (rounds + 1) / 2 ))p"; }
of=$(cut -d' ' -f1 "$work/old" | med); nf=$(cut -d' ' -f1 "$work/new" | med)
os=$(cut -d' ' -f2 "$work/old" | med); ns=$(cut -d' ' -f2 "$work/new" | med)
echo "median fill: old $of s, new $nf s, new/old $(echo "scale=3; $nf / $of" | bc)"
echo "median single append: old $os ms, new $ns ms"
