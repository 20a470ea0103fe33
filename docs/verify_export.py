#!/usr/bin/env python3
"""Verify an actledger export, knowing nothing but docs/FORMAT.md (Python 3 standard library).

usage: verify_export.py EXPORT      (EXPORT may be - for standard input)

Checks every line's form, position, link, recording time and hash. Prints
"intact: N entries, head HASH" and exits 0, or "line N: what is wrong" and exits 1;
exits 2 when the file cannot be read. The events themselves are only checked to be JSON
objects: the rules of the spec are the ledger's business, the chain is this script's.
"""
import hashlib
import json
import re
import sys

FORMAT_VERSION = 1
LINE = re.compile(
    rb'\{"seq":([1-9][0-9]*),'
    rb'"time":"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z)",'
    rb'"prev":"([0-9a-f]{64})","hash":"([0-9a-f]{64})","event":(\{.*\})\}\n'
)


def entry_hash(seq, time, prev, event):
    h = hashlib.sha256(b"actledger/entry\x00")
    h.update(FORMAT_VERSION.to_bytes(4, "big"))
    h.update(seq.to_bytes(8, "big"))
    h.update(len(time).to_bytes(4, "big") + time)
    h.update(prev)
    h.update(len(event).to_bytes(4, "big") + event)
    return h.digest()


def verify(lines):
    """Returns (None, count, head) or (problem, line, None)."""
    prev, last_time, n = bytes(32), b"", 0
    for n, line in enumerate(lines, start=1):
        m = LINE.fullmatch(line)
        if m is None:
            return "not an export line (see docs/FORMAT.md)", n, None
        seq, time, prev_hex, hash_hex, event = m.groups()
        if int(seq) != n:
            return f"holds entry {int(seq)} where entry {n} belongs", n, None
        if bytes.fromhex(prev_hex.decode()) != prev:
            return "broken link: prev is not the hash of the line before", n, None
        if time < last_time:
            return "time went back: recorded before the line before", n, None
        try:
            if not isinstance(json.loads(event), dict):
                raise ValueError("not an object")
        except ValueError as e:
            return f"the event is not a JSON object: {e}", n, None
        computed = entry_hash(n, time, prev, event)
        if computed.hex() != hash_hex.decode():
            return f"hash mismatch: the line hashes to {computed.hex()}", n, None
        prev, last_time = computed, time
    return None, n, prev


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        if argv[1] == "-":
            problem, n, head = verify(sys.stdin.buffer)
        else:
            with open(argv[1], "rb") as f:
                problem, n, head = verify(f)
    except OSError as e:
        print(f"cannot read {argv[1]}: {e}", file=sys.stderr)
        return 2
    if problem is not None:
        print(f"line {n}: {problem}")
        return 1
    print(f"intact: {n} entries, head {head.hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
