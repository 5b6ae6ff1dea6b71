#!/usr/bin/env python3
"""Restart-latency and idle-RSS measurements for bench/bench-restart.sh.

Every supervisor runs bench/restart/stamp as its child; stamp appends CLOCK_REALTIME (ns) to a file
as the first thing after exec. A latency sample is (first stamp of the new child) - (realtime taken
right before the trigger: kill(), the trigger-file write, the file change, or running
`respawn restart`). Samples of one scenario are taken back to back with a short gap; a trigger that
produced more than one new child is counted as an extra restart.
"""

import argparse
import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def stamps(path):
    try:
        with open(path) as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


_libc = ctypes.CDLL(None, use_errno=True)
_IN_CLOSE_WRITE = 0x8


def wait_count(path, n, timeout):
    """Waits until `path` holds at least n stamps; returns the n-th or None on timeout.

    Sleeps on inotify (close-write in the file's directory) instead of polling, so the harness
    does not compete with the supervisor for the CPU while it waits."""
    deadline = time.monotonic() + timeout
    fd = _libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0 or _libc.inotify_add_watch(fd, os.path.dirname(path).encode(), _IN_CLOSE_WRITE) < 0:
        raise OSError(ctypes.get_errno(), "inotify for the stamp file")
    try:
        while True:
            got = stamps(path)
            if len(got) >= n:
                return got[n - 1]
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            select.select([fd], [], [], left)
            try:
                while os.read(fd, 65536):
                    pass
            except BlockingIOError:
                pass
    finally:
        os.close(fd)


def stop(proc):
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))]


class Result:
    def __init__(self, name, lats=None, error=None, extra=0):
        self.name, self.lats, self.error, self.extra = name, lats or [], error, extra

    def p(self, q):
        return pct(self.lats, q) if self.lats else None

    def line(self):
        if self.error:
            return f"  {self.name:<44} n/a  ({self.error})"
        return (f"  {self.name:<44} p50 {self.p(50):8.2f} ms  p90 {self.p(90):8.2f} ms  "
                f"min {min(self.lats):7.2f}  max {max(self.lats):8.2f}  n={len(self.lats)}"
                f"  extra restarts {self.extra}")


def latency(name, cmd, out, trigger, iters, gap, warmup, timeout, stdin=None, log=None):
    """Starts cmd, then `iters` times: trigger, wait for the next stamp."""
    logf = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                            stdout=logf, stderr=logf, start_new_session=True)
    if stdin:
        proc.stdin.write(stdin.encode())
        proc.stdin.close()
    try:
        if wait_count(out, 1, 15) is None:
            return Result(name, error="the child never started")
        time.sleep(warmup)
        base = len(stamps(out))
        lats = []
        for i in range(iters):
            n = len(stamps(out))
            t0 = trigger(proc)
            got = wait_count(out, n + 1, timeout)
            if got is None:
                why = "no restart" if i == 0 else f"no restart at iteration {i + 1}"
                return Result(name, lats, error=f"{why} within {timeout}s of the trigger")
            lats.append((got - t0) / 1e6)
            time.sleep(gap)
        time.sleep(max(gap, 0.3))
        extra = len(stamps(out)) - base - iters
        return Result(name, lats, extra=extra)
    finally:
        stop(proc)


def write_file(path):
    def trig(_proc):
        t = time.time_ns()
        with open(path, "w") as f:
            f.write("x\n")
        return t
    return trig


def tar_extract(path):
    """A copy as `kubectl cp`/`podman cp`/Tilt deliver it: a tar extract of the trigger file."""
    src = tempfile.mkdtemp(prefix="respawn-bench-tar-")
    name = os.path.basename(path)
    with open(os.path.join(src, name), "w") as f:
        f.write("x\n")
    archive = os.path.join(src, "t.tar")
    subprocess.run(["tar", "-cf", archive, "-C", src, name], check=True)

    def trig(_proc):
        t = time.time_ns()
        subprocess.run(["tar", "-xf", archive, "-C", os.path.dirname(path)], check=True)
        return t
    return trig


def send(sig):
    def trig(proc):
        t = time.time_ns()
        os.kill(proc.pid, sig)
        return t
    return trig


def run_cmd(cmd):
    def trig(_proc):
        t = time.time_ns()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode != 0:
            sys.stderr.write(f"    {' '.join(cmd)}: exit {r.returncode}: {r.stderr.decode().strip()}\n")
        return t
    return trig


def status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(name + ":"))


def rss_kib(cmd, out, settle, log=None):
    """Starts cmd, waits for its child and `settle` seconds; returns the supervisor's own VmRSS (KiB),
    its inotify watches and its wake-ups per second over 3 idle seconds (all its threads' context
    switches)."""
    logf = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True)
    try:
        if wait_count(out, 1, 30) is None:
            return None, 0, 0
        time.sleep(settle)
        rss = status_field(proc.pid, "VmRSS")
        before = switches(proc.pid)
        time.sleep(3)
        wakeups = (switches(proc.pid) - before) / 3
        return rss, inotify_watches(proc.pid), wakeups
    finally:
        stop(proc)


def switches(pid):
    n = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            n += sum(int(l.split()[1]) for l in f if l.startswith(("voluntary_ctxt", "nonvoluntary_ctxt")))
    return n


def inotify_watches(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                n += sum(1 for l in f if l.startswith("inotify wd:"))
        except OSError:
            pass
    return n


def make_tree(root, files):
    per = 100
    for d in range(files // per):
        sub = os.path.join(root, f"pkg{d:03}", "src")
        os.makedirs(sub)
        for i in range(per):
            with open(os.path.join(sub, f"mod{i:03}.py"), "w") as f:
                f.write("x = 1\n")


def ratio(a, b):
    if a.p(50) is None or b.p(50) is None or a.p(50) == 0:
        return "n/a"
    return f"{b.p(50) / a.p(50):.1f}x faster" if b.p(50) >= a.p(50) else f"{a.p(50) / b.p(50):.1f}x slower"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--respawn", required=True)
    ap.add_argument("--stamp", required=True)
    ap.add_argument("--watchexec", required=True)
    ap.add_argument("--entr", required=True)
    ap.add_argument("--docker-entrypoint", required=True)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--de-iters", type=int, default=50)
    ap.add_argument("--tree-files", type=int, default=10000)
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="respawn-bench-restart-")
    log = os.path.join(work, "supervisors.log")
    sock = f"@respawn-bench-{os.getpid()}"
    n = [0]

    def fresh(tag):
        n[0] += 1
        return os.path.join(work, f"{n[0]:02}-{tag}.stamps")

    rs = [a.respawn, "--env-file", "none", "--control-socket", sock]
    results = {}

    # Created now, long before respawn starts: respawn counts a trigger-file write since its own
    # start (even one just before arming its watch) as a request.
    trig = os.path.join(work, "trigger", ".restart-proc")
    os.makedirs(os.path.dirname(trig))
    with open(trig, "w") as f:
        f.write("0\n")
    time.sleep(0.1)

    print(f"(a) restart on request -> new child exec ({a.iters} iterations; docker-entrypoint {a.de_iters})")
    out = fresh("hup")
    cmd = rs + ["--trigger-file", "none", "--", a.stamp, out]
    results["hup"] = latency("respawn      SIGHUP", cmd, out, send(signal.SIGHUP), a.iters, 0.02, 0.1, 10, log=log)
    print(results["hup"].line())
    out = fresh("ctl")
    cmd = rs + ["--trigger-file", "none", "--", a.stamp, out]
    results["ctl"] = latency("respawn      `respawn restart`", cmd, out,
                             run_cmd([a.respawn, "restart", "--control-socket", sock]), a.iters, 0.02, 0.1, 10,
                             log=log)
    print(results["ctl"].line())
    out = fresh("de")
    results["de"] = latency("docker-entrypoint SIGHUP", [a.docker_entrypoint, a.stamp, out], out,
                            send(signal.SIGHUP), a.de_iters, 0.05, 0.5, 15, log=log)
    print(results["de"].line())
    print(f"  ratio SIGHUP p50: respawn vs docker-entrypoint: {ratio(results['hup'], results['de'])}")

    print(f"(b) trigger-file write -> new child exec ({a.iters} iterations)")
    out = fresh("trig")
    cmd = rs + ["--trigger-file", trig, "--", a.stamp, out]
    results["trig"] = latency("respawn      --trigger-file", cmd, out, write_file(trig), a.iters, 0.1, 0.2, 5,
                              log=log)
    print(results["trig"].line())
    out = fresh("trigtar")
    cmd = rs + ["--trigger-file", trig, "--", a.stamp, out]
    results["trigtar"] = latency("respawn      --trigger-file (tar -xf copy)", cmd, out, tar_extract(trig), a.iters,
                                 0.1, 0.2, 5, log=log)
    print(results["trigtar"].line())
    wdir = os.path.join(work, "src")
    os.makedirs(wdir)
    changed = os.path.join(wdir, "main.py")
    with open(changed, "w") as f:
        f.write("0\n")
    out = fresh("watch")
    cmd = rs + ["--trigger-file", "none", "--watch", wdir, "--", a.stamp, out]
    results["watch"] = latency("respawn      --watch DIR (file write)", cmd, out, write_file(changed), a.iters, 0.15,
                               0.2, 5, log=log)
    print(results["watch"].line())
    out = fresh("wx")
    cmd = [a.watchexec, "-q", "-r", "-n", "--no-vcs-ignore", "--no-project-ignore", "--no-global-ignore",
           "-w", trig, "--", a.stamp, out]
    results["wx"] = latency("watchexec    -r -w FILE", cmd, out, write_file(trig), a.iters, 0.2, 1.0, 5, log=log)
    print(results["wx"].line())
    out = fresh("wxdir")
    cmd = [a.watchexec, "-q", "-r", "-n", "-w", wdir, "--", a.stamp, out]
    results["wxdir"] = latency("watchexec    -r -w DIR (file write)", cmd, out, write_file(changed), a.iters,
                               0.2, 1.0, 5, log=log)
    print(results["wxdir"].line())
    out = fresh("entr")
    results["entr"] = latency("entr         -rn (file on stdin)", [a.entr, "-rn", a.stamp, out], out,
                              write_file(trig), a.iters, 0.2, 0.5, 5, stdin=trig + "\n", log=log)
    print(results["entr"].line())
    print(f"  ratio p50: respawn --trigger-file vs watchexec: {ratio(results['trig'], results['wx'])}, "
          f"vs entr: {ratio(results['trig'], results['entr'])}")
    print(f"  ratio p50: respawn --watch DIR vs watchexec -w DIR: {ratio(results['watch'], results['wxdir'])}")

    print(f"(c) idle RSS watching a {a.tree_files}-file tree")
    tree = os.path.join(work, "tree")
    make_tree(tree, a.tree_files)
    out = fresh("rss-base")
    b_rss, _, b_wk = rss_kib(rs + ["--trigger-file", "none", "--", a.stamp, out], out, 0.5, log=log)
    print(f"  respawn   (no watch, reference): {b_rss} KiB VmRSS, {b_wk:.1f} wake-ups/s")
    out = fresh("rss")
    r_rss, r_w, r_wk = rss_kib(rs + ["--trigger-file", "none", "--watch", tree, "--", a.stamp, out], out, 1.0,
                               log=log)
    print(f"  respawn   --watch: {r_rss} KiB VmRSS, {r_w} inotify watches, {r_wk:.1f} wake-ups/s" if r_rss
          else "  respawn: did not start")
    out = fresh("rsswx")
    w_rss, w_w, w_wk = rss_kib([a.watchexec, "-q", "-n", "-w", tree, "--", a.stamp, out], out, 3.0, log=log)
    print(f"  watchexec -w:      {w_rss} KiB VmRSS, {w_w} inotify watches, {w_wk:.1f} wake-ups/s")
    if r_rss and w_rss:
        print(f"  ratio RSS: watchexec / respawn = {w_rss / r_rss:.1f}x")
    if r_rss and r_w == 0:
        print("  NOTE: respawn holds no inotify watch: --watch is not wired into the event loop yet")
    shutil.rmtree(tree, ignore_errors=True)
    print(f"(logs of the supervisors and the stamps: {work})")
    # A measurement that failed — respawn's or an anchor's — fails the benchmark.
    failed = [r.name.strip() for r in results.values() if r.error]
    if not (r_rss and w_rss):
        failed.append("idle RSS: " + ("respawn" if not r_rss else "watchexec"))
    if failed:
        sys.exit("bench-restart: FAILED: no figure for " + ", ".join(failed))


if __name__ == "__main__":
    main()
