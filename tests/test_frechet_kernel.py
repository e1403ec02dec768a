"""Distances against independent formulas written here (scipy sqrtm, np.cov, TF-GAN's SVD square root, explicit
kernel sums), including the rank-deficient case N < d."""
import numpy as np
import pytest
import scipy.linalg

from vgbench.metrics.distribution.frechet import fast_frechet_distance_from_features, frechet_distance_from_features
from vgbench.metrics.distribution.fvd import FVD
from vgbench.metrics.distribution.kernel import kid_subsets, mmd2_unbiased_full
from vgbench.metrics.distribution.statistics import bootstrap_ci, fd_infinity


def fd_scipy(x, y, ddof):
    m1, m2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False, ddof=ddof), np.cov(y, rowvar=False, ddof=ddof)
    root = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.real(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * root)))


def fd_tfgan(x, y):
    def symsqrt(m):
        u, s, v = np.linalg.svd(m)
        return u @ np.diag(np.where(s < 1e-10, s, np.sqrt(s))) @ v
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    a = symsqrt(s1)
    tr = np.trace(symsqrt(a @ s2 @ a))
    return float(np.trace(s1) + np.trace(s2) - 2 * tr + ((x.mean(0) - y.mean(0)) ** 2).sum())


CASES = [(300, 250, 24), (12, 9, 40)]  # full rank, and rank-deficient (N < d)


@pytest.mark.parametrize("n,m,d", CASES)
@pytest.mark.parametrize("protocol,ddof,kind", [("styleganv", 0, "scipy"), ("common_metrics", 1, "scipy"),
                                                 ("videogpt", 1, "svd32"), ("tats", 1, "svd32"), ("tf", 1, "svd"),
                                                 ("cdfvd-videomae", 0, "scipy"),
                                                 ("efficientnet-lite0", 0, "scipy")])  # exact fast identity
def test_fvd_protocol_distance_matches_independent_formula(n, m, d, protocol, ddof, kind):
    rng = np.random.default_rng(n + d)
    x = rng.normal(size=(n, d)) * rng.uniform(0.5, 2, d)
    y = rng.normal(size=(m, d)) + 0.3
    got = FVD(protocol).distance(x, y)
    want = fd_scipy(x, y, ddof) if kind == "scipy" else fd_tfgan(x, y)
    # svd32: VideoGPT/TATS compute in float32 torch (their exact value is pinned by tests/test_parity_fvd.py); here
    # only the formula is checked against the float64 one, to float32 precision of a rank-deficient SVD
    assert got == pytest.approx(want, rel=1e-3 if kind == "svd32" else 1e-6)
    # the fast exact identity used for bootstrap resamples agrees too
    assert fast_frechet_distance_from_features(x, y, "population" if ddof == 0 else "unbiased") == \
        pytest.approx(fd_scipy(x, y, ddof), rel=1e-6)


def test_fvmd_eps_variant_matches_pytorch_fid_style_formula():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 16)), rng.normal(size=(25, 16)) + 0.1
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    off = 1e-5 * np.eye(16)
    root = scipy.linalg.sqrtm((s1 + off) @ (s2 + off))
    want = ((x.mean(0) - y.mean(0)) ** 2).sum() + np.trace(s1 + off) + np.trace(s2 + off) - 2 * np.trace(root).real
    assert frechet_distance_from_features(x, y, "unbiased", "scipy", eps=1e-5) == pytest.approx(want, rel=1e-9)


def test_identical_sets_give_zero_and_shift_gives_squared_norm():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 8))
    assert frechet_distance_from_features(x, x) == pytest.approx(0, abs=1e-8)
    assert frechet_distance_from_features(x, x + 2.0) == pytest.approx(8 * 4.0, rel=1e-9)


def test_kvd_tats_matches_explicit_sums():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(20, 6)), rng.normal(size=(15, 6)) + 0.5
    k = lambda a, b: (a @ b / 6 + 1) ** 3  # noqa: E731
    kxx = sum(k(x[i], x[j]) for i in range(20) for j in range(20) if i != j) / (20 * 19)
    kyy = sum(k(y[i], y[j]) for i in range(15) for j in range(15) if i != j) / (15 * 14)
    kxy = sum(k(a, b) for a in x for b in y) / (20 * 15)
    assert mmd2_unbiased_full(x, y) == pytest.approx(kxx + kyy - 2 * kxy, rel=1e-10)


def test_kid_subsets_follows_torch_fidelity_sampling():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(40, 5)), rng.normal(size=(30, 5)) + 0.2
    mean, std, vals = kid_subsets(x, y, n_subsets=7, subset_size=10, seed=2020)
    r = np.random.RandomState(2020)
    want = []
    for _ in range(7):
        a, b = x[r.choice(40, 10, replace=False)], y[r.choice(30, 10, replace=False)]
        kxx, kyy, kxy = (a @ a.T / 5 + 1) ** 3, (b @ b.T / 5 + 1) ** 3, (a @ b.T / 5 + 1) ** 3
        want.append((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / 90 - 2 * kxy.sum() / 100)
    assert vals == pytest.approx(want, rel=1e-10)
    assert mean == pytest.approx(np.mean(want)) and std == pytest.approx(np.std(want))


def test_bootstrap_interval_and_fd_infinity():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(200, 4)) + 0.5, rng.normal(size=(200, 4))
    fd = lambda a, b: frechet_distance_from_features(a, b)  # noqa: E731
    lo, hi, _ = bootstrap_ci(fd, x, y, n_boot=50)
    assert lo < fd(x, y) < hi
    # FD is biased upward at small N (≈ d²/N); FD∞ removes most of it. True distance: 32 · 0.25 = 8.
    xg, yr = rng.normal(size=(400, 32)) + 0.5, rng.normal(size=(4000, 32))
    inf = fd_infinity(fd, xg, yr)
    assert inf["sizes"][-1] == 400 and len(inf["values"]) == len(inf["sizes"])
    assert inf["values"][0] > inf["values"][-1] > 8.0
    assert abs(inf["value"] - 8.0) < abs(inf["values"][-1] - 8.0)
    assert fd_infinity(fd, x[:10], y) is None


def test_kid_metrics_compute_the_subsets_once_and_match_the_functional_form():
    from vgbench.metrics.distribution.fid import KID
    from vgbench.metrics.distribution.kvd import KVD

    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(30, 6)), rng.normal(size=(25, 6)) + 0.3
    mean, std, _ = kid_subsets(x, y)
    kid, kvd = KID("stylegan-v"), KVD("kid-subsets")
    assert kid.distance(x, y) == pytest.approx(1000 * mean) and kvd.distance(x, y) == pytest.approx(mean)
    assert kid.extra_details(x, y)["subset_std_x1000"] == pytest.approx(1000 * std)
    assert kvd.extra_details(x, y)["subset_std"] == pytest.approx(std)
    first = kid._memo._last[2]
    kid.extra_details(x, y)
    assert kid._memo._last[2] is first  # the same arrays: no second pass over the 100 subsets
