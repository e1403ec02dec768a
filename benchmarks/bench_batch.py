"""Cross-video batches of a video backbone: I3D features of N clips one clip per forward pass (what `--batch 1`
does, vgbench's CPU default and the peers' common per-video loop) against `--batch K` (K clips per pass, the CUDA
default 8), through vgbench's own extractor (`FeatureExtractor.extract` vs `extract_many`), seeded random-init
I3D (pytorch-i3d port, the `fvd/videogpt` protocol's `i3d-videogpt` extractor).

    python benchmarks/bench_batch.py [--clips 8] [--frames 16] [--size 128] [--reps 3] [--device cpu|cuda]

Prints the device, then per batch size min and median seconds over interleaved repetitions and the ratio against
batch 1 (> 1: batching is faster). Measured on the 2-core CPU machine: no gain there (0.83× idle, 0.90–1.14× under
load), which is why the CPU default is 1; the payoff is expected on a GPU, where one clip leaves most of the device
idle (not measured: no GPU was lent).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when visible)")
    args = ap.parse_args()
    if args.device:
        os.environ["VGBENCH_DEVICE"] = args.device
    import numpy as np
    import torch

    from vgbench.bench.video import Video
    from vgbench.metrics.distribution.extractors import create_extractor

    e = create_extractor("i3d-videogpt")
    e.load(allow_random=True)
    rng = np.random.default_rng(0)
    clips = [(Video.from_numpy(rng.integers(0, 256, (args.frames, args.size, args.size, 3), dtype=np.uint8), 8.0),
              "generated", "") for _ in range(args.clips)]
    sizes = [1, 4, 8]

    def run(k: int) -> None:
        if k == 1:
            for v, role, sha in clips:
                e.extract(v, role, sha)
        else:
            for s in range(0, len(clips), k):
                e.extract_many(clips[s:s + k])
        if e.device.startswith("cuda"):
            torch.cuda.synchronize()

    run(1)  # warm-up (kernels, allocator)
    times: dict[int, list[float]] = {k: [] for k in sizes}
    for _ in range(args.reps):  # interleaved
        for k in sizes:
            t = time.perf_counter()
            run(k)
            times[k].append(time.perf_counter() - t)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"device {e.device}, {args.clips} clips of {args.frames}×{args.size}², torch threads "
          f"{torch.get_num_threads()}, load {load:.2f}")
    base = min(times[1])
    for k in sizes:
        t = times[k]
        print(f"batch {k}: min {min(t):.3f} s, median {statistics.median(t):.3f} s, "
              f"clips/s {args.clips / min(t):.2f}, ratio vs batch 1 {base / min(t):.2f}× (min), "
              f"{statistics.median(times[1]) / statistics.median(t):.2f}× (median)")


if __name__ == "__main__":
    main()
