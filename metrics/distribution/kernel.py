"""Kernel (MMD²) distances between feature sets: KVD / KID, in the variants of the reference codebases.

Kernel: polynomial ``k(x, y) = (γ·xᵀy + c)^degree`` with degree 3, γ = 1/d, c = 1 (sklearn / torch-fidelity / TF-GAN
defaults). Estimators (metric-recipes §2):

* :func:`mmd2_unbiased_full` — TATS/DIGAN ``polynomial_mmd``: one unbiased MMD² on the full sets (off-diagonal
  means of K_XX and K_YY, full mean of K_XY), no subsets, raw (not ×1000).
* :func:`kid_subsets` — torch-fidelity ``kid_features_to_metric``: ``n_subsets`` subsets of size
  ``m = min(N, M, subset_size)`` drawn without replacement by ``np.random.RandomState(seed)`` (generated set first,
  then the reference set, for each subset); unbiased estimate per subset; mean and ``np.std`` (biased) over subsets.
"""
from __future__ import annotations

import numpy as np


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, gamma: float | None = None,
                      coef0: float = 1.0) -> np.ndarray:
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (gamma * (x @ y.T) + coef0) ** degree


def mmd2_unbiased_full(x: np.ndarray, y: np.ndarray, degree: int = 3, gamma: float | None = None,
                       coef0: float = 1.0, dtype=np.float64) -> float:
    """TATS/DIGAN KVD: unbiased MMD² of the full sets ``x`` ``[m,d]``, ``y`` ``[n,d]`` (m, n ≥ 2).

    ``dtype=np.float32`` reproduces songweige/TATS@03bbce1daa3d ``tats/fvd/fvd.py::polynomial_mmd`` as it runs on the
    float32 features it is given: sklearn's ``polynomial_kernel`` keeps float32 (``K = X·Yᵀ; K *= γ; K += c;
    K **= degree``), the sums are float32, and each of the three means is divided in float64 (NumPy 1.x promotion).
    """
    x = np.asarray(x, dtype)
    y = np.asarray(y, dtype)
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError("KVD needs at least 2 videos in each set")
    if dtype == np.float64:
        kxx = polynomial_kernel(x, x, degree, gamma, coef0)
        kyy = polynomial_kernel(y, y, degree, gamma, coef0)
        kxy = polynomial_kernel(x, y, degree, gamma, coef0)
        return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                     - 2 * kxy.mean())

    def kernel(a, b):
        k = a @ b.T
        k *= a.dtype.type(1.0 / a.shape[1] if gamma is None else gamma)
        k += a.dtype.type(coef0)
        k **= degree
        return k

    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    off_xx = float(kxx.sum() - np.diagonal(kxx).sum())
    off_yy = float(kyy.sum() - np.diagonal(kyy).sum())
    return off_xx / (m * (m - 1)) + off_yy / (n * (n - 1)) - 2 * (float(kxy.sum()) / (m * n))


def _mmd2_subset(x: np.ndarray, y: np.ndarray, degree: int, gamma: float | None, coef0: float) -> float:
    m = len(x)
    kxx = polynomial_kernel(x, x, degree, gamma, coef0)
    kyy = polynomial_kernel(y, y, degree, gamma, coef0)
    kxy = polynomial_kernel(x, y, degree, gamma, coef0)
    return float(((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.sum() / (m * m))


def _mmd2_subset_torch_fidelity32(x: np.ndarray, y: np.ndarray, degree: int, gamma: float | None,
                                  coef0: float) -> float:
    """torch-fidelity 0.4.0 ``metric_kid.kernel_mmd`` → ``mmd2(..., mmd_est='unbiased')`` as it runs on float32
    features: ``(X·Yᵀ·γ + c)^degree`` in float32, float32 row sums then totals, each of the two terms divided in
    float64 (NumPy 1.x promotion of a float32 scalar and a Python int)."""
    g = np.float32(1.0 / x.shape[1] if gamma is None else gamma)

    def kernel(a, b):
        return (np.matmul(a, b.T) * g + np.float32(coef0)) ** degree

    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    m = len(x)
    kt_xx = (kxx.sum(axis=1) - np.diagonal(kxx)).sum()
    kt_yy = (kyy.sum(axis=1) - np.diagonal(kyy)).sum()
    k_xy = kxy.sum(axis=0).sum()
    return float(kt_xx + kt_yy) / (m * (m - 1)) - 2 * float(k_xy) / (m * m)


def kid_subsets(x: np.ndarray, y: np.ndarray, n_subsets: int = 100, subset_size: int = 1000, seed: int = 2020,
                degree: int = 3, gamma: float | None = None, coef0: float = 1.0,
                dtype=np.float64) -> tuple[float, float, list[float]]:
    """torch-fidelity KID: (mean, std, per-subset values). ``x`` generated, ``y`` reference.

    ``dtype=np.float32`` reproduces toshas/torch-fidelity 0.4.0 ``metric_kid.kid_features_to_metric`` on the float32
    features an extractor gives (same subsets: ``RandomState(seed).choice(..., replace=False)``, generated first)."""
    x = np.asarray(x, dtype)
    y = np.asarray(y, dtype)
    m = min(len(x), len(y), subset_size)
    if m < 2:
        raise ValueError("KID needs at least 2 items in each set")
    rng = np.random.RandomState(seed)
    one = _mmd2_subset_torch_fidelity32 if dtype == np.float32 else _mmd2_subset
    vals = []
    for _ in range(n_subsets):
        xs = x[rng.choice(len(x), m, replace=False)]
        ys = y[rng.choice(len(y), m, replace=False)]
        vals.append(one(xs, ys, degree, gamma, coef0))
    return float(np.mean(vals)), float(np.std(vals)), vals


class KidSubsetsMemo:
    """Remembers the last :func:`kid_subsets` result per (x, y) object pair, so a metric's value and its details
    (the std over subsets) come from one pass of the subsets instead of two."""

    def __init__(self, **options):
        self.options = options
        self._last: tuple | None = None

    def __call__(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float, list[float]]:
        if self._last is None or self._last[0] is not x or self._last[1] is not y:
            self._last = (x, y, kid_subsets(x, y, **self.options))
        return self._last[2]
