"""FVMD's motion features (metric-recipes §3): grid tracking in sliding 16-frame windows, velocity and acceleration
histograms, and the feature extractor the FVMD metric (:mod:`vgbench.metrics.distribution.fvmd`) compares. Apart from the
metric so that the extractor registry can build it without importing the metric.
"""
from __future__ import annotations

import numpy as np

from vgbench.bench.errors import MetricError
from vgbench.metrics.distribution.extractors import ClipSampling, FeatureExtractor


WINDOW = 16
GRID = 20
SHORT_SIDE = 256


def grid_points(height: int, width: int, n: int = GRID) -> np.ndarray:
    """FVMD's query grid ``[n*n, 2]`` as (x, y): ``8 + i/(n−1)·(W−16)``; y varies slowest."""
    j = np.arange(n, dtype=np.float64) / (n - 1)
    gy, gx = np.meshgrid(8 + j * (height - 16), 8 + j * (width - 16), indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], -1)


def velocity(traj: np.ndarray) -> np.ndarray:
    """``[S, N, 2]`` trajectory → velocity with ``v_0 = 0``."""
    return np.concatenate([np.zeros_like(traj[:1]), traj[1:] - traj[:-1]])


def acceleration_released(traj: np.ndarray) -> np.ndarray:
    """fvmd 1.0's ``calc_acceleration(trajs_e)`` applied to the trajectory: ``p_t − p_{t−1}`` for t ≥ 2, else 0."""
    return np.concatenate([np.zeros_like(traj[:2]), traj[2:] - traj[1:-1]])


def acceleration_true(traj: np.ndarray) -> np.ndarray:
    """``v_t − v_{t−1}`` for t ≥ 2, else 0."""
    v = velocity(traj)
    return np.concatenate([np.zeros_like(v[:2]), v[2:] - v[1:-1]])


def motion_histogram(vectors: np.ndarray, cell: int = 5, angle_bins: int = 8, cube_frames: int = 4,
                     magnitude_bins: int = 256) -> np.ndarray:
    """fvmd ``calc_hist`` for one window: ``[S, N, 2]`` (N = 400) → ``[512]``.

    Angle ``arctan2(v[...,0], v[...,1])`` binned by ``floor((θ+π)/(2π/8))`` (clipped to 0..7); weight
    ``ceil(clip(log2(clip(|v|, 0, 255) + 1), 0, 8)) / 8``; summed per cube of 4 frames × 5×5 points.
    """
    s, n, _ = vectors.shape
    side = int(round(np.sqrt(n)))
    v = vectors.reshape(s, side, side, 2)
    ms, mh, mw = s // cube_frames, side // cell, side // cell
    v = v[: ms * cube_frames, : mh * cell, : mw * cell]
    v = v.reshape(ms, cube_frames, mh, cell, mw, cell, 2).transpose(0, 2, 4, 1, 3, 5, 6)
    v = v.reshape(ms * mh * mw, -1, 2)
    angle = np.arctan2(v[..., 0], v[..., 1])
    bins = np.clip((angle + np.pi) // (2 * np.pi / angle_bins), 0, angle_bins - 1).astype(np.int64)
    mag = np.clip(np.linalg.norm(v, axis=-1), 0, magnitude_bins - 1) + 1
    w = np.ceil(np.clip(np.log2(mag), 0, int(np.log2(magnitude_bins)))) / np.log2(magnitude_bins)
    hist = np.zeros((v.shape[0], angle_bins))
    rows = np.repeat(np.arange(v.shape[0]), v.shape[1])
    np.add.at(hist, (rows, bins.ravel()), w.ravel())
    return hist.reshape(-1)


def window_features(traj: np.ndarray) -> np.ndarray:
    """One window's trajectory ``[16, 400, 2]`` → ``[1536]``: velocity histogram, released "acceleration"
    histogram, true acceleration histogram (each 512). Protocols pick their columns."""
    return np.concatenate([motion_histogram(velocity(traj)), motion_histogram(acceleration_released(traj)),
                           motion_histogram(acceleration_true(traj))])


def resize_short_side(frames: np.ndarray, size: int = SHORT_SIDE) -> np.ndarray:
    """uint8 ``[T,H,W,3]`` → float32 ``[T,h,w,3]`` with the shorter side ``size`` (bilinear, antialias)."""
    import torch
    import torch.nn.functional as F

    t, h, w, _ = frames.shape
    scale = size / min(h, w)
    target = (size, int(w * scale)) if h <= w else (int(h * scale), size)
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=target, mode="bilinear", align_corners=False, antialias=True)
    return x.permute(0, 2, 3, 1).numpy()


class LucasKanadeTracker:
    """Pyramidal Lucas–Kanade (OpenCV ``calcOpticalFlowPyrLK``, 21×21 window, 3 levels) chained frame to frame.
    Points that are lost keep their last position (zero velocity). Weights-free, non-standard for FVMD."""

    name = "lk"

    def track(self, frames: np.ndarray, points: np.ndarray) -> np.ndarray:
        """float ``[S,H,W,3]`` in [0,255], ``[N,2]`` (x, y) → trajectory ``[S,N,2]``."""
        import cv2

        gray = [cv2.cvtColor(np.clip(f, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY) for f in frames]
        pts = points.astype(np.float32).reshape(-1, 1, 2)
        out = [pts.reshape(-1, 2).astype(np.float64)]
        for a, b in zip(gray[:-1], gray[1:]):
            nxt, status, _ = cv2.calcOpticalFlowPyrLK(a, b, pts, None, winSize=(21, 21), maxLevel=3,
                                                      criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
            ok = status.reshape(-1).astype(bool)
            pts = np.where(ok[:, None, None], nxt, pts)
            out.append(pts.reshape(-1, 2).astype(np.float64))
        return np.stack(out)


def _fwd_fvmd(tracker_name: str):
    def forward(model, frames):
        if tracker_name == "pips2":
            raise MetricError("FVMD with the PIPs++ tracker: the PIPs++ tracking loop is not implemented yet "
                              "(weights layout only); use fvmd/fvmd-1.0-lk or fvmd/fvmd-corrected-lk")
        x = resize_short_side(frames)
        tracker = LucasKanadeTracker()
        pts = grid_points(x.shape[1], x.shape[2])
        feats = [window_features(tracker.track(x[s:s + WINDOW], pts)) for s in range(len(x) - WINDOW + 1)]
        return np.stack(feats)
    return forward


def fvmd_extractor(tracker: str = "lk") -> FeatureExtractor:
    return FeatureExtractor(
        f"fvmd-{tracker}", "pips2" if tracker == "pips2" else "none", ClipSampling(None, "first", "first", WINDOW),
        {"resize": f"short side {SHORT_SIDE} bilinear antialias", "windows": "16 frames, stride 1",
         "grid": "20x20", "tracker": tracker, "histograms": "velocity | released acceleration | true acceleration"},
        _fwd_fvmd(tracker), 1536, per="window", standard=tracker == "pips2",
        label=None if tracker == "pips2" else "OpenCV Lucas–Kanade tracker in place of PIPs++")


def fvmd_lk() -> FeatureExtractor:
    """FVMD features with the Lucas–Kanade tracker (offline, non-standard): the ``fvmd-lk`` extractor."""
    return fvmd_extractor("lk")


def fvmd_pips2() -> FeatureExtractor:
    """FVMD features with PIPs++ (the reference's tracker): the ``fvmd-pips2`` extractor."""
    return fvmd_extractor("pips2")
