"""Throughput of vgbench's PSNR, SSIM and temporal flickering against the straightforward per-frame NumPy/OpenCV
code that common_metrics_on_video_quality (PSNR, SSIM) and VBench (temporal flickering) use, as ratios measured in
one run; and peak memory of a streaming evaluation of 16 vs 64 videos.

    python benchmarks/bench_core_metrics.py [--videos 8] [--frames 32] [--size 256] [--repeats 3]

Ratios > 1 mean vgbench is faster. Absolute times depend on the machine; the ratios are what to compare.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vgbench.metrics.quality.psnr_ssim import psnr_per_frame, ssim_per_frame  # noqa: E402
from vgbench.metrics.vbench.temporal_flickering import temporal_flickering_score  # noqa: E402


# ---- baselines: the reference code's per-frame loops (common_metrics / VBench), written out --------------------
def baseline_psnr(a: np.ndarray, b: np.ndarray) -> float:
    vals = []
    for x, y in zip(a, b):  # frames of [H,W,3] uint8 → [0,1] float, as common_metrics' img_psnr
        x = x.astype(np.float64) / 255
        y = y.astype(np.float64) / 255
        mse = np.mean((x - y) ** 2)
        vals.append(100.0 if mse < 1e-10 else 20 * np.log10(1 / np.sqrt(mse)))
    return float(np.mean(vals))


def _ssim_2d(img1, img2):
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    k = cv2.getGaussianKernel(11, 1.5)
    w = np.outer(k, k.transpose())
    mu1 = cv2.filter2D(img1, -1, w)[5:-5, 5:-5]
    mu2 = cv2.filter2D(img2, -1, w)[5:-5, 5:-5]
    s1 = cv2.filter2D(img1 ** 2, -1, w)[5:-5, 5:-5] - mu1 ** 2
    s2 = cv2.filter2D(img2 ** 2, -1, w)[5:-5, 5:-5] - mu2 ** 2
    s12 = cv2.filter2D(img1 * img2, -1, w)[5:-5, 5:-5] - mu1 * mu2
    m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s1 + s2 + c2))
    return m.mean()


def baseline_ssim(a: np.ndarray, b: np.ndarray) -> float:
    vals = []
    for x, y in zip(a, b):
        x = x.astype(np.float64) / 255
        y = y.astype(np.float64) / 255
        vals.append(np.mean([_ssim_2d(x[..., c], y[..., c]) for c in range(3)]))
    return float(np.mean(vals))


def baseline_flicker(a: np.ndarray) -> float:
    maes = [np.mean(cv2.absdiff(a[i].astype(np.float32), a[i + 1].astype(np.float32))) for i in range(len(a) - 1)]
    return (255.0 - float(np.mean(maes))) / 255.0


def _time(fn, repeats: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def throughput(videos: list[np.ndarray], refs: list[np.ndarray], repeats: int) -> list[dict]:
    tv = [torch.from_numpy(v) for v in videos]
    tr = [torch.from_numpy(r) for r in refs]
    frames = sum(v.shape[0] for v in videos)
    cases = [
        ("psnr (common_metrics)", lambda: [baseline_psnr(v, r) for v, r in zip(videos, refs)],
         lambda: [float(psnr_per_frame(v, r).mean()) for v, r in zip(tv, tr)]),
        ("ssim (common_metrics)", lambda: [baseline_ssim(v, r) for v, r in zip(videos, refs)],
         lambda: [float(ssim_per_frame(v, r).mean()) for v, r in zip(tv, tr)]),
        ("temporal_flickering (VBench)", lambda: [baseline_flicker(v) for v in videos],
         lambda: [temporal_flickering_score(v) for v in tv]),
    ]
    rows = []
    for name, base, ours in cases:
        b_val, o_val = base(), ours()
        assert np.allclose(b_val, o_val, rtol=1e-6, atol=1e-6), (name, b_val[:2], o_val[:2])
        tb, to = _time(base, repeats), _time(ours, repeats)
        rows.append({"metric": name, "baseline_fps": frames / tb, "vgbench_fps": frames / to, "speedup": tb / to})
    return rows


_CHILD = """
import sys, json, resource
sys.path.insert(0, {repo!r})
from vgbench import EvalConfig, evaluate
rep = evaluate(EvalConfig(videos={gen!r}, metrics=["psnr", "ssim", "temporal_flickering"], reference={ref!r}, db={db!r},
                          progress=False))
assert not rep.failures, rep.failures
print(json.dumps({{"maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def peak_memory(n_videos: int, frames: int, size: int, workdir: Path) -> float:
    """Peak RSS (MB) of a fresh process that evaluates ``n_videos`` files from disk (PSNR+SSIM+flicker)."""
    from vgbench.bench.video import write_video
    from vgbench.reference_models.builtin.shapes import parse_prompt, render

    gen, ref = workdir / f"gen{n_videos}", workdir / f"ref{n_videos}"
    rng = np.random.default_rng(0)
    for k in range(n_videos):
        clip = render(parse_prompt("a red circle moving left on a blue background"), frames, size, size, 8.0, k)
        noisy = np.clip(clip.astype(int) + rng.integers(-20, 20, clip.shape), 0, 255).astype(np.uint8)
        write_video(ref / f"{k}.mp4", clip, 8.0)
        write_video(gen / f"{k}.mp4", noisy, 8.0)
    code = _CHILD.format(repo=str(Path(__file__).resolve().parent.parent), gen=str(gen), ref=str(ref),
                         db=str(workdir / f"db{n_videos}.sqlite"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["maxrss_mb"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=8, help="videos in the throughput set (default 8)")
    ap.add_argument("--frames", type=int, default=32, help="frames per video (default 32)")
    ap.add_argument("--size", type=int, default=256, help="frame width = height in pixels (default 256)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats, best kept (default 3)")
    ap.add_argument("--memory-frames", type=int, default=32, help="frames per video in the memory test")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    videos = [rng.integers(0, 256, (args.frames, args.size, args.size, 3), dtype=np.uint8) for _ in range(args.videos)]
    refs = [np.clip(v.astype(int) + rng.integers(-25, 25, v.shape), 0, 255).astype(np.uint8) for v in videos]
    print(f"throughput: {args.videos} videos x {args.frames} frames x {args.size}x{args.size}, "
          f"torch threads {torch.get_num_threads()}, best of {args.repeats}")
    print(f"{'metric':<30} {'baseline fr/s':>14} {'vgbench fr/s':>13} {'ratio':>7}   baseline = per-frame NumPy/OpenCV")
    for r in throughput(videos, refs, args.repeats):
        print(f"{r['metric']:<30} {r['baseline_fps']:>14.1f} {r['vgbench_fps']:>13.1f} {r['speedup']:>6.2f}x")

    with tempfile.TemporaryDirectory() as tmp:
        m16 = peak_memory(16, args.memory_frames, args.size, Path(tmp))
        m64 = peak_memory(64, args.memory_frames, args.size, Path(tmp))
    video_mb = args.memory_frames * args.size * args.size * 3 / 2 ** 20
    print(f"peak RSS of `evaluate` (psnr+ssim+temporal_flickering, streaming, one video + its reference at a time; "
          f"one decoded video = {video_mb:.1f} MB):")
    print(f"  16 videos: {m16:.0f} MB   64 videos: {m64:.0f} MB   ratio 64/16: {m64 / m16:.2f} "
          f"(1.0 = memory independent of the number of videos)")


if __name__ == "__main__":
    main()
