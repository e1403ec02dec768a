"""CLIP-score throughput: frames batched through the image encoder (vgbench's default, ``@batch=32``) against one
frame per forward pass (``@batch=1``, how per-frame loops such as EvalCrafter's call the model), same metric, same
seeded random-init CLIP, same frames. Also prints the cost of the preprocessing alone and checks that both paths
give the same scores.

    python benchmarks/bench_clip_score.py [--protocol clipsim] [--videos 4] [--frames 32] [--size 256] [--repeat 3]

The ratio (> 1: batching is faster) is what to compare; absolute frames/s depend on the machine. The weights do not
change the cost, so random weights are used (no download). ``--device cuda`` times the GPU path.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--protocol", default="clipsim", choices=["torchmetrics", "clipsim", "evalcrafter"])
    ap.add_argument("--backbone", default=None, help="clip_vit_b32_openai (default for clipsim) or clip_vit_l14_openai")
    ap.add_argument("--videos", type=int, default=4)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    import torch

    import vgbench  # noqa: F401
    from vgbench.bench.video import Video
    from vgbench.metrics.registry import create_metric

    g = torch.Generator().manual_seed(0)
    videos = [Video(torch.randint(0, 256, (args.frames, args.size, args.size, 3), dtype=torch.uint8, generator=g),
                    8.0) for _ in range(args.videos)]
    prompt = "a red panda climbing a bamboo tree in the snow"
    opts = f"@backbone={args.backbone}" if args.backbone else ""
    metrics = {}
    for b in (args.batch, 1):
        m = create_metric(f"clip_score/{args.protocol}{opts}@batch={b}")
        m.load(allow_random=True, device=args.device)
        m.score(videos[0], prompt=prompt)  # warm-up (and text embedding cache)
        metrics[b] = m

    def run(m):
        sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
        sync()
        t = time.perf_counter()
        vals = [m.score(v, prompt=prompt).value for v in videos]
        sync()
        return time.perf_counter() - t, vals

    times = {b: [] for b in metrics}
    values = {}
    for _ in range(args.repeat):  # interleaved, so machine noise hits both paths alike
        for b, m in metrics.items():
            dt, vals = run(m)
            times[b].append(dt)
            values[b] = vals
    pre = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        for v in videos:
            metrics[1].preprocess(v.frames)
        pre.append(time.perf_counter() - t)

    n = args.videos * args.frames
    med = {b: statistics.median(ts) for b, ts in times.items()}
    diff = max(abs(a - c) for a, c in zip(values[args.batch], values[1]))
    print(f"clip_score/{args.protocol} backbone={metrics[1].backbone} device={args.device} "
          f"{args.videos} videos x {args.frames} frames of {args.size}x{args.size}; median of {args.repeat}")
    print(f"  batched ({args.batch} frames/forward): {n / med[args.batch]:8.1f} frames/s")
    print(f"  one frame per forward:          {n / med[1]:8.1f} frames/s")
    print(f"  preprocessing alone:            {n / statistics.median(pre):8.1f} frames/s")
    print(f"  ratio batched / one-at-a-time:  {med[1] / med[args.batch]:8.2f}x   (max |score difference| {diff:.2e})")


if __name__ == "__main__":
    main()
