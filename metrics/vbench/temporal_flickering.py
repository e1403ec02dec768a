"""VBench temporal flickering (metric-recipes §8): no model.

Per consecutive frame pair, the mean absolute difference over H, W and C (0–255 scale); the video's score is
``(255 − mean of the pair MAEs) / 255`` ∈ [0, 1] (1 = no change between frames); the dimension is the mean over
videos. VBench computes it with ``cv2.absdiff`` on float32 frames, pair by pair; here the absolute differences are
summed exactly in int64 over all pairs at once (in chunks of frames), which equals VBench's value up to its float32
rounding (< 1e-6).

Protocols:

* ``vbench`` scores whatever videos it is given (``static_filter: "none"`` in each item).
* ``vbench_static_filter`` is the VBench *dimension*: VBench samples 25 videos per temporal-flickering prompt, keeps
  those its RAFT static filter (:func:`vgbench.metrics.vbench.dimensions.is_static`) calls static, up to 5 per prompt, and
  averages over them. Every video is scored and records ``static``; :meth:`TemporalFlickering.compute` keeps the
  static ones, at most 5 per prompt (lowest sample indices first), and reports how many were dropped and why.
  ``--dimensions temporal_flickering`` uses this protocol; it needs the RAFT weights.
"""
from __future__ import annotations

import numpy as np

from vgbench.bench.errors import MetricError
from vgbench.bench.lazy import lazy_import
from vgbench.bench.video import Video
from vgbench.metrics.base import ItemScore, MetricKind, MetricResult
from vgbench.metrics.model_metric import BackboneMetric

torch = lazy_import("torch")


_CHUNK = 64
#: static videos VBench keeps per temporal-flickering prompt
STATIC_KEEP_PER_PROMPT = 5


def frame_pair_mae(frames: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference (0–255 scale) of each consecutive pair of uint8 ``[T,H,W,3]`` frames → ``[T-1]``."""
    t = frames.shape[0]
    if t < 2:
        raise MetricError("temporal flickering needs at least 2 frames")
    per_pixel = frames.shape[1] * frames.shape[2] * frames.shape[3]
    if frames.device.type == "cpu" and frames.dtype == torch.uint8:
        try:
            import cv2
        except ImportError:
            cv2 = None
        if cv2 is not None:  # the L1 norm of the uint8 difference: exact sums, SIMD
            f = frames.numpy()
            return torch.tensor([cv2.norm(np.ascontiguousarray(f[i + 1]), np.ascontiguousarray(f[i]), cv2.NORM_L1)
                                 for i in range(t - 1)], dtype=torch.float64) / per_pixel
    sums = []
    for s in range(0, t - 1, _CHUNK):
        chunk = frames[s:s + _CHUNK + 1].to(torch.int16)
        sums.append((chunk[1:] - chunk[:-1]).abs_().sum(dim=(1, 2, 3), dtype=torch.int64))
    return torch.cat(sums).double() / per_pixel


def temporal_flickering_score(frames: torch.Tensor) -> float:
    """VBench's per-video score ``(255 - mean pair MAE) / 255`` for uint8 ``[T,H,W,3]`` frames."""
    return float((255.0 - frame_pair_mae(frames).mean()) / 255.0)


class TemporalFlickering(BackboneMetric):
    """VBench temporal flickering in [0, 1]; higher is better (1 = perfectly stable frames)."""

    name = "temporal_flickering"
    summary = "VBench temporal flickering (no model)"
    kind = MetricKind.PER_ITEM
    higher_is_better = True
    protocols = {"vbench": "(255 - mean |frame_t+1 - frame_t|)/255 per video, mean over videos (VBench)",
                 "vbench_static_filter": "the same score over the videos VBench's RAFT static filter keeps (up to 5 "
                                         "static videos per prompt), as VBench's temporal-flickering dimension"}
    value_range = (0.0, 1.0)
    aggregation = "video"

    def __init__(self, protocol: str | None = None, options: dict[str, str] | None = None):
        super().__init__(protocol, options)
        self.fidelity = "vbench-exact" if self.protocol == "vbench_static_filter" else None
        self.dimension = "temporal_flickering" if self.protocol == "vbench_static_filter" else None
        #: item key → (prompt id, sample index), set by the evaluator; groups items for the per-prompt cap
        self.item_groups: dict[str, tuple[str, int]] = {}

    def backbones_needed(self) -> list[str]:
        return ["raft_things"] if self.protocol == "vbench_static_filter" else []

    def load(self, allow_random: bool | None = None, device: str | None = None, weights=None) -> None:
        super().load(allow_random, device, weights)
        if not self.backbones_needed():
            self.backbone = self.weights_sha256 = None

    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        mae = frame_pair_mae(video.frames)
        value = float((255.0 - mae.mean()) / 255.0)
        if self.protocol != "vbench_static_filter":
            return ItemScore(value, 1.0, {"mean_pair_mae": float(mae.mean()), "static_filter": "none"})
        from vgbench.metrics.vbench.dimensions import is_static

        static, info = is_static(video.frames, self.net("raft_things"), self.device, video=video)
        # a moving video weighs 0: scored and stored, but left out of every aggregate (the filter drops it)
        return ItemScore(value, 1.0 if static else 0.0, {"mean_pair_mae": float(mae.mean()), "static_filter": "vbench-raft",
                                      "static": static, **info})

    def compute(self) -> MetricResult:
        if self.protocol != "vbench_static_filter":
            return super().compute()
        everything = self._items
        moving = sorted(k for k, s in everything.items() if not s.extra.get("static", False) or s.weight <= 0)
        static = [k for k in everything if k not in set(moving)]
        static.sort(key=lambda k: (self.item_groups.get(k, (k, 0)), k))
        kept, per_prompt, over_cap = [], {}, []
        for k in static:
            group = self.item_groups.get(k, (k, 0))[0]
            per_prompt[group] = per_prompt.get(group, 0) + 1
            (kept if per_prompt[group] <= STATIC_KEEP_PER_PROMPT else over_cap).append(k)
        try:
            self._items = {k: everything[k] for k in kept}
            result = super().compute()
        finally:
            self._items = everything
        result.details["static_filter"] = {"scored": len(everything), "kept": len(kept), "moving": len(moving),
                                           "over_cap": len(over_cap), "keep_per_prompt": STATIC_KEEP_PER_PROMPT}
        if moving:
            result.flags.append(f"{len(moving)} of {len(everything)} video(s) were dropped by the static filter "
                                "(VBench scores temporal flickering on static videos only)")
        return result
