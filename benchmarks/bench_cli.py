"""How fast the listing and reading commands answer: `vgbench --help`, `weights list`, `models list`, `metrics list`,
`prompts list`, each as a fresh process (what a user waits for), against `python -c pass` (the interpreter's own
start-up) in the same run. Target: under 1 s each (median of the repetitions), which holds because these commands
import no torch and no model code (tests/test_architecture.py checks that).

    python benchmarks/bench_cli.py [--reps 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS = [["--help"], ["weights", "list"], ["models", "list"], ["metrics", "list"], ["prompts", "list"]]


def once(argv: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    runs: dict[str, list[float]] = {"python -c pass": []}
    runs.update({"vgbench " + " ".join(c): [] for c in COMMANDS})
    for _ in range(args.reps):  # interleaved repetitions
        runs["python -c pass"].append(once([sys.executable, "-c", "pass"]))
        for c in COMMANDS:
            runs["vgbench " + " ".join(c)].append(once([sys.executable, "-m", "vgbench", *c]))
    base = statistics.median(runs["python -c pass"])
    print(f"# CLI start-up: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, {args.reps} repetitions")
    print("| command | min s | median s | median ÷ python -c pass | target |")
    print("| --- | --- | --- | --- | --- |")
    for name, ts in runs.items():
        med = statistics.median(ts)
        target = "" if name == "python -c pass" else ("< 1 s ✓" if med < 1 else "< 1 s ✗")
        print(f"| {name} | {min(ts):.3f} | {med:.3f} | {med / base:.1f}× | {target} |")


if __name__ == "__main__":
    main()
