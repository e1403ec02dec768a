"""The decoded video every metric receives: :class:`Video`."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vgbench.bench.lazy import lazy_import

torch = lazy_import("torch")


@dataclass(frozen=True)
class Video:
    """A decoded video.

    Attributes:
        frames: uint8 ``[T, H, W, 3]`` RGB, upright (the file's display rotation and flips applied), in presentation
            order (edit lists applied): the frames ``ffmpeg -i FILE -pix_fmt rgb24`` presents.
        fps: frames per second (> 0), the container's average rate.
        path: the file it was decoded from, if any.
        complete: whether ``frames`` are all of that file's presented frames, in order (so a tool may read the file
            itself instead of the frames, as VMAF does).
        timestamps: presentation time of each frame in seconds, as the container gives them (``None`` when the
            frames were not decoded from a file).
        variable_frame_rate: the container's frame durations differ (the timestamps are then the truth, not ``fps``).
        decoder: which decoder produced the frames and its version, e.g. ``"pyav 18.1.0 (FFmpeg 8.1.2)"``.
    """

    frames: torch.Tensor
    fps: float
    path: str | None = None
    complete: bool = False
    timestamps: tuple[float, ...] | None = None
    variable_frame_rate: bool = False
    decoder: str | None = None

    def __post_init__(self):
        f = self.frames
        if not isinstance(f, torch.Tensor) or f.dtype != torch.uint8 or f.ndim != 4 or f.shape[-1] != 3:
            raise ValueError(f"Video.frames must be a uint8 tensor [T,H,W,3], got {getattr(f, 'dtype', type(f))} "
                             f"{tuple(getattr(f, 'shape', ()))}")
        if f.shape[0] == 0:
            raise ValueError("Video.frames has no frames")
        if not (self.fps > 0):
            raise ValueError(f"Video.fps must be > 0, got {self.fps}")
        if self.timestamps is not None and len(self.timestamps) != f.shape[0]:
            raise ValueError(f"Video.timestamps has {len(self.timestamps)} entries for {f.shape[0]} frames")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps

    @classmethod
    def from_numpy(cls, frames: np.ndarray, fps: float, path: str | None = None, complete: bool = False,
                   **kwargs) -> "Video":
        return cls(torch.from_numpy(np.ascontiguousarray(frames)), float(fps), path, complete, **kwargs)
