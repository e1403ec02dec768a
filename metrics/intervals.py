"""The one interval method for per-item metrics: a nested bootstrap over prompts, expanded percentile 95 %.

Every view of a per-item metric's mean (the run summary, ``evaluate --json``, the leaderboard, exports) shows the
interval :func:`bootstrap_interval` computes here, once, when the metric is aggregated; the views read it back. Why
this method: prompts are the unit of generalisation (another suite draws other prompts) and a prompt's samples
(seeds) are nested in it, not independent items, so the data are resampled the way they were made: prompts with
replacement, then the samples of each drawn prompt with replacement. The plain percentile interval of a mean covers
only ~93 % with 30–100 prompts; :func:`expanded_alpha` (Hesterberg) restores the nominal level.

Items may carry weights (VBench's frame-weighted dimensions): a replicate is ``Σ w·v / Σ w`` over the drawn items,
the estimate the exact weighted mean. Everything is seeded (``seed``), so every view gets the same numbers.
Distribution metrics (FVD, FID, KVD...) have no per-item values: their interval is the metric's own bootstrap over
videos, named in ``ci_method``. Differences between two runs (``vgbench compare``) are paired per prompt: see
:mod:`vgbench.leaderboards.statistics`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

N_BOOT = 2000
METHOD = "nested bootstrap over prompts (seeds within prompts), expanded percentile 95%"


def nested_bootstrap_means(values, prompts, n_boot: int = N_BOOT, seed: int = 0, weights=None) -> np.ndarray:
    """``n_boot`` bootstrap replicates (float64 ``[n_boot]``) of the (weighted) mean of ``values``: resample prompts,
    then the samples within each drawn prompt.

    ``prompts`` gives each value's prompt (any hashable labels; one label per item gives the plain item bootstrap);
    ``weights`` (default 1) each item's weight. Cost O(n_boot · items).
    """
    values = np.asarray(values, dtype=np.float64)
    w = np.ones_like(values) if weights is None else np.asarray(weights, dtype=np.float64)
    labels = np.unique(np.asarray(prompts), return_inverse=True)[1].reshape(-1)
    order = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    groups = np.split(order, cuts)
    rng = np.random.default_rng(seed)
    k = len(groups)
    pick = rng.integers(0, k, size=(n_boot, k))  # prompts drawn per replicate
    times = np.zeros((n_boot, k), dtype=np.int64)
    np.add.at(times, (np.repeat(np.arange(n_boot), k), pick.reshape(-1)), 1)
    num = np.zeros(n_boot)
    den = np.zeros(n_boot)
    # within-prompt resampling: for prompt j drawn c times in a replicate, draw c·n_j of its samples
    for j, idx in enumerate(groups):
        t = times[:, j]
        total = int(t.sum())
        if total == 0:
            continue
        draw = idx[rng.integers(0, len(idx), size=(total, len(idx)))]
        rep = np.repeat(np.arange(n_boot), t)
        np.add.at(num, rep, (w[draw] * values[draw]).sum(axis=1))
        np.add.at(den, rep, w[draw].sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


@dataclass(frozen=True)
class Interval:
    """A mean with its 95 % interval (``low``/``high`` NaN when there is none) and how it was obtained."""

    estimate: float
    low: float
    high: float
    n_prompts: int
    n_items: int
    method: str = METHOD

    def to_dict(self) -> dict:
        return {"estimate": self.estimate, "ci95": [self.low, self.high], "n_prompts": self.n_prompts,
                "n_items": self.n_items, "ci_method": self.method}


def bootstrap_interval(values, prompts, n_boot: int = N_BOOT, seed: int = 0, level: float = 0.95,
                       weights=None) -> Interval:
    """The (weighted, ``math.fsum``-exact) mean of ``values`` with the nested-bootstrap expanded percentile interval
    (see the module docstring); no interval below 2 prompts or for non-finite values."""
    values = np.asarray(values, dtype=np.float64)
    w = np.ones_like(values) if weights is None else np.asarray(weights, dtype=np.float64)
    n_prompts = len(np.unique(np.asarray(prompts))) if len(values) else 0
    est = math.fsum(w * values) / math.fsum(w) if len(values) else math.nan
    if n_prompts < 2 or not np.isfinite(values).all():
        why = "fewer than 2 prompts: no interval" if n_prompts < 2 else "non-finite values: no interval"
        return Interval(est, math.nan, math.nan, n_prompts, len(values), why)
    reps = nested_bootstrap_means(values, prompts, n_boot, seed, w)
    a = expanded_alpha(1 - level, n_prompts) / 2
    lo, hi = np.quantile(reps, [a, 1 - a])
    return Interval(est, float(lo), float(hi), n_prompts, len(values))


def expanded_alpha(alpha: float, n: int) -> float:
    """Hesterberg's expanded percentile: the plain percentile interval of a mean is too narrow by about
    ``√((n−1)/n)`` and uses normal instead of t quantiles; taking the quantiles at ``α' = 2·Φ(−√(n/(n−1))·t_{1−α/2,
    n−1})`` fixes both (coverage ≈ nominal from n ≈ 20 prompts)."""
    from scipy import stats

    if n < 2:
        return alpha
    return float(2 * stats.norm.cdf(-math.sqrt(n / (n - 1)) * stats.t.ppf(1 - alpha / 2, n - 1)))


def numerical_resolution(scale: float, n_items: int, dtype: str = "float64") -> float:
    """The smallest difference between two means of ``n_items`` values of magnitude ``scale`` that is more than
    rounding: a few units in the last place of the values' own dtype (``"float32"`` for values computed by a network,
    ``"float64"`` otherwise) plus the float64 rounding of summing ``n_items`` of them. Differences at or below it are
    ties (two runs of byte-identical videos differ by ~1e-17, not by an effect)."""
    eps = float(np.finfo(np.dtype(dtype)).eps)
    return abs(float(scale)) * (4 * eps + max(int(n_items), 1) * float(np.finfo(np.float64).eps))


def value_dtype(result: dict) -> str:
    """The dtype a stored result's values carry (``details.value_dtype``; results stored before it was recorded:
    float32 when a network computed them, else float64)."""
    return (result.get("details") or {}).get("value_dtype") or ("float32" if result.get("backbone") else "float64")
