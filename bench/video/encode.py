"""Write videos: H.264 through PyAV, atomically (temporary file + rename). Quality presets:

* ``"lossless"`` (default for generated videos): libx264rgb, RGB 4:4:4, qp 0. Decodes to exactly the frames written,
  so encoding never moves a metric.
* ``"near_lossless"``: libx264 YUV 4:4:4, qp 0; only the RGB↔YUV rounding remains (max error ≈ 2/255).
* ``"high"``: libx264 YUV 4:2:0, crf 17; plays in browsers; chroma is subsampled, so metrics move slightly.
"""
from __future__ import annotations

import fractions
import os
import tempfile
from pathlib import Path

import numpy as np

from vgbench.bench.lazy import lazy_import

torch = lazy_import("torch")


_PRESETS = {
    "lossless": ("libx264rgb", "rgb24", {"qp": "0", "preset": "medium"}),
    "near_lossless": ("libx264", "yuv444p", {"qp": "0", "preset": "medium"}),
    "high": ("libx264", "yuv420p", {"crf": "17", "preset": "medium"}),
}
#: Names of the encoding presets accepted by :func:`write_video`.
QUALITY_PRESETS = tuple(_PRESETS)


def write_video(path: str | os.PathLike, frames: torch.Tensor | np.ndarray, fps: float,
                quality: str = "lossless") -> Path:
    """Encode uint8 ``[T,H,W,3]`` RGB frames as H.264 mp4, atomically (a killed write never leaves a partial file).

    Args:
        path: destination ``.mp4``.
        frames: uint8 frames; with ``quality="high"`` H and W must be even (4:2:0 chroma).
        fps: frames per second written into the file (a positive number; fractional rates are kept as fractions).
        quality: ``"lossless"``, ``"near_lossless"`` or ``"high"`` (see module docstring).
    """
    import av

    if quality not in _PRESETS:
        raise ValueError(f"quality must be one of {QUALITY_PRESETS}, not {quality!r}")
    arr = frames.numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3 or arr.shape[0] == 0:
        raise ValueError(f"frames must be uint8 [T,H,W,3] with T>0, got {arr.dtype} {arr.shape}")
    codec, pix_fmt, options = _PRESETS[quality]
    t, h, w, _ = arr.shape
    if pix_fmt == "yuv420p" and (h % 2 or w % 2):
        raise ValueError(f"quality='high' (4:2:0) needs even width and height, got {w}x{h}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = fractions.Fraction(fps).limit_denominator(1001)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp.mp4", dir=path.parent)
    os.close(fd)
    try:
        with av.open(tmp, "w", format="mp4") as container:
            stream = container.add_stream(codec, rate=rate)
            stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
            stream.options = dict(options)
            for frame in arr:
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        from vgbench.bench.fileio import FILE_MODE

        os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600; shared run folders need the umask's mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
