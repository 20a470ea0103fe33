#!/usr/bin/env python3
"""Runs a command as whole processes and reports its wall time and peak memory, as JSON.

usage: timeit.py [--runs K] [--timeout SECONDS] [--stdout FILE] -- COMMAND [ARGS...]

Every `{i}` in the arguments becomes the run's number (1..K), so each run can be given its
own input (a new act for every append). Prints one JSON object:
{"runs": K, "median_s": ..., "min_s": ..., "max_s": ..., "max_rss_kib": ..., "status": "ok"}
with status "timeout" or "failed" (and the command's stderr on this script's stderr, exit 1)
when a run does not succeed.

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


def main(argv):
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
    command = args[1:]
    times, rss = [], 0
    for i in range(1, runs + 1):
        argv_i = [a.replace("{i}", str(i)) for a in command]
        status, elapsed, maxrss, message = run_once(argv_i, timeout, stdout_path)
        rss = max(rss, maxrss)
        if status != "ok":
            sys.stderr.write(message[-2000:])
            print(json.dumps({"runs": i, "status": status, "elapsed_s": elapsed, "max_rss_kib": rss}))
            return 1
        times.append(elapsed)
    print(
        json.dumps(
            {
                "runs": runs,
                "median_s": statistics.median(times),
                "min_s": min(times),
                "max_s": max(times),
                "max_rss_kib": rss,
                "status": "ok",
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
