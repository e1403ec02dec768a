"""PSNR and SSIM between a generated video and its reference, frame by frame (metric-recipes §7).

Protocols
---------
``psnr/common_metrics`` (default): JunyaoHu/common_metrics_on_video_quality ``img_psnr``: frames in [0,1],
``mse = mean((a-b)²)`` over C,H,W, ``psnr = 20·log10(1/√mse)`` dB, **100 dB when mse < 1e-10**; the set value is
the mean over all frames of all videos (frame-weighted).

``psnr/pooled_mse``: PSNR of the MSE pooled over all frames of one video (10·log10(1/mean mse), capped at 100 dB);
the set value is the mean over videos. Less sensitive to single near-identical frames.

``ssim/common_metrics`` (default): float64 in [0,1], Gaussian window 11×11 with σ = 1.5 (``cv2.getGaussianKernel``),
C1 = 0.01², C2 = 0.03², "valid" region only (the 5-pixel border is dropped), mean of the SSIM map **per RGB
channel, then mean of the 3 channels**; mean over all frames of all videos. Equals scikit-image's
``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1,
channel_axis=-1)``.

Videos of different frame counts are compared over their first ``min(T)`` frames (recorded per item); different
sizes are an item error. Everything is vectorised over frames in torch float64 and processed in chunks of frames,
so memory stays bounded for long videos.
"""
from __future__ import annotations

import math
from functools import lru_cache


import numpy as np

from vgbench.bench.errors import MetricError
from vgbench.bench.lazy import lazy_import
from vgbench.bench.video import Video
from vgbench.metrics.base import ItemScore, Metric, MetricKind

torch = lazy_import("torch")


PSNR_MAX_DB = 100.0
_MSE_FLOOR = 1e-10
_CHUNK = 16


def _as_unit_float(frames: torch.Tensor) -> torch.Tensor:
    """uint8 ``[T,H,W,3]`` → float64 ``[T,3,H,W]`` in [0,1]; float input is taken as already in [0,1]."""
    x = frames.permute(0, 3, 1, 2)
    return x.double() / 255.0 if x.dtype == torch.uint8 else x.double()


def check_pair(a: torch.Tensor, b: torch.Tensor) -> int:
    """Frames compared by a paired metric: ``min(T)``; a size mismatch is an item error."""
    if a.shape[1:] != b.shape[1:]:
        raise MetricError(f"generated and reference frames differ in size: {tuple(a.shape[1:3])} vs "
                          f"{tuple(b.shape[1:3])} (H, W); paired metrics need the same size")
    return min(a.shape[0], b.shape[0])


def mse_per_frame(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each frame pair on [0,1] values, float64 ``[T]``.

    uint8 frames take an exact integer path: the squared differences are summed in int64 and divided once, which
    gives the float64 formula's value to the last bits at a fraction of its cost (no float copies of the frames).
    """
    t = check_pair(pred, target)
    out = []
    cv2 = _cv2() if _numpy_ready(pred) and _numpy_ready(target) else None
    if cv2 is not None and pred.dtype == torch.uint8 and target.dtype == torch.uint8:
        a, b = pred[:t].numpy(), target[:t].numpy()
        n = pred[0].numel() * 255.0 * 255.0  # cv2.norm sums the squared differences of the uint8 values (SIMD)
        return torch.tensor([cv2.norm(np.ascontiguousarray(a[i]), np.ascontiguousarray(b[i]), cv2.NORM_L2SQR)
                             for i in range(t)], dtype=torch.float64) / n
    if pred.dtype == torch.uint8 and target.dtype == torch.uint8:
        n = pred[0].numel() * 255.0 * 255.0
        for s in range(0, t, _CHUNK):
            d = pred[s:min(s + _CHUNK, t)].to(torch.int32) - target[s:min(s + _CHUNK, t)].to(torch.int32)
            out.append((d * d).sum(dim=(1, 2, 3), dtype=torch.int64).double() / n)
        return torch.cat(out)
    for s in range(0, t, _CHUNK):
        d = _as_unit_float(pred[s:min(s + _CHUNK, t)]) - _as_unit_float(target[s:min(s + _CHUNK, t)])
        out.append((d * d).mean(dim=(1, 2, 3)))
    return torch.cat(out)


def _numpy_ready(t: torch.Tensor) -> bool:
    """A CPU tensor of a dtype NumPy and OpenCV take (others, e.g. bfloat16 or CUDA, use the torch path)."""
    return t.device.type == "cpu" and t.dtype in (torch.uint8, torch.float32, torch.float64)


def _cv2():
    """OpenCV when it imports (a core dependency), else None: the pixel metrics then use their torch path."""
    try:
        import cv2
    except ImportError:
        return None
    return cv2


def psnr_per_frame(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR (dB) of each frame pair, common_metrics recipe. uint8 ``[T,H,W,3]`` inputs (or float in [0,1])."""
    mse = mse_per_frame(pred, target)
    psnr = 20.0 * torch.log10(1.0 / torch.sqrt(mse.clamp_min(1e-300)))
    return torch.where(mse < _MSE_FLOOR, torch.full_like(mse, PSNR_MAX_DB), psnr)


@lru_cache(maxsize=4)
def gaussian_kernel_1d(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """``cv2.getGaussianKernel(size, sigma)`` in float64: exp(-(i - (size-1)/2)² / 2σ²), normalised to sum 1."""
    i = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(i * i) / (2 * sigma * sigma))
    return g / g.sum()


_TILE = 48
_SSIM_CHUNK_PIXELS = 1 << 22


@lru_cache(maxsize=32)
def _band_matrix(n_in: int, window: int, sigma: float) -> torch.Tensor:
    """``[n_in - window + 1, n_in]`` matrix whose product with a signal is its valid-mode Gaussian filtering."""
    g = gaussian_kernel_1d(window, sigma)
    n_out = n_in - window + 1
    m = torch.zeros(n_out, n_in, dtype=torch.float64)
    rows = torch.arange(n_out)
    for i in range(window):
        m[rows, rows + i] = g[i]
    return m


def _gaussian_valid(x: torch.Tensor, window: int, sigma: float) -> torch.Tensor:
    """Separable valid-mode Gaussian filter over the last two axes of float64 ``x``.

    Each 1-D pass is a product with a banded matrix (BLAS dgemm), taken in tiles of 48 output rows/columns so the
    cost per pixel stays constant for large frames. It computes the same sums as ``cv2.filter2D`` + crop; on CPU it is
    about 4x faster than torch's float64 ``conv2d`` (benchmarks/bench_core_metrics.py has the ratios vs OpenCV).
    """
    for dim in (-2, -1):
        n_out = x.shape[dim] - window + 1
        parts = []
        for s in range(0, n_out, _TILE):
            e = min(n_out, s + _TILE)
            band = _band_matrix(e - s + window - 1, window, sigma)
            seg = x.narrow(dim, s, e - s + window - 1)
            parts.append(torch.matmul(band, seg) if dim == -2 else torch.matmul(seg, band.T))
        x = torch.cat(parts, dim=dim) if len(parts) > 1 else parts[0]
    return x


def _unit_np(frame: torch.Tensor) -> np.ndarray:
    """One ``[H, W, 3]`` frame as float64 in [0, 1] (uint8 / 255; float taken as already in [0, 1])."""
    x = frame.numpy().astype(np.float64)
    if frame.dtype == torch.uint8:
        x *= 1.0 / 255.0
    return x


def _ssim_frame_cv2(cv2, x: np.ndarray, y: np.ndarray, window: int, sigma: float, c1: float, c2: float) -> float:
    """SSIM of one frame pair, float64: the common_metrics formula with OpenCV's separable Gaussian filter on all three
    channels at once (the valid region, as ``cv2.filter2D`` + crop gives it), then the mean of the map per channel and
    over channels."""
    k = cv2.getGaussianKernel(window, sigma)
    r = window // 2

    def filt(z):
        return cv2.sepFilter2D(z, cv2.CV_64F, k, k, borderType=cv2.BORDER_REFLECT_101)[r:-r, r:-r]

    mu1, mu2 = filt(x), filt(y)
    mu1_sq, mu2_sq, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    s1, s2, s12 = filt(x * x) - mu1_sq, filt(y * y) - mu2_sq, filt(x * y) - mu12
    ssim_map = ((2 * mu12 + c1) * (2 * s12 + c2)) / ((mu1_sq + mu2_sq + c1) * (s1 + s2 + c2))
    if ssim_map.ndim == 2:  # a single-channel input
        return float(ssim_map.mean())
    return float(ssim_map.mean(axis=(0, 1)).mean())


def ssim_per_frame(pred: torch.Tensor, target: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """SSIM of each frame pair (mean over the valid map, per channel, then over channels): common_metrics recipe."""
    t = check_pair(pred, target)
    h, w = pred.shape[1:3]
    if h < window or w < window:
        raise MetricError(f"SSIM needs frames of at least {window}×{window} pixels, got {w}×{h}")
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    cv2 = _cv2() if _numpy_ready(pred) and _numpy_ready(target) else None
    if cv2 is not None:
        return torch.tensor([_ssim_frame_cv2(cv2, _unit_np(pred[i]), _unit_np(target[i]), window, sigma, c1, c2)
                             for i in range(t)], dtype=torch.float64)
    chunk = max(1, min(_CHUNK, _SSIM_CHUNK_PIXELS // (h * w)))  # bounds the 5 float64 maps to ~0.5 GB
    out = []
    for s in range(0, t, chunk):
        a = _as_unit_float(pred[s:min(s + chunk, t)])
        b = _as_unit_float(target[s:min(s + chunk, t)])
        m = _gaussian_valid(torch.stack([a, b, a * a, b * b, a * b]), window, sigma)  # one pass for all five maps
        mu1, mu2 = m[0], m[1]
        mu1_sq, mu2_sq, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
        s1, s2, s12 = m[2] - mu1_sq, m[3] - mu2_sq, m[4] - mu12
        ssim_map = ((2 * mu12 + c1) * (2 * s12 + c2)) / ((mu1_sq + mu2_sq + c1) * (s1 + s2 + c2))
        out.append(ssim_map.mean(dim=(2, 3)).mean(dim=1))
    return torch.cat(out)


def _frames_note(video: Video, reference: Video) -> dict:
    t = min(video.num_frames, reference.num_frames)
    note = {"frames_compared": t}
    if video.num_frames != reference.num_frames:
        note["frame_count_mismatch"] = [video.num_frames, reference.num_frames]
    return note


class PSNR(Metric):
    """Peak signal-to-noise ratio (dB) of generated vs reference frames. Higher is better; 100 dB = identical."""

    name = "psnr"
    summary = "PSNR (dB) vs a reference video"
    kind = MetricKind.PAIRED
    higher_is_better = True
    protocols = {
        "common_metrics": "mean of per-frame PSNR on [0,1] frames, 100 dB if mse<1e-10 (common_metrics_on_video_quality)",
        "pooled_mse": "per video 10·log10(1/mean frame MSE), capped at 100 dB; mean over videos",
    }
    unit = "dB"
    value_range = (0.0, PSNR_MAX_DB)
    needs_reference = True

    def __init__(self, protocol: str | None = None, options: dict[str, str] | None = None):
        super().__init__(protocol, options)
        self.aggregation = "frame" if self.protocol == "common_metrics" else "video"

    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        if reference is None:
            raise MetricError("PSNR needs a reference video")
        note = _frames_note(video, reference)
        if self.protocol == "common_metrics":
            per_frame = psnr_per_frame(video.frames, reference.frames)
            return ItemScore(float(per_frame.mean()), float(per_frame.numel()),
                             {**note, "per_frame": [round(float(v), 6) for v in per_frame]})
        mse = float(mse_per_frame(video.frames, reference.frames).mean())
        value = PSNR_MAX_DB if mse < _MSE_FLOOR else min(PSNR_MAX_DB, 10.0 * math.log10(1.0 / mse))
        return ItemScore(value, 1.0, {**note, "mse": mse})


class SSIM(Metric):
    """Structural similarity of generated vs reference frames, in [-1, 1]; 1 = identical. Higher is better."""

    name = "ssim"
    summary = "SSIM vs a reference video"
    kind = MetricKind.PAIRED
    higher_is_better = True
    protocols = {
        "common_metrics": "Gaussian 11x11 σ=1.5, valid region, per-channel mean, float64 [0,1]; mean over all frames",
    }
    value_range = (-1.0, 1.0)
    aggregation = "frame"
    needs_reference = True

    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        if reference is None:
            raise MetricError("SSIM needs a reference video")
        per_frame = ssim_per_frame(video.frames, reference.frames)
        return ItemScore(float(per_frame.mean()), float(per_frame.numel()),
                         {**_frames_note(video, reference), "per_frame": [round(float(v), 8) for v in per_frame]})
