"""Frame-index sampling: which frames of a ``T``-frame video a metric looks at.

Methods (all return 0-based indices in ``[0, T)``):

* ``all``: every frame.
* ``first:N``: frames ``0..N-1`` (StyleGAN-V's generated clips, FVD ``first 16``).
* ``uniform:N``: ``linspace(0, T-1, N)`` truncated to int (first and last frame included).
* ``middle:N``: VBench's ``get_frame_indices(sample="middle")``: split ``[0, T)`` into ``min(N, T)`` intervals with
  ``linspace(0, T, n+1).astype(int)``; take ``(start + end - 1) // 2`` of each; pad with the last index to N.
  A 16-frame video with N=8 gives 0, 2, 4, ..., 14 (metric-recipes §5).
* ``fps:F``: VBench's ``sample="fpsF"``: one frame per ``1/F`` s, at the middle of each slot:
  ``round((k + 0.5) / F * src_fps)`` for indices < T.
* ``stride:K``: every K-th frame from 0 (VBench dynamic degree uses ``K = max(1, round(fps / 8))``).

Short videos: ``first`` and ``uniform`` raise unless ``pad="repeat_last"`` (``middle`` always pads, as VBench does).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_METHODS = ("all", "first", "uniform", "middle", "fps", "stride")


@dataclass(frozen=True)
class FrameSampling:
    """A frame-sampling rule; ``str()`` gives its stable spec (e.g. ``"middle:8"``), stored with every result."""

    method: str = "all"
    n: float | None = None  # frames for first/uniform/middle, target fps for fps, step for stride
    pad: str = "error"  # "error" or "repeat_last" when the video is shorter than needed

    def __post_init__(self):
        if self.method not in _METHODS:
            raise ValueError(f"unknown frame sampling {self.method!r}; choose from {', '.join(_METHODS)}")
        if self.method != "all" and (self.n is None or self.n <= 0):
            raise ValueError(f"frame sampling {self.method!r} needs a positive number, e.g. '{self.method}:8'")
        if self.pad not in ("error", "repeat_last"):
            raise ValueError("pad must be 'error' or 'repeat_last'")

    @classmethod
    def parse(cls, spec: str) -> "FrameSampling":
        """Parse ``"all"``, ``"first:16"``, ``"uniform:8"``, ``"middle:8"``, ``"fps:2"``, ``"stride:3"``."""
        method, _, num = spec.strip().partition(":")
        return cls(method, float(num) if num else None)

    def __str__(self) -> str:
        if self.method == "all":
            return "all"
        n = int(self.n) if float(self.n).is_integer() else self.n
        return f"{self.method}:{n}" + (":pad" if self.pad == "repeat_last" else "")

    def indices(self, num_frames: int, fps: float | None = None) -> list[int]:
        return sample_indices(self, num_frames, fps)


def _middle(n: int, total: int) -> list[int]:
    acc = min(n, total)
    edges = np.linspace(0, total, acc + 1).astype(int)
    idx = [int((edges[k] + edges[k + 1] - 1) // 2) for k in range(acc)]
    return idx + [idx[-1]] * (n - len(idx))


def sample_indices(rule: FrameSampling | str, num_frames: int, fps: float | None = None) -> list[int]:
    """Indices of the frames ``rule`` selects from a ``num_frames``-frame video at ``fps`` (needed for ``fps:F``)."""
    if isinstance(rule, str):
        rule = FrameSampling.parse(rule)
    if num_frames <= 0:
        raise ValueError("the video has no frames")
    m = rule.method
    if m == "all":
        return list(range(num_frames))
    if m == "middle":
        return _middle(int(rule.n), num_frames)
    if m == "stride":
        return list(range(0, num_frames, int(rule.n)))
    if m == "fps":
        if not fps:
            raise ValueError("fps sampling needs the video's frame rate")
        duration = num_frames / fps
        delta = 1.0 / rule.n
        seconds = np.arange(delta / 2, duration + delta / 2, delta)
        return [int(i) for i in np.around(seconds * fps).astype(int) if i < num_frames]
    n = int(rule.n)
    if n > num_frames and rule.pad == "error":
        raise ValueError(f"'{rule}' needs at least {n} frames, the video has {num_frames}")
    if m == "first":
        idx = list(range(min(n, num_frames)))
    else:  # uniform
        idx = [int(i) for i in np.linspace(0, num_frames - 1, min(n, num_frames)).astype(int)]
    return idx + [idx[-1]] * (n - len(idx))
