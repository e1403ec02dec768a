"""VBench temporal flickering (metric-recipes §8): no model.

Per consecutive frame pair, the mean absolute difference over H, W and C (0–255 scale); the video's score is
``(255 − mean of the pair MAEs) / 255`` ∈ [0, 1] (1 = no change between frames); the dimension is the mean over
videos. VBench computes it with ``cv2.absdiff`` on float32 frames, pair by pair; here the absolute differences are
summed exactly in int64 over all pairs at once (in chunks of frames), which equals VBench's value up to its float32
rounding (< 1e-6).

VBench evaluates this dimension only on videos that pass its RAFT static filter (it samples 25 videos per prompt
and keeps static ones). This implementation scores whatever videos it is given; results record
``static_filter: "none"`` until the RAFT filter (VBench-dimensions issue) is applied upstream.
"""
from __future__ import annotations

import torch

from bench.errors import MetricError
from bench.video import Video
from metrics.base import ItemScore, Metric, MetricKind

_CHUNK = 64


def frame_pair_mae(frames: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference (0–255 scale) of each consecutive pair of uint8 ``[T,H,W,3]`` frames → ``[T-1]``."""
    t = frames.shape[0]
    if t < 2:
        raise MetricError("temporal flickering needs at least 2 frames")
    per_pixel = frames.shape[1] * frames.shape[2] * frames.shape[3]
    sums = []
    for s in range(0, t - 1, _CHUNK):
        chunk = frames[s:s + _CHUNK + 1].to(torch.int16)
        sums.append((chunk[1:] - chunk[:-1]).abs_().sum(dim=(1, 2, 3), dtype=torch.int64))
    return torch.cat(sums).double() / per_pixel


def temporal_flickering_score(frames: torch.Tensor) -> float:
    """VBench's per-video score ``(255 - mean pair MAE) / 255`` for uint8 ``[T,H,W,3]`` frames."""
    return float((255.0 - frame_pair_mae(frames).mean()) / 255.0)


class TemporalFlickering(Metric):
    """VBench temporal flickering in [0, 1]; higher is better (1 = perfectly stable frames)."""

    name = "temporal_flickering"
    kind = MetricKind.PER_ITEM
    higher_is_better = True
    protocols = {"vbench": "(255 - mean |frame_t+1 - frame_t|)/255 per video, mean over videos (VBench)"}
    value_range = (0.0, 1.0)
    aggregation = "video"

    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        mae = frame_pair_mae(video.frames)
        return ItemScore(float((255.0 - mae.mean()) / 255.0), 1.0,
                         {"mean_pair_mae": float(mae.mean()), "static_filter": "none"})
