#!/usr/bin/env python3
"""Issue #19's figures for a ledger built the way a clerk builds it: one act per `append`.

usage: clerk.py --actledger BIN --gen BIN [--appends N] [--seed S] [--runs K] --work DIR

Generates events with actledger-gen, splits them into acts (each run of consecutive lines
with the same "act" is one append: the act and the events it grounds, as a clerk records a
resolution), and appends the first N acts one process at a time into a fresh ledger. Then:

- space: the ledger's bytes on disk against those of a fresh ledger made by `import` of its
  export (target: at most 1.5x);
- the durable append of one act, the median of the last K appends, against `head` on the same
  ledger, K cold runs alternated with K more appends (target: at most 2x);
- a cold `who-held` on the appended ledger against the imported copy (no target: context for
  the cold-query target, which compares sizes).

Prints a table and the verdicts; with --json, one JSON object instead. Every figure comes from
this run: ratios are measured side by side, since the machine is shared and noisy.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def run(cmd, stdin=None):
    """Runs `cmd` as a whole process; returns its wall time in seconds. Fails loudly."""
    started = time.perf_counter()
    done = subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"clerk.py: {' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()}")
    return elapsed


def disk_bytes(path):
    """Bytes of the regular files under `path` (what `du -b` counts for them)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return total


def acts_of(ndjson):
    """The input split into acts: runs of consecutive lines naming the same act."""
    acts, current, current_act = [], [], None
    for line in ndjson.splitlines(keepends=True):
        act = json.loads(line).get("act")
        if current and act != current_act:
            acts.append(b"".join(current))
            current = []
        current.append(line)
        current_act = act
    if current:
        acts.append(b"".join(current))
    return acts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actledger", required=True)
    parser.add_argument("--gen", required=True)
    parser.add_argument("--appends", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--work", required=True)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    os.makedirs(args.work, exist_ok=True)
    appended = os.path.join(args.work, "appended")
    imported = os.path.join(args.work, "imported")
    export = os.path.join(args.work, "export.ndjson")
    for path in (appended, imported):
        subprocess.run(["rm", "-rf", path], check=True)

    # Generated acts hold 2 to 3 events each; ask for enough and keep the first N, plus the
    # K measured at the end.
    wanted = args.appends + args.runs
    events = subprocess.run(
        [args.gen, "--events", str(wanted * 4), "--seed", str(args.seed), "--quiet"],
        check=True, capture_output=True).stdout
    acts = acts_of(events)
    if len(acts) < wanted:
        sys.exit(f"clerk.py: {len(acts)} acts generated, {wanted} wanted")

    ledger = [args.actledger, "--ledger", appended]
    run(ledger + ["init"])
    started = time.perf_counter()
    for number, act in enumerate(acts[:args.appends], 1):
        run(ledger + ["append", "--quiet", "-"], stdin=act)
        if number % 1000 == 0:
            print(f"[clerk] {number} appends, {time.perf_counter() - started:.0f} s",
                  file=sys.stderr)
    fill_s = time.perf_counter() - started

    # One append and one `head`, alternated, K times, on the ledger as it grows by K acts.
    append_s, head_s = [], []
    for act in acts[args.appends:wanted]:
        append_s.append(run(ledger + ["append", "--quiet", "-"], stdin=act))
        head_s.append(run(ledger + ["head"]))

    run(ledger + ["export", export])
    run([args.actledger, "--ledger", imported, "import", export])
    space = (disk_bytes(appended), disk_bytes(imported))

    # A cold who-held on each, alternated: the office of the first appointment.
    office = next(json.loads(line)["office"] for line in events.splitlines()
                  if b'"appointed"' in line)
    query = ["who-held", office, "--on", "2000-01-01"]
    who_appended, who_imported = [], []
    for _ in range(args.runs):
        who_appended.append(run(ledger + query))
        who_imported.append(run([args.actledger, "--ledger", imported] + query))

    events_count = sum(act.count(b"\n") for act in acts[:wanted])
    figures = {
        "appends": wanted,
        "events": events_count,
        "fill_s": round(fill_s, 2),
        "appended_bytes": space[0],
        "imported_bytes": space[1],
        "space_ratio": round(space[0] / space[1], 2),
        "append_ms": round(statistics.median(append_s) * 1000, 1),
        "head_ms": round(statistics.median(head_s) * 1000, 1),
        "append_head_ratio": round(statistics.median(append_s) / statistics.median(head_s), 2),
        "who_held_appended_ms": round(statistics.median(who_appended) * 1000, 1),
        "who_held_imported_ms": round(statistics.median(who_imported) * 1000, 1),
    }
    if args.json:
        print(json.dumps(figures))
        return
    verdict = lambda ok: "met" if ok else "MISSED"
    print(f"\n== a clerk's ledger: {figures['appends']:,} appends of one act "
          f"({figures['events']:,} events), filled in {figures['fill_s']:.1f} s ==")
    print(f"disk: appended {space[0]:,} bytes, its export imported {space[1]:,} bytes: "
          f"{figures['space_ratio']:.2f}x (target <= 1.5x) {verdict(figures['space_ratio'] <= 1.5)}")
    print(f"durable append of one act {figures['append_ms']} ms, head {figures['head_ms']} ms "
          f"(medians of {args.runs}, alternated): {figures['append_head_ratio']:.2f}x "
          f"(target <= 2x) {verdict(figures['append_head_ratio'] <= 2)}")
    print(f"who-held cold: appended ledger {figures['who_held_appended_ms']} ms, "
          f"imported copy {figures['who_held_imported_ms']} ms (context)")


if __name__ == "__main__":
    main()
