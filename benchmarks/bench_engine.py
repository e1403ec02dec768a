"""The engine's rows of the benchmark table, each printed as a ratio measured in one run (min and median over
interleaved repetitions, every measurement in its own child process so that peak memory is its own):

* cached re-evaluation: the first evaluation of a folder ÷ evaluating it again (same database): target ≥ 20×;
* scaling: 64 → 256 → 1024 videos: seconds per video (linear: ratio within ±15 %) and peak memory (flat: ≤ 1.2×);
* workers: one worker ÷ two workers on a CPU-bound metric mix, target ≥ 1.6× on 2 cores: the ``local`` executor
  (threads; its 1-worker baseline already overlaps decoding with scoring in a prefetch thread) and the ``processes``
  executor (2 worker processes; their start-up, ~2 s of imports, is inside the measured time).

Every child imports the harness and builds the metrics before its clock starts (what a long-running evaluation
amortises); the times are those of ``evaluate()`` itself.

The metric mix is PSNR + SSIM (paired, against a reference folder) and temporal flickering on lossless mp4 clips;
no weights are needed.

    python benchmarks/bench_engine.py [--reps 3] [--size 128] [--frames 16] [--scaling 64,256,1024]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

METRICS = ["psnr", "ssim", "temporal_flickering"]


def make_videos(root: Path, n: int, frames: int, size: int) -> tuple[Path, Path]:
    import numpy as np

    from vgbench.bench.video import write_video

    gen, ref = root / "gen", root / "ref"
    gen.mkdir(parents=True, exist_ok=True)
    ref.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        if (gen / f"v{i:04d}.mp4").exists():
            continue
        base = rng.integers(0, 255, size=(1, size, size, 3))
        clip = np.clip(base + np.arange(frames)[:, None, None, None] * 2, 0, 255).astype(np.uint8)
        noisy = np.clip(clip.astype(int) + rng.integers(-8, 9, clip.shape), 0, 255).astype(np.uint8)
        write_video(ref / f"v{i:04d}.mp4", clip, 8.0, "lossless")
        write_video(gen / f"v{i:04d}.mp4", noisy, 8.0, "lossless")
    return gen, ref


def subset(root: Path, gen: Path, ref: Path, n: int) -> tuple[Path, Path]:
    """Folders with the first ``n`` videos (hard links)."""
    out = root / f"n{n}"
    for src, name in ((gen, "gen"), (ref, "ref")):
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        for p in sorted(src.glob("*.mp4"))[:n]:
            if not (d / p.name).exists():
                os.link(p, d / p.name)
    return out / "gen", out / "ref"


def child(gen: str, ref: str, db: str, workers: int, twice: bool, executor: str = "local") -> None:
    import av  # noqa: F401 - warm imports: not what is measured
    import cv2  # noqa: F401
    import torch  # noqa: F401

    from vgbench.bench.config import EvalConfig
    from vgbench.bench.evaluate import evaluate
    from vgbench.metrics.registry import create_metric

    for spec in METRICS:
        create_metric(spec).load()
    cfg = EvalConfig(videos=gen, metrics=METRICS, reference=ref, db=db, progress=False, workers=workers,
                     executor=executor)
    t = time.perf_counter()
    r = evaluate(cfg)
    first = time.perf_counter() - t
    out = {"seconds": first, "computed": r.scores_computed,
           "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if twice:
        t = time.perf_counter()
        r2 = evaluate(cfg)
        out |= {"seconds_again": time.perf_counter() - t, "computed_again": r2.scores_computed}
    print(json.dumps(out))


def measure(gen: Path, ref: Path, db: Path, workers: int = 1, twice: bool = False, executor: str = "local") -> dict:
    db.unlink(missing_ok=True)
    p = subprocess.run([sys.executable, __file__, "--child", str(gen), str(ref), str(db), str(workers),
                        "1" if twice else "0", executor], capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def row(name: str, baseline: list[float], ours: list[float], target: str) -> None:
    ratios = sorted(b / o for b, o in zip(baseline, ours))
    print(f"| {name} | {min(baseline):.2f} / {statistics.median(baseline):.2f} s | {min(ours):.3f} / "
          f"{statistics.median(ours):.3f} s | {min(ratios):.2f}× / {statistics.median(ratios):.2f}× | {target} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--videos", type=int, default=32, help="videos for the cached row")
    ap.add_argument("--workers-videos", type=int, default=128, help="videos for the workers rows")
    ap.add_argument("--scaling", default="64,256,1024")
    ap.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        g, r, db, w, twice, executor = args.child
        child(g, r, db, int(w), twice == "1", executor)
        return
    sizes = [int(x) for x in args.scaling.split(",") if x]
    print(f"# engine benchmark: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"{args.frames} frames of {args.size}² per video; metrics {', '.join(METRICS)}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        gen, ref = make_videos(root / "all", max([args.videos, args.workers_videos, *sizes]), args.frames, args.size)
        g, r = subset(root, gen, ref, args.videos)
        gw, rw = subset(root, gen, ref, args.workers_videos)
        first, again, w1, w2, p2 = [], [], [], [], []
        for _ in range(args.reps):  # interleaved repetitions
            m = measure(g, r, root / "c.sqlite", twice=True)
            assert m["computed_again"] == 0
            first.append(m["seconds"])
            again.append(m["seconds_again"])
            w1.append(measure(gw, rw, root / "w1.sqlite", workers=1)["seconds"])
            w2.append(measure(gw, rw, root / "w2.sqlite", workers=2)["seconds"])
            p2.append(measure(gw, rw, root / "p2.sqlite", workers=2, executor="processes")["seconds"])
        print("| what | baseline min / median | vgbench min / median | ratio min / median | target |")
        print("| --- | --- | --- | --- | --- |")
        row(f"cached re-evaluation, {args.videos} videos (first ÷ again)", first, again, "≥ 20×")
        row(f"1 local worker vs 2 local (thread) workers, {args.workers_videos} videos", w1, w2, "≥ 1.6×")
        row(f"1 local worker vs 2 worker processes, {args.workers_videos} videos", w1, p2, "≥ 1.6×")
        per_video, rss = {}, {}
        for n in sizes:
            gn, rn = subset(root, gen, ref, n)
            runs = [measure(gn, rn, root / f"s{n}.sqlite") for _ in range(max(1, args.reps if n <= 256 else 1))]
            per_video[n] = min(x["seconds"] for x in runs) / n
            rss[n] = max(x["max_rss_mb"] for x in runs)
        lo = sizes[0]
        print()
        print("| videos | s / video | ÷ s / video at {} | peak RSS MB | ÷ peak at {} |".format(lo, lo))
        print("| --- | --- | --- | --- | --- |")
        for n in sizes:
            print(f"| {n} | {per_video[n]:.4f} | {per_video[n] / per_video[lo]:.2f} | {rss[n]:.0f} | "
                  f"{rss[n] / rss[lo]:.2f} |")
        print("targets: time per video within ±15 % (linear), peak memory ratio ≤ 1.2 (flat)")


if __name__ == "__main__":
    main()
