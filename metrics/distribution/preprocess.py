"""Frame resizing exactly as each reference implementation does it (tensors ``[N, C, H, W]`` float).

* :func:`short_side_resize_crop` — common_metrics / VideoGPT / cd-fvd: the shorter side to ``size`` with
  ``F.interpolate(bilinear, align_corners=False)`` (antialias off, on for cd-fvd), the long side ``ceil(L·scale)``,
  then a centre crop starting at ``(L − size) // 2``.
* :func:`squash_resize` — TATS / cd-fvd model input: both sides to ``size`` (aspect not kept), torch bilinear.
* :func:`tf1_resize_bilinear` — TensorFlow 1 ``tf.image.resize_bilinear(align_corners=False)`` (the original FVD):
  source coordinate ``x_out · in/out`` with no half-pixel offset, no antialias, edge-clamped.
"""
from __future__ import annotations

import math

from vgbench.bench.lazy import lazy_import

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")


def short_side_resize_crop(x: torch.Tensor, size: int = 224, antialias: bool = False) -> torch.Tensor:
    h, w = x.shape[-2:]
    scale = size / min(h, w)
    target = (size, math.ceil(w * scale)) if h < w else (math.ceil(h * scale), size)
    x = F.interpolate(x, size=target, mode="bilinear", align_corners=False, antialias=antialias)
    h, w = x.shape[-2:]
    top, left = (h - size) // 2, (w - size) // 2
    return x[..., top:top + size, left:left + size]


def squash_resize(x: torch.Tensor, size: int = 224, antialias: bool = False) -> torch.Tensor:
    if tuple(x.shape[-2:]) == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=antialias)


def _tf1_axis(n_in: int, n_out: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    src = torch.arange(n_out, dtype=torch.float64) * (n_in / n_out)
    lo = src.floor().long().clamp(max=n_in - 1)
    hi = (lo + 1).clamp(max=n_in - 1)
    return lo, hi, (src - lo.double()).float()


def tf1_resize_bilinear(x: torch.Tensor, size: tuple[int, int] = (224, 224)) -> torch.Tensor:
    """TF1 ``resize_bilinear`` with ``align_corners=False`` and ``half_pixel_centers=False``."""
    h, w = x.shape[-2:]
    y0, y1, wy = (t.to(x.device) for t in _tf1_axis(h, size[0]))
    x0, x1, wx = (t.to(x.device) for t in _tf1_axis(w, size[1]))
    top = x[..., y0, :] * (1 - wy)[:, None] + x[..., y1, :] * wy[:, None]
    return top[..., x0] * (1 - wx) + top[..., x1] * wx
