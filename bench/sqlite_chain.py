#!/usr/bin/env python3
"""The sqlite3 baseline of issue #6: what a quick in-house ledger would be.

Python 3 standard library only (sqlite3, hashlib, json).

usage:
  sqlite_chain.py import NDJSON DB          one table, a SHA-256 chain, one transaction
  sqlite_chain.py who-held DB OFFICE DAY    SQL over the events, then a Python replay
  sqlite_chain.py verify DB                 rescan every row in order and rehash the chain

`import` checks that each line is a JSON object with a `type` (the least an importer checks
before it records a line for good; the spec's rules are not applied), and stores the line with
its position, recording time, previous hash and hash,
computed exactly as docs/FORMAT.md defines the entry hash (bench/chain.py), so the SHA-256
work is the same as actledger's. It commits once, at the end, with sqlite's defaults
(rollback journal, synchronous=FULL): durable when it returns.

`who-held` is the answer someone would write in an afternoon: a full scan with json_extract
for the office's events and every revocation and retraction (no index, no cache), then a
replay of the spec's rules 1-6 for that office in Python. It prints the holder, or "vacant".

`verify` reads every row in position order, recomputes every hash and link, and prints
"intact: N entries, head HASH" (exit 0) or the first bad position (exit 3).
"""
import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chain import TIME, ZERO, entry_hash, events  # noqa: E402


def do_import(ndjson, db_path):
    if os.path.exists(db_path):
        os.remove(db_path)
    db = sqlite3.connect(db_path)
    db.execute(
        "CREATE TABLE entries (seq INTEGER PRIMARY KEY, time TEXT NOT NULL,"
        " prev BLOB NOT NULL, hash BLOB NOT NULL, event TEXT NOT NULL)"
    )
    state = {"prev": ZERO, "seq": 0}

    def rows():
        for seq, event in enumerate(events(ndjson), start=1):
            # The least an importer checks before it records a line for good.
            parsed = json.loads(event)
            if not isinstance(parsed, dict) or "type" not in parsed:
                raise SystemExit(f"line {seq}: not an event (a JSON object with a type)")
            digest = entry_hash(seq, TIME, state["prev"], event)
            yield seq, TIME.decode(), state["prev"], digest, event.decode()
            state["prev"], state["seq"] = digest, seq

    with db:  # one transaction, committed at the end
        db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", rows())
    db.close()
    print(f"imported {state['seq']} entries, head {state['prev'].hex()}")
    return 0


def do_verify(db_path):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    prev, expected, last_time = ZERO, 1, ""
    for seq, time, stored_prev, digest, event in db.execute(
        "SELECT seq, time, prev, hash, event FROM entries ORDER BY seq"
    ):
        if seq != expected or stored_prev != prev or time < last_time:
            print(f"broken at {expected}")
            return 3
        if entry_hash(seq, time.encode(), prev, event.encode()) != digest:
            print(f"hash mismatch at {seq}")
            return 3
        prev, expected, last_time = digest, expected + 1, time
    print(f"intact: {expected - 1} entries, head {prev.hex()}")
    return 0


def live_sets(rows):
    """The retracted positions and the revoked acts, from every retraction and revocation."""
    retractions = sorted(
        ((seq, e["seq"]) for seq, e in rows if e["type"] == "record_retracted"),
        reverse=True,
    )
    # A retraction only names earlier positions: going down, each one's own fate is known.
    retracted = set()
    for seq, target in retractions:
        if seq not in retracted:
            retracted.add(target)
    revocations = [
        (e["act"], e["revokes"])
        for seq, e in rows
        if e["type"] == "act_revoked" and seq not in retracted
    ]
    by_target = {}
    for act, target in revocations:
        by_target.setdefault(target, []).append(act)
    memo = {}

    def revoked(act, depth=0):
        # Revocations form no cycle (the ledger refuses one), so this ends.
        if act not in memo:
            memo[act] = any(not revoked(by, depth + 1) for by in by_target.get(act, ()))
        return memo[act]

    return retracted, revoked


def replay(office_rows, retracted, revoked, day):
    """The spec's rules 1-4 for one office on one day, over its live events."""
    live = [
        (seq, e)
        for seq, e in office_rows
        if seq not in retracted and not revoked(e["act"])
    ]
    appointments = sorted(
        ((e["on"], seq, e) for seq, e in live if e["type"] == "appointed" and e["on"] <= day)
    )
    titular, since = None, None
    if appointments:
        on, _, appointed = appointments[-1]
        titular, since = appointed["person"], on
        for _, e in live:
            if (
                e["type"] == "left_office"
                and e["person"] == titular
                and on < e["on"] <= day
            ):
                titular = None
    # Absences: a leave is replayed exactly like a trip.
    away = ("trip_authorized", "leave_granted")
    trips = [e for _, e in live if e["type"] in away]
    acting = None
    for seq, e in live:
        if e["type"] != "duties_delegated":
            continue
        until = e.get("until")
        if until is None:
            bound = [t for s, t in live if t["type"] in away and s < seq and t["act"] == e["act"]]
            if not bound:
                continue
            until = bound[-1]["until"]
        if since is not None and e["from"] < since <= day:
            if not any(t["act"] == e["act"] and t["person"] == titular for t in trips):
                until = min(until, since)  # ended by the new titular (approximately: A-1)
                if until == since:
                    continue
        if e["from"] <= day <= until:
            acting = e["delegate"]  # the last recorded wins
    return acting or titular


def do_who_held(db_path, office, day):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    rows = [
        (seq, json.loads(event))
        for seq, event in db.execute(
            "SELECT seq, event FROM entries WHERE json_extract(event, '$.office') = ?"
            " OR json_extract(event, '$.type') IN ('act_revoked', 'record_retracted')"
            " ORDER BY seq",
            (office,),
        )
    ]
    retracted, revoked = live_sets(rows)
    office_rows = [(seq, e) for seq, e in rows if e.get("office") == office]
    if not office_rows:
        print(f"unknown office {office}", file=sys.stderr)
        return 1
    holder = replay(office_rows, retracted, revoked, day)
    print(f"{office} on {day}: {holder or 'vacant'}")
    return 0


def main(argv):
    commands = {
        ("import", 4): lambda: do_import(argv[2], argv[3]),
        ("who-held", 5): lambda: do_who_held(argv[2], argv[3], argv[4]),
        ("verify", 3): lambda: do_verify(argv[2]),
    }
    command = commands.get((argv[1] if len(argv) > 1 else "", len(argv)))
    if command is None:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return command()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
