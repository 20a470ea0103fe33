#!/usr/bin/env python3
"""Prints compare.sh's results as tables, then issue #6's and issue #17's target ratios, each
met or missed.

usage: report.py RESULTS.tsv     (lines of: size TAB key TAB value, as compare.sh records them)

The targets are judged at the largest size measured; "flat in N" compares it with 10,000
events (or the smallest size measured). Issue #17's ratios are of commands measured in turn in
the same run (compare.sh's measure_alt): who-held --proof against who-held, checkpoint against
head, this build's appends against the baseline's.
"""
import sys
from collections import defaultdict

MIB = 1024  # ru_maxrss is in KiB


def load(path):
    data = defaultdict(dict)
    with open(path) as f:
        for line in f:
            size, key, value = line.rstrip("\n").split("\t")
            data[int(size)][key] = value
    return data


class Size:
    def __init__(self, n, values):
        self.n, self.v = n, values

    def status(self, key):
        return self.v.get(f"{key}.status", "not run")

    def secs(self, key):
        return float(self.v[f"{key}.s"]) if self.status(key) == "ok" else None

    def num(self, key):
        return float(self.v[key]) if key in self.v else None

    def rate(self, key):
        """Events per second of a bulk load."""
        s = self.secs(key)
        return self.n / s if s else None

    def mbps(self, key):
        """MB/s of export bytes."""
        s, b = self.secs(key), self.num("export.bytes")
        return b / 1e6 / s if s and b else None

    def ms(self, key):
        s = self.secs(key)
        return s * 1e3 if s is not None else None

    def rss(self, key):
        if self.status(key) != "ok":
            return None
        return float(self.v[f"{key}.rss"]) / MIB

    def per_event(self, key):
        b = self.num(key)
        return b / self.n if b is not None else None


def fmt(value, digits=0, why=None):
    if value is None:
        return why or "-"
    return f"{value:,.{digits}f}"


def table(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for j, r in enumerate(rows):
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        out.append("  ".join(cells).rstrip())
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def size_table(s):
    why = lambda key: None if s.status(key) == "ok" else s.status(key)  # noqa: E731
    ndjson = s.per_event("ndjson.bytes")
    print(
        f"== {s.n:,} events: {s.num('ndjson.bytes') / 1e6:,.1f} MB of NDJSON ({ndjson:,.1f} B/event), "
        f"{s.num('export.bytes') / 1e6:,.1f} MB of export; generated in {fmt(s.secs('gen'), 2)} s "
        f"with {fmt(s.rss('gen'), 1)} MiB peak =="
    )
    rows = [
        ["", "actledger", "sqlite3 chain", "raw sled ceiling", "SHA-256 (openssl)"],
        [
            "import of the export (events/s)",
            fmt(s.rate("al.import"), why=why("al.import")),
            fmt(s.rate("sq.import"), why=why("sq.import")),
            fmt(s.rate("sl.import"), why=why("sl.import")),
            "",
        ],
        ["append of the NDJSON, one batch (events/s)", fmt(s.rate("al.append"), why=why("al.append")), "", "", ""],
        [
            "who-held, cold process, median (ms); sled: opening the ledger's database alone",
            fmt(s.ms("al.who"), 1, why("al.who")),
            fmt(s.ms("sq.who"), 1, why("sq.who")),
            fmt(s.ms("sl.open"), 1, why("sl.open")),
            "",
        ],
        [
            "verify --log-only (MB/s of export bytes)",
            fmt(s.mbps("al.verifylog"), 1, why("al.verifylog")),
            "",
            "",
            "",
        ],
        ["verify, answers included (s)", fmt(s.secs("al.verify"), 2, why("al.verify")), "", "", ""],
        ["repair, one derived record removed (s)", fmt(s.secs("al.repair"), 2, why("al.repair")), "", "", ""],
        ["import of the export (s)", fmt(s.secs("al.import"), 2, why("al.import")), "", "", ""],
        [
            "verify, answers included (MB/s of export bytes)",
            fmt(s.mbps("al.verify"), 1, why("al.verify")),
            fmt(s.mbps("sq.verify"), 1, why("sq.verify")),
            fmt(s.mbps("sl.verify"), 1, why("sl.verify")),
            fmt(s.mbps("sha"), 1, why("sha")),
        ],
        [
            "disk (bytes/event; imported ledger)",
            fmt(s.per_event("al.disk")),
            fmt(s.per_event("sq.disk")),
            fmt(s.per_event("sl.disk")),
            "",
        ],
        ["disk (bytes/event; appended ledger)", fmt(s.per_event("al.append.disk")), "", "", ""],
        [
            "peak RSS, import (MiB)",
            fmt(s.rss("al.import"), 1),
            fmt(s.rss("sq.import"), 1),
            fmt(s.rss("sl.import"), 1),
            "",
        ],
        ["peak RSS, append one batch (MiB)", fmt(s.rss("al.append"), 1), "", "", ""],
        ["peak RSS, who-held (MiB)", fmt(s.rss("al.who"), 1), fmt(s.rss("sq.who"), 1), "", ""],
        [
            "peak RSS, verify (MiB)",
            fmt(s.rss("al.verify"), 1),
            fmt(s.rss("sq.verify"), 1),
            fmt(s.rss("sl.verify"), 1),
            fmt(s.rss("sha"), 1),
        ],
        ["head, cold process, median (ms)", fmt(s.ms("al.head"), 1, why("al.head")), "", "", ""],
        [
            "durable append of one act (3 events), median (ms)",
            fmt(s.ms("al.single"), 1, why("al.single")),
            "",
            "",
            "",
        ],
    ]
    print(table(rows))
    print()
    proofs_table(s)


def ratio(a, b):
    return a / b if a is not None and b else None


def times(value, digits=2):
    return f"{value:,.{digits}f}x" if value is not None else ""


def proofs_table(s):
    """Issue #17: answer proofs on the imported ledger, and appends against the baseline."""
    why = lambda key: None if s.status(key) == "ok" else s.status(key)  # noqa: E731

    def row(name, key, against_name, against, value=None, digits=1):
        value = value if value is not None else s.ms(key)
        other = s.ms(against) if against else None
        return [
            name,
            fmt(value, digits, why(key)),
            f"{against_name} {fmt(other, digits, why(against))}" if against else "",
            times(ratio(value, other)),
        ]

    def base_row(name, value_of, key, base_key, digits=1):
        this, base = value_of(key), value_of(base_key)
        return [
            name,
            fmt(this, digits, why(key)),
            f"baseline {fmt(base, digits, why(base_key))}",
            times(ratio(this, base)),
        ]

    bundle = s.num("pf.bundle.bytes")
    rows = [
        ["answer proofs and appends (issue #17)", "this build", "compared with", "ratio"],
        ["answer bundle of who-held --proof (bytes)", fmt(bundle, why=why("pf.prove")), "", ""],
        row("who-held --proof, newest checkpoint at the head, cold (ms)", "pf.prove", "who-held", "pf.who"),
        row("who-held --proof, an older checkpoint, cold (ms)", "pf.oldprove", "who-held", "pf.oldwho"),
        row("check-answer of the bundle, cold (ms)", "pf.check", "", None),
        row("checkpoint --key, cold (ms)", "pf.checkpoint", "head", "pf.head"),
        [
            "peak RSS: who-held --proof / check-answer / checkpoint (MiB)",
            " / ".join(fmt(s.rss(k), 1) for k in ("pf.prove", "pf.check", "pf.checkpoint")),
            "",
            "",
        ],
        base_row("append of the NDJSON, one batch (s)", s.secs, "al.append", "base.append", 2),
        base_row("peak RSS, append one batch (MiB)", s.rss, "al.append", "base.append"),
        base_row(
            "durable append of one act (3 events) on that ledger, median (ms)",
            s.ms,
            "al.single.appended",
            "base.single",
        ),
    ]
    print(table(rows))
    print()


def targets(sizes):
    big = sizes[-1]
    small = next((s for s in sizes if s.n == 10_000), sizes[0])
    rows = [["target (at %s events)" % f"{big.n:,}", "measured", "verdict"]]

    def check(name, value, goal, higher_is_better=True, unit="x", missing="not measured"):
        if value is None:
            rows.append([name, missing, "n/a"])
            return
        met = value >= goal if higher_is_better else value <= goal
        rows.append([name, f"{value:,.2f}{unit}", "met" if met else "MISSED"])

    check("import >= 0.8x raw sled ceiling", ratio(big.rate("al.import"), big.rate("sl.import")), 0.8)
    check(
        "append (one batch) >= 0.8x raw sled ceiling",
        ratio(big.rate("al.append"), big.rate("sl.import")),
        0.8,
        missing=big.status("al.append"),
    )
    check("import >= 1.5x sqlite3 chain", ratio(big.rate("al.import"), big.rate("sq.import")), 1.5)
    check(
        "append (one batch) >= 1.5x sqlite3 chain",
        ratio(big.rate("al.append"), big.rate("sq.import")),
        1.5,
        missing=big.status("al.append"),
    )
    check(
        f"who-held <= 1.5x its time at {small.n:,} events",
        ratio(big.ms("al.who"), small.ms("al.who")),
        1.5,
        higher_is_better=False,
    )
    # Context, not a target: what a cold who-held costs beyond sled's own open of the same
    # database, which no layout above sled can avoid.
    beyond = [
        (size, size.ms("al.who") - size.ms("sl.open"))
        for size in (small, big)
        if size.ms("al.who") is not None and size.ms("sl.open") is not None
    ]
    if len(beyond) == 2:
        (_, a), (_, b) = beyond
        rows.append(
            [
                f"  (context) who-held beyond sled's open: {a:,.1f} ms at {small.n:,}, "
                f"{b:,.1f} ms at {big.n:,}; sled's open {ratio(big.ms('sl.open'), small.ms('sl.open')):,.2f}x",
                "",
                "",
            ]
        )
    check("who-held >= 20x faster than sqlite3", ratio(big.ms("sq.who"), big.ms("al.who")), 20)
    check("verify --log-only >= 2x sqlite3", ratio(big.mbps("al.verifylog"), big.mbps("sq.verify")), 2)
    check(
        "verify --log-only >= 0.3x SHA-256 over the same bytes",
        ratio(big.mbps("al.verifylog"), big.mbps("sha")),
        0.3,
    )
    check(
        "verify (answers included) <= 0.5x import time",
        ratio(big.secs("al.verify"), big.secs("al.import")),
        0.5,
        higher_is_better=False,
    )
    check("peak RSS of verify (answers included) <= 256 MiB", big.rss("al.verify"), 256, False, " MiB")
    check(
        "repair <= 1x import time",
        ratio(big.secs("al.repair"), big.secs("al.import")),
        1,
        higher_is_better=False,
    )
    check(
        "disk <= 1.5x NDJSON bytes",
        ratio(big.num("al.disk"), big.num("ndjson.bytes")),
        1.5,
        higher_is_better=False,
    )
    check("peak RSS of import <= 256 MiB", big.rss("al.import"), 256, False, " MiB")
    check("peak RSS of a query <= 64 MiB", big.rss("al.who"), 64, False, " MiB")
    check(
        "one durable append of one act <= 2x head",
        ratio(big.ms("al.single"), big.ms("al.head")),
        2,
        higher_is_better=False,
    )
    print(table(rows))
    print()
    targets_17(big)


def targets_17(big):
    """Issue #17's targets, at the largest size measured."""
    rows = [["issue #17 target (at %s events)" % f"{big.n:,}", "measured", "verdict"]]

    def check(name, value, goal, unit="x", missing=None, digits=2):
        if value is None:
            rows.append([name, missing or "not measured", "n/a"])
            return
        rows.append([name, f"{value:,.{digits}f}{unit}", "met" if value <= goal else "MISSED"])

    def status(*keys):
        return next((big.status(k) for k in keys if big.status(k) != "ok"), None)

    check("answer bundle <= 4 KiB", big.num("pf.bundle.bytes"), 4096, " bytes", status("pf.prove"), 0)
    check(
        "who-held --proof <= 2x who-held (newest checkpoint at the head)",
        ratio(big.ms("pf.prove"), big.ms("pf.who")),
        2,
        missing=status("pf.prove", "pf.who"),
    )
    check("check-answer <= 50 ms", big.ms("pf.check"), 50, " ms", status("pf.check"), 1)
    check(
        "checkpoint --key <= 2x head",
        ratio(big.ms("pf.checkpoint"), big.ms("pf.head")),
        2,
        missing=status("pf.checkpoint", "pf.head"),
    )
    check(
        "append of the NDJSON, one batch <= 1.1x the baseline's time",
        ratio(big.secs("al.append"), big.secs("base.append")),
        1.1,
        missing=status("al.append", "base.append"),
    )
    check(
        "durable append of one act <= 1.1x the baseline's",
        ratio(big.ms("al.single.appended"), big.ms("base.single")),
        1.1,
        missing=status("al.single.appended", "base.single"),
    )
    context = []
    old = ratio(big.ms("pf.oldprove"), big.ms("pf.oldwho"))
    if old is not None:
        context.append(f"who-held --proof against an older checkpoint {old:,.2f}x who-held")
    rss = ratio(big.rss("al.append"), big.rss("base.append"))
    if rss is not None:
        context.append(f"peak RSS of the one-batch append {rss:,.2f}x the baseline's")
    if context:
        rows.append([f"  (context, no target) {'; '.join(context)}", "", ""])
    print(table(rows))


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    data = load(argv[1])
    sizes = [Size(n, data[n]) for n in sorted(data)]
    if not sizes:
        print("no results", file=sys.stderr)
        return 1
    for s in sizes:
        size_table(s)
    targets(sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
