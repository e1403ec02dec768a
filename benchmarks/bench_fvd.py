"""FVD end to end (decode → preprocess → I3D → distance): vgbench's pipeline against a straightforward
re-implementation of common_metrics_on_video_quality's (all videos decoded into one float tensor in [0, 1], then one
video at a time through `preprocess_single` and the I3D, np.cov + scipy sqrtm), with the same seeded random-init I3D
and the same protocol (fvd/common_metrics). Prints the throughput ratio and the peak memory (max RSS of a child
process) for a small and a large set of short clips.

    python benchmarks/bench_fvd.py [--small 64] [--large 256] [--frames 16] [--size 128]

Ratios > 1 mean vgbench is faster / lighter. Each pipeline runs in its own process; absolute times are noisy, the
ratios are what to compare. vgbench's first evaluation is measured (no feature cache hits); a second evaluation of
the same videos extracts nothing and is reported separately.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_videos(folder: Path, n: int, frames: int, size: int, seed: int) -> None:
    import numpy as np

    from vgbench.bench.video import write_video

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(n):
        cx, cy, r = rng.uniform(0.2, 0.8) * size, rng.uniform(0.2, 0.8) * size, rng.uniform(0.1, 0.3) * size
        col = rng.uniform(0, 255, 3)
        vid = []
        for t in range(frames):
            m = ((xx - cx - 2 * t) ** 2 + (yy - cy) ** 2) < r * r
            f = np.zeros((size, size, 3), np.uint8) + 30
            f[m] = col
            vid.append(f)
        write_video(folder / f"v{i:04d}.mp4", np.stack(vid), 8.0, "high")


def run_vgbench(gen: Path, ref: Path, work: Path) -> dict:
    os.environ["VGBENCH_ALLOW_RANDOM_WEIGHTS"] = "1"
    from vgbench.bench.config import EvalConfig
    from vgbench.bench.evaluate import evaluate

    t = time.perf_counter()
    r = evaluate(EvalConfig(videos=gen, metrics=["fvd/common_metrics"], reference=ref, db=work / "db.sqlite",
                            progress=False))
    first = time.perf_counter() - t
    t = time.perf_counter()
    evaluate(EvalConfig(videos=gen, metrics=["fvd/common_metrics"], reference=ref, db=work / "db.sqlite",
                        progress=False))
    again = time.perf_counter() - t
    return {"seconds": first, "seconds_cached": again, "fvd": r.results["fvd/common_metrics"].value}


def run_baseline(gen: Path, ref: Path, work: Path) -> dict:
    """common_metrics' calculate_fvd path, written out: everything in memory as float [0,1] BTCHW."""
    import av
    import numpy as np
    import scipy.linalg
    import torch
    import torch.nn.functional as F

    from vgbench.metrics.backbones.i3d import RandomTorchScriptStandIn

    def load_all(folder):
        vids = []
        for p in sorted(folder.glob("*.mp4")):
            with av.open(str(p)) as c:
                frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
            vids.append(torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255.0)  # T,C,H,W
        return torch.stack(vids)  # B,T,C,H,W in [0,1]

    def preprocess_single(video, resolution=224):  # video C,T,H,W in [0,1]
        c, t, h, w = video.shape
        scale = resolution / min(h, w)
        size = (resolution, math.ceil(w * scale)) if h < w else (math.ceil(h * scale), resolution)
        video = F.interpolate(video, size=size, mode="bilinear", align_corners=False)
        c, t, h, w = video.shape
        ws, hs = (w - resolution) // 2, (h - resolution) // 2
        return ((video[:, :, hs:hs + resolution, ws:ws + resolution] - 0.5) * 2).contiguous()

    i3d = RandomTorchScriptStandIn(0).eval()
    t = time.perf_counter()
    feats = []
    for videos in (load_all(gen), load_all(ref)):
        videos = videos.permute(0, 2, 1, 3, 4)  # B,C,T,H,W as calculate_fvd does
        out = []
        with torch.no_grad():
            for v in videos:  # one video at a time
                out.append(i3d(preprocess_single(v)[None], rescale=False, resize=False).numpy())
        feats.append(np.concatenate(out))
    (fg, fr) = feats
    mu1, mu2 = fg.mean(0), fr.mean(0)
    s1, s2 = np.cov(fg, rowvar=False), np.cov(fr, rowvar=False)
    root = scipy.linalg.sqrtm(s1 @ s2)
    fvd = float(np.real(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * root)))
    return {"seconds": time.perf_counter() - t, "fvd": fvd}


def child(which: str, gen: str, ref: str, work: str) -> None:
    import torch

    torch.manual_seed(0)
    fn = run_vgbench if which == "vgbench" else run_baseline
    out = fn(Path(gen), Path(ref), Path(work))
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def measure(which: str, gen: Path, ref: Path, work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    p = subprocess.run([sys.executable, __file__, "--child", which, str(gen), str(ref), str(work)],
                       capture_output=True, text=True, check=True,
                       env={**os.environ, "VGBENCH_CACHE": str(work / "cache"), "VGBENCH_OFFLINE": "1"})
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", type=int, default=64)
    ap.add_argument("--large", type=int, default=256)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = {}
        for n in (args.small, args.large):
            gen, ref = tmp / f"gen{n}", tmp / f"ref{n}"
            make_videos(gen, n, args.frames, args.size, 1)
            make_videos(ref, n, args.frames, args.size, 2)
            rows[n] = {w: measure(w, gen, ref, tmp / f"work-{w}-{n}") for w in ("baseline", "vgbench")}
        print(f"FVD end to end, fvd/common_metrics, random-init I3D, {args.frames}-frame {args.size}px clips "
              f"(CPU threads: {os.cpu_count()})")
        for n, r in rows.items():
            b, v = r["baseline"], r["vgbench"]
            print(f"  {n:4d} + {n} clips: baseline {2 * n / b['seconds']:.2f} clips/s, vgbench {2 * n / v['seconds']:.2f} "
                  f"clips/s → throughput ratio {b['seconds'] / v['seconds']:.2f}x; again from the feature cache "
                  f"{b['seconds'] / v['seconds_cached']:.0f}x; FVD {b['fvd']:.4f} vs {v['fvd']:.4f}")
        s, l_ = rows[args.small], rows[args.large]
        for w in ("baseline", "vgbench"):
            print(f"  peak memory {w:<8}: {s[w]['max_rss_mb']:.0f} MB ({args.small} clips) → {l_[w]['max_rss_mb']:.0f} MB "
                  f"({args.large} clips), ratio {l_[w]['max_rss_mb'] / s[w]['max_rss_mb']:.2f}")
        print(f"  peak memory at {args.large} clips, baseline / vgbench: "
              f"{l_['baseline']['max_rss_mb'] / l_['vgbench']['max_rss_mb']:.2f}x")


if __name__ == "__main__":
    main()
