"""The entry hash and export line of docs/FORMAT.md, shared by the bench scripts.

Python 3 standard library only. `python3 bench/chain.py export NDJSON EXPORT` turns a file of
canonical events (what `actledger-gen` writes) into the export a ledger holding them would
write, every entry recorded at one fixed time: `actledger import` accepts it as is.
"""
import hashlib
import struct
import sys

FORMAT_VERSION = 1
#: The recording time the bench gives every entry (27 bytes, as FORMAT.md requires).
TIME = b"2026-01-01T00:00:00.000000Z"
ZERO = bytes(32)
_HEAD = b"actledger/entry\x00" + struct.pack(">I", FORMAT_VERSION)


def entry_hash(seq, time, prev, event):
    """SHA-256 over the encoding of FORMAT.md section 1."""
    return hashlib.sha256(
        b"".join(
            (
                _HEAD,
                struct.pack(">QI", seq, len(time)),
                time,
                prev,
                struct.pack(">I", len(event)),
                event,
            )
        )
    ).digest()


def export_line(seq, time, prev, digest, event):
    """One export line, newline included."""
    return b"".join(
        (
            b'{"seq":%d,"time":"' % seq,
            time,
            b'","prev":"',
            prev.hex().encode(),
            b'","hash":"',
            digest.hex().encode(),
            b'","event":',
            event,
            b"}\n",
        )
    )


def events(path):
    """The event lines of an NDJSON file, without line ends, blank lines skipped."""
    with open(path, "rb") as f:
        for line in f:
            line = line.rstrip(b"\r\n")
            if line.strip():
                yield line


def write_export(ndjson, out_path):
    prev, seq = ZERO, 0
    with open(out_path, "wb", buffering=1 << 20) as out:
        for seq, event in enumerate(events(ndjson), start=1):
            digest = entry_hash(seq, TIME, prev, event)
            out.write(export_line(seq, TIME, prev, digest, event))
            prev = digest
    return seq, prev


def main(argv):
    if len(argv) != 4 or argv[1] != "export":
        print("usage: chain.py export NDJSON EXPORT", file=sys.stderr)
        return 2
    count, head = write_export(argv[2], argv[3])
    print(f"{count} entries, head {head.hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
