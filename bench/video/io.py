"""Read and write videos.

Reading: PyAV is the reader that always works (H.264, HEVC, VP9, AV1, MPEG-4, GIF, ...). decord is the fast path for
random access where it decodes (it fails on AV1 and GIF; those go to PyAV automatically). Both return identical
frames for the codecs they share. Broken files raise typed errors naming the file:
:class:`~bench.errors.CorruptVideoError`, :class:`~bench.errors.TruncatedVideoError`,
:class:`~bench.errors.EmptyVideoError`.

Writing: H.264 through PyAV, atomically (temporary file + rename). Quality presets:

* ``"lossless"`` (default for generated videos): libx264rgb, RGB 4:4:4, qp 0. Decodes to exactly the frames written,
  so encoding never moves a metric.
* ``"near_lossless"``: libx264 YUV 4:4:4, qp 0; only the RGB↔YUV rounding remains (max error ≈ 2/255).
* ``"high"``: libx264 YUV 4:2:0, crf 17; plays in browsers; chroma is subsampled, so metrics move slightly.
"""
from __future__ import annotations

import fractions
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from bench.errors import CorruptVideoError, EmptyVideoError, TruncatedVideoError, VideoError

#: File extensions treated as videos when scanning folders.
VIDEO_EXTENSIONS = (".mp4", ".webm", ".mkv", ".avi", ".mov", ".gif", ".m4v")

_DECORD_UNSUPPORTED_CODECS = {"av1", "libdav1d", "libaom-av1", "gif"}


@dataclass(frozen=True)
class Video:
    """A decoded video: ``frames`` uint8 ``[T, H, W, 3]`` RGB, ``fps`` frames per second (> 0); ``path`` the file it
    was decoded from, and ``complete`` whether ``frames`` are all of that file's frames in order (so a tool may read
    the file itself instead of the frames, as VMAF does)."""

    frames: torch.Tensor
    fps: float
    path: str | None = None
    complete: bool = False

    def __post_init__(self):
        f = self.frames
        if not isinstance(f, torch.Tensor) or f.dtype != torch.uint8 or f.ndim != 4 or f.shape[-1] != 3:
            raise ValueError(f"Video.frames must be a uint8 tensor [T,H,W,3], got {getattr(f, 'dtype', type(f))} "
                             f"{tuple(getattr(f, 'shape', ()))}")
        if f.shape[0] == 0:
            raise ValueError("Video.frames has no frames")
        if not (self.fps > 0):
            raise ValueError(f"Video.fps must be > 0, got {self.fps}")

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
    def from_numpy(cls, frames: np.ndarray, fps: float, path: str | None = None, complete: bool = False) -> "Video":
        return cls(torch.from_numpy(np.ascontiguousarray(frames)), float(fps), path, complete)


@dataclass(frozen=True)
class VideoInfo:
    """Container-level facts read without decoding. ``declared_frames`` is 0 when the container does not say."""

    path: str
    codec: str
    width: int
    height: int
    fps: float
    declared_frames: int
    duration_s: float | None


def _open_container(path: str):
    import av

    if not os.path.exists(path):
        raise VideoError(path, "file not found")
    if os.path.getsize(path) == 0:
        raise EmptyVideoError(path, "file is empty (0 bytes)")
    try:
        container = av.open(path)
    except av.error.FFmpegError as e:
        raise CorruptVideoError(path, f"not a readable video container ({e.__class__.__name__}: {e.strerror or e})") from e
    if not container.streams.video:
        container.close()
        raise EmptyVideoError(path, "the file has no video stream")
    return container


def _stream_fps(stream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return float(rate)
    return 0.0


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Read a video's container metadata (codec, size, fps, declared frame count) without decoding frames."""
    path = str(path)
    with _open_container(path) as container:
        s = container.streams.video[0]
        fps = _stream_fps(s)
        duration = float(s.duration * s.time_base) if s.duration and s.time_base else None
        if duration is None and container.duration:
            duration = container.duration / 1_000_000
        return VideoInfo(path, s.codec_context.name, s.codec_context.width, s.codec_context.height, fps,
                         int(s.frames or 0), duration)


def _decode_pyav(path: str, wanted: set[int] | None) -> tuple[list[np.ndarray], int, float, int]:
    """Decode with PyAV. Returns (frames, number decoded, fps, declared frames)."""
    import av

    frames: list[np.ndarray] = []
    decoded = 0
    with _open_container(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = _stream_fps(stream)
        declared = int(stream.frames or 0)
        last = max(wanted) if wanted else None
        try:
            for frame in container.decode(stream):
                if wanted is None or decoded in wanted:
                    frames.append(frame.to_ndarray(format="rgb24"))
                decoded += 1
                if last is not None and decoded > last:
                    break
        except av.error.FFmpegError as e:
            if decoded == 0:
                raise CorruptVideoError(path, f"no frame could be decoded ({e.__class__.__name__}: {e.strerror or e})") from e
            raise TruncatedVideoError(path, f"decoding stopped after {decoded} frames "
                                            f"({e.__class__.__name__}: {e.strerror or e})") from e
    return frames, decoded, fps, declared


def _check_complete(path: str, decoded: int, declared: int) -> None:
    if decoded == 0:
        raise EmptyVideoError(path, "the video stream holds no decodable frames")
    if declared > 0 and decoded < declared:
        raise TruncatedVideoError(path, f"the container declares {declared} frames but only {decoded} could be decoded "
                                        "(the file was probably cut short)")


def _decord_available() -> bool:
    try:
        import decord  # noqa: F401
    except Exception:
        return False
    return True


def read_video(path: str | os.PathLike, indices: Sequence[int] | None = None, backend: str = "auto") -> Video:
    """Decode a video to a :class:`Video` (uint8 ``[T,H,W,3]`` RGB + fps).

    Args:
        path: the file (mp4, webm, mkv, avi, mov, gif...).
        indices: frame indices to keep (0-based, in decode order; may repeat). ``None`` keeps every frame.
            Indices past the last frame raise :class:`~bench.errors.VideoError`.
        backend: ``"auto"`` (decord where it decodes, else PyAV), ``"pyav"`` or ``"decord"``.

    Raises:
        CorruptVideoError, TruncatedVideoError, EmptyVideoError, VideoError: each names the file.
    """
    path = str(path)
    if backend not in ("auto", "pyav", "decord"):
        raise ValueError(f"backend must be auto, pyav or decord, not {backend!r}")
    info = probe_video(path)  # validates the container and names the codec
    use_decord = backend == "decord" or (
        backend == "auto" and info.codec not in _DECORD_UNSUPPORTED_CODECS and not path.lower().endswith(".gif")
        and info.declared_frames > 0 and _decord_available())
    if use_decord:
        try:
            return _read_decord(path, indices, info)
        except VideoError:
            raise
        except Exception as e:  # decord raises plain RuntimeErrors (DECORDError) on codecs it lacks
            if backend == "decord":
                raise CorruptVideoError(path, f"decord could not decode it: {e}") from e
    wanted = None if indices is None else {int(i) for i in indices}
    frames, decoded, fps, declared = _decode_pyav(path, wanted)
    if indices is None:
        _check_complete(path, decoded, declared)
        stack = np.stack(frames)
    else:
        if decoded == 0:
            raise EmptyVideoError(path, "the video stream holds no decodable frames")
        bad = [i for i in indices if not 0 <= i < decoded]
        if bad:
            raise VideoError(path, f"frame index {bad[0]} is out of range: the video has {decoded} frames")
        order = sorted(wanted)
        pos = {i: k for k, i in enumerate(order)}
        stack = np.stack([frames[pos[int(i)]] for i in indices])
    return Video.from_numpy(stack, fps or info.fps or 1.0, path, complete=indices is None)


def _read_decord(path: str, indices: Sequence[int] | None, info: VideoInfo) -> Video:
    import decord

    vr = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=0)
    n = len(vr)
    _check_complete(path, n, info.declared_frames)
    if indices is None:
        idx = list(range(n))
    else:
        idx = [int(i) for i in indices]
        bad = [i for i in idx if not 0 <= i < n]
        if bad:
            raise VideoError(path, f"frame index {bad[0]} is out of range: the video has {n} frames")
    arr = vr.get_batch(idx).asnumpy()
    fps = float(vr.get_avg_fps()) or info.fps or 1.0
    return Video.from_numpy(arr, fps, path, complete=indices is None)


def iter_frame_chunks(path: str | os.PathLike, chunk_size: int = 32) -> Iterator[np.ndarray]:
    """Decode a video in chunks of at most ``chunk_size`` frames (uint8 ``[t,H,W,3]``), holding one chunk at a time.

    Raises the same typed errors as :func:`read_video`; a truncated file raises after the frames it could decode.
    """
    import av

    path = str(path)
    buf: list[np.ndarray] = []
    decoded = 0
    with _open_container(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        declared = int(stream.frames or 0)
        try:
            for frame in container.decode(stream):
                buf.append(frame.to_ndarray(format="rgb24"))
                decoded += 1
                if len(buf) == chunk_size:
                    yield np.stack(buf)
                    buf = []
        except av.error.FFmpegError as e:
            if decoded == 0:
                raise CorruptVideoError(path, f"no frame could be decoded ({e})") from e
            raise TruncatedVideoError(path, f"decoding stopped after {decoded} frames ({e})") from e
    if buf:
        yield np.stack(buf)
    _check_complete(path, decoded, declared)


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
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
