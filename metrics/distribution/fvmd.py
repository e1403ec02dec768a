"""FVMD (Fréchet Video Motion Distance, Liu et al. 2024) — metric-recipes §3.

Pipeline per video: frames resized so the shorter side is 256 (aspect kept), cut into sliding 16-frame windows
(stride 1: a T-frame video gives T−15 windows); in each window a 20×20 grid of points
(``8 + j/19·(size−16)``) is tracked from the window's first frame; velocities ``v_t = p_t − p_{t−1}`` (``v_0 = 0``)
and accelerations become 8-bin angle histograms weighted by quantised log-magnitudes over cubes of 4 frames × 5×5
points (64 cubes × 8 bins = 512-d each); velocity and acceleration histograms are concatenated (1024-d) and compared
with the Fréchet distance of the ``fvmd`` package (``np.cov`` (N−1), ``eps = 1e-5`` added to both covariances).

Protocols:

* ``fvmd-1.0``: reproduces the released package, including its "acceleration", which is computed from the
  trajectory rather than the velocity, so it equals ``p_t − p_{t−1}`` for t ≥ 2 and 0 for t < 2.
* ``fvmd-corrected``: a true second difference ``a_t = v_t − v_{t−1}`` (0 for t < 2), as the paper intends.
* ``fvmd-1.0-lk`` (default, runs offline) and ``fvmd-corrected-lk``: the same features with the tracker below.

Trackers: ``lk`` (default here) — pyramidal Lucas–Kanade from OpenCV, needs no weights but is **non-standard**
(results are flagged; not comparable with published FVMD); ``pips2`` — PIPs++ with ``pips2_weights.pth``, the
package's tracker (architecture and checkpoint layout implemented in :mod:`metrics.backbones.pips2`; its tracking
loop is not yet, so this protocol fails with that message).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from bench.errors import MetricError
from metrics.distribution.base import DistributionMetric, DistributionProtocol
from metrics.distribution.extractors import ClipSampling, FeatureExtractor
from metrics.distribution.frechet import fast_frechet_distance_from_features, frechet_distance_from_features

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
        _fwd_fvmd(tracker), 1536, per="window", standard=tracker == "pips2")


PROTOCOLS = {
    "fvmd-1.0-lk": DistributionProtocol("fvmd-lk", "fvmd 1.0 features (released 'acceleration' quirk) with a "
                                        "Lucas-Kanade tracker (non-standard)", None, (("acc", "released"),)),
    "fvmd-corrected-lk": DistributionProtocol("fvmd-lk", "true second-difference acceleration, Lucas-Kanade tracker "
                                              "(non-standard)", None, (("acc", "true"),)),
    "fvmd-1.0": DistributionProtocol("fvmd-pips2", "fvmd 1.0 exactly: PIPs++ tracker, released 'acceleration'",
                                     None, (("acc", "released"),)),
    "fvmd-corrected": DistributionProtocol("fvmd-pips2", "PIPs++ tracker, true second-difference acceleration",
                                           None, (("acc", "true"),)),
}


class FVMD(DistributionMetric):
    name: ClassVar[str] = "fvmd"
    protocol_specs = PROTOCOLS
    protocols: ClassVar[dict[str, str]] = {k: v.description for k, v in PROTOCOLS.items()}
    n_boot = 50

    def columns(self, feats: np.ndarray) -> np.ndarray:
        acc = feats[:, 512:1024] if self.spec.option("acc") == "released" else feats[:, 1024:1536]
        return np.concatenate([feats[:, :512], acc], 1)

    def distance(self, x: np.ndarray, y: np.ndarray) -> float:
        return frechet_distance_from_features(self.columns(x), self.columns(y), "unbiased", "scipy", eps=1e-5)

    def fast_distance(self, x: np.ndarray, y: np.ndarray) -> float:
        """Bootstrap resamples: the exact-identity fast form, without the 1e-5 regulariser (a negligible change)."""
        return fast_frechet_distance_from_features(self.columns(x), self.columns(y), "unbiased")

    def extra_details(self, x, y) -> dict:
        cx, cy = self.columns(x), self.columns(y)
        fd = lambda a, b: frechet_distance_from_features(a, b, "unbiased", "scipy", eps=1e-5)  # noqa: E731
        return {"velocity_fvmd": fd(cx[:, :512], cy[:, :512]), "acceleration_fvmd": fd(cx[:, 512:], cy[:, 512:])}
