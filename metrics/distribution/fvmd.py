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
package's tracker (architecture and checkpoint layout implemented in :mod:`vgbench.metrics.backbones.pips2`; its tracking
loop is not yet, so this protocol fails with that message).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from vgbench.metrics.distribution.base import DistributionMetric, DistributionProtocol
from vgbench.metrics.distribution.frechet import fast_frechet_distance_from_features, frechet_distance_from_features
from vgbench.metrics.distribution.motion_features import (GRID, SHORT_SIDE, WINDOW, LucasKanadeTracker,  # noqa: F401
                                                  acceleration_released, acceleration_true, fvmd_extractor,
                                                  grid_points, motion_histogram, resize_short_side, velocity,
                                                  window_features)


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
    summary = "Fréchet Video Motion Distance vs a reference set (default: Lucas-Kanade tracker, no download, non-standard)"
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
