"""Uncertainty for set-level distances: bootstrap confidence intervals over videos and FD∞ extrapolation.

* :func:`bootstrap_ci` resamples videos with replacement in each set independently (``n_boot`` times, seeded) and
  returns the percentile 95 % interval of the distance. It measures sampling variability of the evaluated videos
  and of the reference set; it does not remove FVD's small-N bias (see FD∞).
* :func:`fd_infinity` (Chong & Forsyth 2020, "FID∞"): FD is biased upward roughly linearly in 1/N. Compute it on
  random generated subsets of several sizes (reference fixed), fit ``FD(N) = FD∞ + k/N`` by least squares and
  report the intercept FD∞ and the fit.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Distance = Callable[[np.ndarray, np.ndarray], float]


def bootstrap_ci(distance: Distance, x: np.ndarray, y: np.ndarray, n_boot: int = 200, seed: int = 0,
                 level: float = 0.95, resample_reference: bool = True) -> tuple[float, float, list[float]]:
    """Percentile bootstrap interval of ``distance(x, y)`` over items (rows); (low, high, samples)."""
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        xi = x[rng.integers(0, len(x), len(x))]
        yi = y[rng.integers(0, len(y), len(y))] if resample_reference else y
        vals.append(distance(xi, yi))
    a = (1 - level) / 2
    lo, hi = np.quantile(vals, [a, 1 - a])
    return float(lo), float(hi), [float(v) for v in vals]


def fd_infinity(distance: Distance, x: np.ndarray, y: np.ndarray, n_points: int = 10, min_size: int | None = None,
                seed: int = 0) -> dict | None:
    """Extrapolate ``distance`` to infinitely many generated items. None when ``len(x) < 20``.

    Returns ``{"value": FD∞, "slope": k, "sizes": [...], "values": [...], "r2": ...}``.
    """
    n = len(x)
    if n < 20:
        return None
    min_size = min_size or max(10, n // 5)
    sizes = np.unique(np.linspace(min_size, n, n_points).astype(int))
    rng = np.random.default_rng(seed)
    vals = []
    for s in sizes:
        idx = rng.permutation(n)[:s]
        vals.append(distance(x[idx], y))
    inv = 1.0 / sizes
    a = np.stack([np.ones_like(inv), inv], 1)
    coef, *_ = np.linalg.lstsq(a, np.asarray(vals), rcond=None)
    pred = a @ coef
    ss_res = float(((np.asarray(vals) - pred) ** 2).sum())
    ss_tot = float(((np.asarray(vals) - np.mean(vals)) ** 2).sum()) or 1.0
    return {"value": float(coef[0]), "slope": float(coef[1]), "sizes": sizes.tolist(),
            "values": [float(v) for v in vals], "r2": 1 - ss_res / ss_tot}
