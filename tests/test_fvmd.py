"""FVMD pieces against a line-by-line rewrite of the fvmd 1.0 loops, the released acceleration quirk, the grid, and
the Lucas–Kanade tracker on known motion."""
import numpy as np
import pytest

from vgbench.metrics.distribution import fvmd


def reference_hist(vectors, cell=5, angle_bins=8, cube_frames=4, magnitude_bins=256):
    """fvmd 1.0's cut_subcube + count_subcube_hist, loop by loop, for one window [S, N, 2]."""
    s, n, _ = vectors.shape
    h = int(round(np.sqrt(n)))
    v = vectors.reshape(1, s, h, h, 2)
    mh, ms = h // cell, s // cube_frames
    v = v[:, :ms * cube_frames, :mh * cell, :mh * cell]
    v = v.reshape(1, ms, cube_frames, mh, cell, mh, cell, 2).transpose(0, 1, 3, 5, 2, 4, 6, 7)
    v = v.reshape(-1, cube_frames, cell, cell, 2)
    out = []
    for cube in v:
        hist = np.zeros(angle_bins)
        ang = np.arctan2(cube[..., 0], cube[..., 1])
        b = np.clip((ang + np.pi) // (2 * np.pi / angle_bins), 0, angle_bins - 1)
        m = np.clip(np.linalg.norm(cube, axis=3), 0, magnitude_bins - 1) + 1
        m = np.ceil(np.clip(np.log2(m), 0, int(np.log2(magnitude_bins)))) / np.log2(magnitude_bins)
        for a in range(cube_frames):
            for i in range(cell):
                for j in range(cell):
                    hist[int(b[a, i, j])] += m[a, i, j]
        out.append(hist)
    return np.stack(out).reshape(-1)


def test_histogram_matches_reference_loops():
    rng = np.random.default_rng(0)
    traj = np.cumsum(rng.normal(scale=3, size=(16, 400, 2)), axis=0)
    for vec in (fvmd.velocity(traj), fvmd.acceleration_released(traj), fvmd.acceleration_true(traj)):
        np.testing.assert_allclose(fvmd.motion_histogram(vec), reference_hist(vec), rtol=0, atol=1e-12)
    assert fvmd.window_features(traj).shape == (1536,)


def test_released_acceleration_quirk():
    traj = np.cumsum(np.arange(16, dtype=float))[:, None, None] * np.ones((16, 3, 2))  # p_t = t(t+1)/2
    v = fvmd.velocity(traj)
    acc_rel, acc_true = fvmd.acceleration_released(traj), fvmd.acceleration_true(traj)
    assert np.all(acc_rel[:2] == 0) and np.allclose(acc_rel[2:], v[2:])  # the package's "acceleration" = velocity
    assert np.all(acc_true[:2] == 0) and np.allclose(acc_true[2:], 1.0)  # a true second difference


def test_grid_points_follow_fvmd():
    pts = fvmd.grid_points(256, 320)
    assert pts.shape == (400, 2)
    assert pts[0].tolist() == [8, 8] and pts[-1].tolist() == [312, 248] and pts[1, 0] == pytest.approx(8 + 304 / 19)


def test_lucas_kanade_tracks_a_translation():
    rng = np.random.default_rng(1)
    base = (rng.uniform(0, 255, size=(80, 80)) > 128).astype(np.float32) * 255
    import cv2

    base = cv2.GaussianBlur(base, (0, 0), 2)
    frames = np.stack([np.roll(base, (t, 2 * t), axis=(0, 1)) for t in range(4)])[..., None].repeat(3, -1)
    pts = np.array([[40.0, 40.0], [30.0, 35.0]])
    traj = fvmd.LucasKanadeTracker().track(frames, pts)
    np.testing.assert_allclose(traj[-1] - traj[0], [[6, 3], [6, 3]], atol=0.2)  # (x, y) = (2·3, 1·3)
