"""Fréchet distance between Gaussians fitted to feature sets, in the variants the reference codebases use.

``FD = ‖μ₁ − μ₂‖² + Tr(Σ₁) + Tr(Σ₂) − 2·Tr((Σ₁Σ₂)^½)``. Codebases differ in (see metric-recipes §1.6):

* covariance normalisation: ``"population"`` (÷N: StyleGAN-V, cd-fvd) or ``"unbiased"`` (÷(N−1): ``np.cov``,
  TF-GAN, VideoGPT, FVMD);
* the square-root term: ``"scipy"`` = ``scipy.linalg.sqrtm(Σ₁Σ₂)`` (Schur; StyleGAN-V, common_metrics, cd-fvd) or
  ``"svd"`` = TF-GAN's ``trace(sqrt(A Σ₂ A))`` with ``A = sqrt(Σ₁)``, both symmetric square roots by SVD whose singular
  values below 1e-10 are kept unrooted (``_symmetric_matrix_square_root``);
* ``eps``: FVMD (pytorch-fid lineage) adds ``eps·I`` to both covariances before ``sqrtm``;
* the arithmetic's dtype: float64 everywhere here, except :func:`frechet_distance_torch32`, the float32 torch code of
  VideoGPT (``videogpt/fvd/fvd.py::frechet_distance``), TATS and common_metrics' ``fvd/videogpt`` path, which a
  protocol following them must use to give their numbers (``sqrt="svd-torch32"``).

Functions take features as ``[N, d]`` arrays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COVARIANCES = ("population", "unbiased")
SQRT_METHODS = ("scipy", "svd", "svd-torch32")


@dataclass(frozen=True)
class GaussianStats:
    """Mean ``[d]``, covariance ``[d, d]`` (float64) and the sample count they came from."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int


def feature_stats(feats: np.ndarray, covariance: str = "population") -> GaussianStats:
    """Mean and covariance of ``feats`` ``[N, d]``. ``covariance``: ``"population"`` (÷N) or ``"unbiased"``
    (÷(N−1); with N = 1 the covariance is zero, as common_metrics' single-video special case)."""
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance must be one of {COVARIANCES}")
    x = np.asarray(feats, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"expected features [N, d] with N ≥ 1, got shape {x.shape}")
    n = x.shape[0]
    mu = x.mean(0)
    xc = x - mu
    denom = n if covariance == "population" or n == 1 else n - 1
    return GaussianStats(mu, xc.T @ xc / denom, n)


def _sym_sqrt_svd(mat: np.ndarray, eps: float = 1e-10) -> np.ndarray:
    """TF-GAN ``_symmetric_matrix_square_root``: U diag(√s) Vᵀ, singular values < eps left as they are."""
    u, s, vt = np.linalg.svd(mat)
    si = np.where(s < eps, s, np.sqrt(s))
    return (u * si) @ vt


def trace_sqrt_product(s1: np.ndarray, s2: np.ndarray, method: str = "scipy", eps: float = 0.0) -> float:
    """``Tr((Σ₁Σ₂)^½)`` by ``method`` (see the module docstring)."""
    if method == "scipy":
        import warnings

        import scipy.linalg

        d = s1.shape[0]
        a = s1 + eps * np.eye(d) if eps else s1
        b = s2 + eps * np.eye(d) if eps else s2
        with warnings.catch_warnings():  # singular products are expected when N < d; results flag that case
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            root = scipy.linalg.sqrtm(a @ b)
        return float(np.real(np.trace(root)))
    if method == "svd":
        a = _sym_sqrt_svd(s1)
        return float(np.trace(_sym_sqrt_svd(a @ s2 @ a)))
    raise ValueError(f"sqrt method must be one of {SQRT_METHODS}")


def frechet_distance(a: GaussianStats, b: GaussianStats, sqrt: str = "scipy", eps: float = 0.0) -> float:
    """Fréchet distance between two fitted Gaussians (float64; the real part, as the reference codes take)."""
    diff = a.mu - b.mu
    tr = trace_sqrt_product(a.sigma, b.sigma, sqrt, eps)
    tr_a = np.trace(a.sigma) + (eps * a.sigma.shape[0] if eps else 0.0)
    tr_b = np.trace(b.sigma) + (eps * b.sigma.shape[0] if eps else 0.0)
    return float(diff @ diff + tr_a + tr_b - 2.0 * tr)


def frechet_distance_from_features(x: np.ndarray, y: np.ndarray, covariance: str = "population",
                                   sqrt: str = "scipy", eps: float = 0.0) -> float:
    """Functional form: FD between feature sets ``x`` ``[N, d]`` and ``y`` ``[M, d]``."""
    if sqrt == "svd-torch32":
        if covariance != "unbiased" or eps:
            raise ValueError("svd-torch32 is the VideoGPT/TATS code: unbiased covariance, no eps")
        return frechet_distance_torch32(x, y)
    return frechet_distance(feature_stats(x, covariance), feature_stats(y, covariance), sqrt, eps)


def frechet_distance_torch32(x: np.ndarray, y: np.ndarray) -> float:
    """FD exactly as VideoGPT's ``videogpt/fvd/fvd.py::frechet_distance`` computes it (wilson1yan/VideoGPT@733d2b1541e1;
    the same code in songweige/TATS@03bbce1daa3d ``tats/fvd/fvd.py`` and JunyaoHu/common_metrics_on_video_quality@
    5f751734ce9c ``fvd/videogpt/fvd.py``): float32 torch tensors; unbiased covariance ``(x−x̄)(x−x̄)ᵀ/(N−1)``; TF-GAN's
    ``trace_sqrt_product`` with ``torch.svd`` square roots (singular values < 1e-10 not rooted); ``x`` generated,
    ``y`` reference (the order the reference code calls it in). Returns a Python float of the float32 result.
    """
    import torch

    def cov(m: torch.Tensor) -> torch.Tensor:
        m = m.t()
        fact = 1.0 / (m.size(1) - 1)
        mc = m - torch.mean(m, dim=1, keepdim=True)
        return fact * mc.matmul(mc.t()).squeeze()

    def sym_sqrt(mat: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
        u, s, vh = torch.linalg.svd(mat, full_matrices=False)
        si = torch.where(s < eps, s, torch.sqrt(s))
        return torch.matmul(torch.matmul(u, torch.diag(si)), vh)

    x1 = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).flatten(start_dim=1)
    x2 = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)).flatten(start_dim=1)
    m, m_w = x1.mean(dim=0), x2.mean(dim=0)
    sigma, sigma_w = cov(x1), cov(x2)
    root = sym_sqrt(sigma)
    tr_sqrt = torch.trace(sym_sqrt(torch.matmul(root, torch.matmul(sigma_w, root))))
    trace = torch.trace(sigma + sigma_w) - 2.0 * tr_sqrt
    return float(trace + torch.sum((m - m_w) ** 2))


def fast_frechet_distance_from_features(x: np.ndarray, y: np.ndarray, covariance: str = "population") -> float:
    """The same Fréchet distance by an exact identity that is much faster for bootstrap resampling.

    With ``Σᵢ = AᵢAᵢᵀ`` (``Aᵢ`` = centred features ``[d, n]`` scaled by the covariance normaliser), the eigenvalues
    of ``Σ₁Σ₂`` are the squared singular values of ``A₁ᵀA₂``, so ``Tr((Σ₁Σ₂)^½)`` is the nuclear norm of ``A₁ᵀA₂``
    (an ``n₁×n₂`` SVD, used when an n is below d). Otherwise ``Tr((R Σ₂ R)^½)`` with ``R = Σ₁^½`` from two symmetric
    eigendecompositions. Agrees with :func:`frechet_distance` up to floating-point error (no ``eps`` variants).
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    d = x.shape[1]
    if min(len(x), len(y)) <= d:  # small sets: everything from the n×d centred features, no d×d matrix at all
        def scaled(z):
            n = len(z)
            return (z - z.mean(0)) / np.sqrt(n if covariance == "population" or n == 1 else n - 1)
        ax, ay = scaled(x), scaled(y)
        diff = x.mean(0) - y.mean(0)
        tr = float(np.linalg.svd(ax @ ay.T, compute_uv=False).sum())
        # Tr(Σ) = ‖A‖²_F
        return float(diff @ diff + np.einsum("ij,ij->", ax, ax) + np.einsum("ij,ij->", ay, ay) - 2 * tr)
    sx, sy = feature_stats(x, covariance), feature_stats(y, covariance)
    diff = sx.mu - sy.mu
    w, v = np.linalg.eigh(sx.sigma)
    r = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    tr = float(np.sqrt(np.clip(np.linalg.eigvalsh(r @ sy.sigma @ r), 0, None)).sum())
    return float(diff @ diff + np.trace(sx.sigma) + np.trace(sy.sigma) - 2 * tr)
