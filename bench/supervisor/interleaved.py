#!/usr/bin/env python3
"""Startup timing with the commands interleaved (each round runs every command once, in a
shuffled order), so load changes on a shared machine hit all of them alike.

usage: interleaved.py RUNS NAME=CMD [NAME=CMD ...]   (CMD split on spaces; the first is the anchor)
"""
import os
import random
import statistics
import sys
import time


QUIET = [(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
         (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0)]


def run_once(argv):
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=QUIET)
    _, status = os.waitpid(pid, 0)
    t1 = time.perf_counter_ns()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv} failed with {status}")
    return (t1 - t0) / 1000.0


def main():
    runs = int(sys.argv[1])
    cmds = [(a.split("=", 1)[0], a.split("=", 1)[1].split()) for a in sys.argv[2:]]
    times = {name: [] for name, _ in cmds}
    for _ in range(20):  # warm-up
        for _, argv in cmds:
            run_once(argv)
    for _ in range(runs):
        order = cmds[:]
        random.shuffle(order)
        for name, argv in order:
            times[name].append(run_once(argv))
    anchor = statistics.median(times[cmds[1][0]]) if len(cmds) > 1 else 1.0
    for name, _ in cmds:
        t = times[name]
        med = statistics.median(t)
        print(f"  {name:<12} median {med:8.1f} us  p10 {statistics.quantiles(t, n=10)[0]:8.1f} us  "
              f"min {min(t):7.1f} us  {med / anchor:.3f}x {cmds[1][0]} (median)")


main()
