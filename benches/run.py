#!/usr/bin/env python3
"""Time netlisp against its peers in one run and print a table of medians.

    benches/run.py [--reps N] [--startup-runs N] [BENCH ...]

Peers (each only if installed): SBCL compiling (its default), SBCL's
interpreter (sb-eval), CLISP's interpreter, and CPython. The process
benchmarks (processes.lisp, processes.py) compare netlisp's green processes
with SBCL's and CPython's native threads. Every benchmark
prints its own in-process time, so process start and file loading are not
counted; startup is timed separately as the wall time of a whole process
that prints 1. Runs are interleaved round-robin (the machine is noisy), and
the table shows medians and the ratio netlisp / peer (below 1: netlisp is
faster).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NETLISP = os.path.join(ROOT, "target", "release", "netlisp")
BENCHES = ["fib25", "fib30", "tak", "list", "hash", "str"]
PROCESS_BENCHES = ["spawn", "pingpong", "sleepers"]
LABELS = {
    "startup": "startup: print 1 (whole process)",
    "fib25": "fib(25)",
    "fib30": "fib(30)",
    "tak": "tak(18,12,6) x10",
    "list": "build + sum a 1e6 list",
    "hash": "1e6 hash inserts + lookups",
    "str": "100k format into a string",
    "spawn": "create + join 10k processes, one at a time",
    "pingpong": "100k round trips via semaphores (200k switches)",
    "sleepers": "10k processes alive, each sleeps 0.1 s",
}


def implementations():
    """(name, {suite: command prefix}, command for startup); the suites are
    "cpu" (bench.lisp) and "processes" (processes.lisp)."""
    lisp = os.path.join(HERE, "bench.lisp")
    mp = os.path.join(HERE, "processes.lisp")
    p1 = os.path.join(HERE, "p1.lisp")
    impls = [("netlisp", {"cpu": [NETLISP, lisp], "processes": [NETLISP, mp]}, [NETLISP, p1])]
    if shutil.which("sbcl"):
        impls.append(("sbcl", {"cpu": ["sbcl", "--script", lisp], "processes": ["sbcl", "--script", mp]},
                      ["sbcl", "--script", p1]))
        impls.append(("sbcl-eval", {"cpu": ["sbcl", "--script", os.path.join(HERE, "sbcl-interp.lisp")]}, None))
    if shutil.which("clisp"):
        impls.append(("clisp", {"cpu": ["clisp", "-q", "-norc", lisp]}, ["clisp", "-q", "-norc", p1]))
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
    if python:
        impls.append(("python3", {"cpu": [python, os.path.join(HERE, "bench.py")],
                                  "processes": [python, os.path.join(HERE, "processes.py")]},
                      [python, "-c", "print(1)"]))
    return impls


def suite(bench):
    return "processes" if bench in PROCESS_BENCHES else "cpu"


def run_bench(cmd, bench):
    out = subprocess.run(cmd + [bench], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} {bench} failed:\n{out.stderr}")
    return float(out.stdout.strip().splitlines()[-1])


def run_startup(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, timeout=60, check=True)
    return (time.perf_counter() - start) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5, help="measured runs per cell (default 5)")
    ap.add_argument("--startup-runs", type=int, default=21, help="runs for the startup row (default 21)")
    ap.add_argument("benches", nargs="*", default=["startup"] + BENCHES + PROCESS_BENCHES)
    args = ap.parse_args()

    if not os.path.exists(NETLISP):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    with open(os.path.join(HERE, "p1.lisp"), "w") as f:
        f.write("(print 1)\n")

    impls = implementations()
    times = {}  # (impl, bench) -> [ms]
    for bench in args.benches:
        if bench == "startup":
            for _ in range(3):  # warm-up
                for name, _, cmd in impls:
                    if cmd:
                        run_startup(cmd)
            for _ in range(args.startup_runs):
                for name, _, cmd in impls:
                    if cmd:
                        times.setdefault((name, bench), []).append(run_startup(cmd))
            continue
        runners = [(name, cmds[suite(bench)]) for name, cmds, _ in impls if suite(bench) in cmds]
        for name, cmd in runners:  # warm-up run, discarded
            run_bench(cmd, bench)
        for _ in range(args.reps):
            for name, cmd in runners:
                times.setdefault((name, bench), []).append(run_bench(cmd, bench))
        print(f"  {bench} done", file=sys.stderr)

    names = [n for n, _, _ in impls]
    peers = [n for n in names if n != "netlisp"]
    header = ["benchmark (median ms)"] + names + [f"netlisp/{p}" for p in peers]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for bench in args.benches:
        row = [LABELS.get(bench, bench)]
        med = {n: statistics.median(times[(n, bench)]) for n in names if (n, bench) in times}
        for n in names:
            row.append(f"{med[n]:.1f}" if n in med else "-")
        for p in peers:
            if p in med and "netlisp" in med and med[p] > 0:
                row.append(f"{med['netlisp'] / med[p]:.2f}")
            else:
                row.append("-")
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
