"""Uncertainty for leaderboard numbers and the paired comparison behind the regression gate.

* :func:`bootstrap_interval` / :func:`nested_bootstrap_means` (from :mod:`vgbench.metrics.intervals`, re-exported):
  the one interval method of per-item means, a nested bootstrap over prompts with the expanded percentile 95 %.
* :func:`paired_comparison`: two runs on the same prompts. Per prompt, the mean over its samples in each run; the
  difference ``candidate − base`` per prompt; its mean with a bootstrap interval over prompts, a two-sided
  sign-flip permutation p-value (exact for ≤ 16 prompts, else 20 000 seeded flips), and the effect size
  ``d_z = mean(diff)/sd(diff)``.
* :func:`holm`: Holm–Bonferroni adjusted p-values across the metrics compared at once.

Everything is seeded (``seed``), so a report is reproducible.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

# the one interval method of per-item means lives with the metrics, which compute it when they aggregate
from vgbench.metrics.intervals import Interval, bootstrap_interval, expanded_alpha, nested_bootstrap_means  # noqa: F401


@dataclass(frozen=True)
class Comparison:
    """``candidate − base`` over matching prompts."""

    delta: float
    low: float
    high: float
    p_value: float
    effect_size: float
    n_prompts: int
    base_mean: float
    candidate_mean: float

    def to_dict(self) -> dict:
        return {"delta": self.delta, "ci95": [self.low, self.high], "p_value": self.p_value,
                "effect_size_dz": self.effect_size, "n_prompts": self.n_prompts, "base": self.base_mean,
                "candidate": self.candidate_mean}


def sign_flip_p_value(diffs: np.ndarray, n_perm: int = 20000, seed: int = 0) -> float:
    """Two-sided p-value of ``mean(diffs) = 0`` by flipping the signs of the per-prompt differences."""
    d = np.asarray(diffs, dtype=np.float64)
    n = len(d)
    if n == 0:
        return math.nan
    observed = abs(d.mean())
    if observed == 0.0:
        return 1.0
    tol = 1e-12 * max(1.0, observed)
    if n <= 16:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        stats = np.abs((signs * d).mean(axis=1))
        return float(np.mean(stats >= observed - tol))
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, n_perm, 5000):
        m = min(5000, n_perm - start)
        signs = rng.choice((-1.0, 1.0), size=(m, n))
        hits += int(np.sum(np.abs((signs * d).mean(axis=1)) >= observed - tol))
    return (hits + 1) / (n_perm + 1)


def paired_comparison(base_values, base_prompts, cand_values, cand_prompts, n_boot: int = 2000,
                      seed: int = 0) -> Comparison:
    """Compare two runs on their common prompts (per-prompt means; see the module docstring)."""
    def prompt_means(values, prompts):
        values = np.asarray(values, dtype=np.float64)
        prompts = np.asarray(prompts)
        uniq, inv = np.unique(prompts, return_inverse=True)
        return dict(zip(uniq.tolist(), np.bincount(inv, weights=values) / np.bincount(inv)))

    b, c = prompt_means(base_values, base_prompts), prompt_means(cand_values, cand_prompts)
    common = sorted(set(b) & set(c))
    if not common:
        return Comparison(math.nan, math.nan, math.nan, math.nan, math.nan, 0, math.nan, math.nan)
    bd = np.array([b[p] for p in common])
    cd = np.array([c[p] for p in common])
    diffs = cd - bd
    n = len(diffs)
    delta = float(diffs.mean())
    if n >= 2:
        rng = np.random.default_rng(seed)
        reps = diffs[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
        a = expanded_alpha(0.05, n) / 2
        lo, hi = (float(x) for x in np.quantile(reps, [a, 1 - a]))
        sd = float(diffs.std(ddof=1))
        dz = delta / sd if sd > 0 else (0.0 if delta == 0 else math.copysign(math.inf, delta))
    else:
        lo = hi = dz = math.nan
    return Comparison(delta, lo, hi, sign_flip_p_value(diffs, seed=seed), dz, n, float(bd.mean()), float(cd.mean()))


def holm(p_values: list[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given; NaN stays NaN)."""
    idx = [i for i, p in enumerate(p_values) if not math.isnan(p)]
    order = sorted(idx, key=lambda i: p_values[i])
    m = len(order)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
