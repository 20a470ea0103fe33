#!/usr/bin/env python3
"""Runs a command as whole processes and reports its wall time and peak memory, as JSON.

usage: timeit.py [--runs K] [--timeout SECONDS] [--stdout FILE] -- COMMAND [ARGS...]
                 [--- COMMAND2 [ARGS...] ...]
       timeit.py --merge FILE

Every `{i}` in the arguments becomes the run's number (1..K), so each run can be given its
own input (a new act for every append). Prints one JSON object:
{"runs": K, "median_s": ..., "min_s": ..., "max_s": ..., "max_rss_kib": ..., "status": "ok"}
with status "timeout" or "failed" (and the command's stderr on this script's stderr, exit 1)
when a run does not succeed.

Several commands, separated by `---`, are run in turn, K rounds of one run each (A B, then
B A, and so on: the order reverses every round), so that a machine that gets busier or
quieter during the measurement moves them alike: on a shared machine only ratios measured
this way mean something. One JSON object per command is printed, one per line, in the
order given; when a run does not succeed the measurement stops there, and each command's
object has the status "timeout" or "failed" (the one that failed) or "stopped". `--stdout`
takes the first command's standard output (the others' is discarded).

`--merge FILE` reads objects printed by single runs (`--runs 1`), one per line, for runs
that needed work between them (a fresh ledger made for each), and prints them as one: the
median over them, the largest peak; the status of the first that did not succeed, if any.

Wall time is measured around fork, exec and wait (time.perf_counter). Peak memory is the
child's ru_maxrss from wait4(2): the number `/usr/bin/time -v` prints as "Maximum resident
set size" (KiB on Linux); the largest over the runs is reported.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def run_once(argv, timeout, stdout_path):
    with tempfile.TemporaryFile() as err, open(stdout_path, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        if timer:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        message = err.read().decode(errors="replace")
    if timed_out.is_set():
        return "timeout", elapsed, usage.ru_maxrss, message
    if proc.returncode != 0:
        return "failed", elapsed, usage.ru_maxrss, message
    return "ok", elapsed, usage.ru_maxrss, message


def merge(path):
    with open(path) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    if not runs:
        print(json.dumps({"runs": 0, "status": "failed", "max_rss_kib": 0}))
        return 1
    rss = max(run.get("max_rss_kib", 0) for run in runs)
    failed = next((run for run in runs if run.get("status") != "ok"), None)
    if failed:
        print(json.dumps({"runs": len(runs), "status": failed.get("status", "failed"), "max_rss_kib": rss}))
        return 1
    times = [run["median_s"] for run in runs]
    print(
        json.dumps(
            {
                "runs": len(runs),
                "median_s": statistics.median(times),
                "min_s": min(times),
                "max_s": max(times),
                "max_rss_kib": rss,
                "status": "ok",
            }
        )
    )
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--merge":
        return merge(argv[2])
    runs, timeout, stdout_path = 1, None, os.devnull
    args = argv[1:]
    while args and args[0] != "--":
        flag, value, args = args[0], args[1] if len(args) > 1 else None, args[2:]
        if flag == "--runs":
            runs = int(value)
        elif flag == "--timeout":
            timeout = float(value)
        elif flag == "--stdout":
            stdout_path = value
        else:
            print(__doc__.strip(), file=sys.stderr)
            return 2
    if not args or len(args) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    commands = [[]]
    for a in args[1:]:
        if a == "---":
            commands.append([])
        else:
            commands[-1].append(a)
    if any(not command for command in commands):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    times = [[] for _ in commands]
    rss = [0] * len(commands)
    for i in range(1, runs + 1):
        order = range(len(commands)) if i % 2 else reversed(range(len(commands)))
        for c in order:
            argv_i = [a.replace("{i}", str(i)) for a in commands[c]]
            out = stdout_path if c == 0 else os.devnull
            status, elapsed, maxrss, message = run_once(argv_i, timeout, out)
            rss[c] = max(rss[c], maxrss)
            if status != "ok":
                sys.stderr.write(message[-2000:])
                for d in range(len(commands)):
                    print(
                        json.dumps(
                            {
                                "runs": len(times[d]) + (d == c),
                                "status": status if d == c else "stopped",
                                "elapsed_s": elapsed if d == c else None,
                                "max_rss_kib": rss[d],
                            }
                        )
                    )
                return 1
            times[c].append(elapsed)
    for c in range(len(commands)):
        print(
            json.dumps(
                {
                    "runs": runs,
                    "median_s": statistics.median(times[c]),
                    "min_s": min(times[c]),
                    "max_s": max(times[c]),
                    "max_rss_kib": rss[c],
                    "status": "ok",
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
