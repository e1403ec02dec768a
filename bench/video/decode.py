"""Decode a video file to the frames a player shows (:func:`read_video`, :func:`iter_frame_chunks`).

**The frames of a file** are, by definition, what ``ffmpeg -i FILE -f rawvideo -pix_fmt rgb24 -fps_mode passthrough``
presents: presentation order, the container's edit list applied, the display rotation/flip applied (ffmpeg's
autorotate), the colour conversion done by libswscale from the file's own tags (matrix, range), 8-bit RGB. The
``ffmpeg`` binary shipped by imageio-ffmpeg is the oracle the tests compare every decoder path against, on a corpus
covering H.264/HEVC/VP9/AV1/MPEG-4/MJPEG/FFV1/GIF, 8/10-bit, 4:2:0/4:2:2/4:4:4, both ranges, BT.601/BT.709,
rotations, flips, edit lists, variable frame rate and odd sizes (``tests/video_corpus.py``).

Decoder paths (measured on that corpus and in ``benchmarks/bench_decode.py``):

* ``"pyav"`` (the default, ``"auto"``): PyAV decodes and converts through a libavfilter graph (``scale`` +
  ``format=rgb24``), the same code path as the ffmpeg command line; equal to the oracle on every corpus file and the
  fastest full decode measured on 2 cores (256², 512², 1080p H.264).
* ``"decord"``: decord 0.6 ignores edit lists and display rotation, converts 10-bit and tagged colour differently,
  and cannot open AV1 or GIF. It is used only when asked for and only for files :func:`decord_handles` proves it
  decodes identically (8-bit 4:2:0 H.264/HEVC/VP9, untagged or BT.601 limited range, no rotation, no edit
  list, constant frame rate); any other file goes to PyAV and the :attr:`Video.decoder` says so.

torchcodec (PyTorch's decoder) is not a path yet: its 0.17 wheels link CUDA torch and the system FFmpeg libraries, which
the CPU machines vgbench is tested on do not have, so it could not be held to the corpus.

Every :class:`~bench.video.frames.Video` records the decoder and its version (:attr:`Video.decoder`). Broken files
raise typed errors naming the file: :class:`~bench.errors.CorruptVideoError`, :class:`~bench.errors.TruncatedVideoError`,
:class:`~bench.errors.EmptyVideoError`.
"""
from __future__ import annotations

import functools
import os
from typing import Iterator, Sequence

import numpy as np

from bench.errors import CorruptVideoError, EmptyVideoError, TruncatedVideoError, VideoError
from bench.video.frames import Video
from bench.video.probe import (PacketTally, VideoInfo, apply_orientation, display_matrix, open_container,
                               orientation_name, probe_video, stream_fps, video_stream)

#: Version of the decoding rules. Cached scores and features computed under an earlier version are not reused:
#: 1 = decord where it opened the file (no edit lists, no display rotation, its own 10-bit conversion), else PyAV
#: ``to_ndarray``; 2 = the frames ``ffmpeg -pix_fmt rgb24`` presents (this module).
DECODING_REVISION = 2

#: Decoder names accepted by :func:`read_video`.
BACKENDS = ("auto", "pyav", "decord")

_DECORD_CODECS = ("h264", "hevc", "vp9")  # MPEG-4 part 2: decord differs by 1/255 (IDCT)


@functools.lru_cache(maxsize=None)
def decoder_version(name: str) -> str | None:
    """``"pyav 18.1.0 (FFmpeg 8.1.2)"`` / ``"decord 0.6.0"``; None when the decoder is not installed."""
    try:
        if name == "pyav":
            import av

            return f"pyav {av.__version__} (FFmpeg {getattr(av, 'ffmpeg_version_info', '?')})"
        if name == "decord":
            import decord

            return f"decord {decord.__version__}"
    except Exception:
        return None
    raise ValueError(f"unknown decoder {name!r}")


def decoders() -> dict[str, str | None]:
    """Every decoder path and its installed version (None: not installed); recorded in run provenance."""
    return {name: decoder_version(name) for name in ("pyav", "decord")}


def decord_handles(info: VideoInfo) -> str | None:
    """None when decord is proven to decode this file exactly as the oracle (the corpus covers each condition);
    otherwise the reason it is not used."""
    if info.codec not in _DECORD_CODECS:
        return f"codec {info.codec}"
    if info.pix_fmt != "yuv420p":
        return f"pixel format {info.pix_fmt}"
    if info.color_range == "full" or info.color_matrix not in ("unspecified", "bt470bg", "smpte170m"):
        return f"colour tags (range {info.color_range}, matrix {info.color_matrix})"
    if info.orientation != "none":
        return f"display orientation {info.orientation}"
    if info.edit_list:
        return "edit list"
    if info.variable_frame_rate:
        return "variable frame rate"
    if info.problem or info.declared_frames <= 0 or info.declared_frames != info.shown_frames:
        return "frame count not declared by the container"
    return None


def _rgb_graph(stream, frame):
    """buffer → scale → format=rgb24 → buffersink: the conversion the ffmpeg command line inserts for -pix_fmt rgb24."""
    import av

    g = av.filter.Graph()
    src = g.add_buffer(template=stream, width=frame.width, height=frame.height, format=frame.format)
    scale = g.add("scale", "")
    fmt = g.add("format", "pix_fmts=rgb24")
    sink = g.add("buffersink")
    src.link_to(scale)
    scale.link_to(fmt)
    fmt.link_to(sink)
    g.configure()
    return g


class _Decoding:
    """One pass over a file with PyAV: packets are counted (:class:`~bench.video.probe.PacketTally`) and decoded,
    frames converted to RGB by libavfilter; :attr:`info` is the file's :class:`VideoInfo` once the pass is over."""

    def __init__(self, path: str):
        self.path = path
        self.tally = PacketTally()
        self.info: VideoInfo | None = None
        self.orientation = "none"
        self.declared = 0
        self.fps = 0.0

    def frames(self, stop_after: int | None = None) -> Iterator[tuple[int, object, float | None]]:
        """Yield ``(index, rgb24 av.VideoFrame in coded orientation, time_s)`` for each presented frame, in order."""
        import av

        path, tally, decoded = self.path, self.tally, 0
        with open_container(path) as container:
            stream = video_stream(container)
            stream.thread_type = "AUTO"
            self.declared, self.fps = int(stream.frames or 0), stream_fps(stream)
            graph, key = None, None
            try:
                for pkt in container.demux(stream):
                    real = tally.add(pkt)
                    try:
                        out = pkt.decode()
                    except av.error.FFmpegError as e:
                        if decoded == 0:
                            raise CorruptVideoError(path, f"no frame could be decoded ({e.__class__.__name__}: "
                                                          f"{e.strerror or e})") from e
                        raise TruncatedVideoError(path, f"decoding stopped after {decoded} frames "
                                                        f"({e.__class__.__name__}: {e.strerror or e})") from e
                    for frame in out:
                        k = (frame.width, frame.height, frame.format.name)
                        if k != key:
                            if key is not None:
                                raise VideoError(path, f"the frame size or pixel format changes mid-stream at frame "
                                                       f"{decoded} ({key[0]}x{key[1]} {key[2]} → {k[0]}x{k[1]} "
                                                       f"{k[2]}); re-encode it at one size "
                                                       "(ffmpeg -i IN -vf scale=W:H OUT.mp4)")
                            graph, key = _rgb_graph(stream, frame), k
                            if tally.first is None:
                                tally.first = frame
                                self.orientation = orientation_name(path, display_matrix(frame))
                        graph.push(frame)
                        yield decoded, graph.pull(), frame.time
                        decoded += 1
                        if stop_after is not None and decoded > stop_after:
                            return
                    if not real:
                        break  # the flush packet drained the decoder
            except av.error.FFmpegError as e:  # the demuxer: the file ends early or is damaged
                tally.stopped(e)
            self.info = tally.info(path, container, stream)


def _rgb_array(frame) -> np.ndarray:
    """A view of an rgb24 frame's pixels as uint8 ``[H, W, 3]`` (rows may be padded in the frame's buffer)."""
    plane = frame.planes[0]
    w, h = frame.width, frame.height
    buf = np.frombuffer(plane, np.uint8)
    if plane.line_size == w * 3:
        return buf[: h * w * 3].reshape(h, w, 3)
    return buf.reshape(-1, plane.line_size)[:h, : w * 3].reshape(h, w, 3)


def _check_complete(path: str, decoded: int, info: VideoInfo) -> None:
    if decoded == 0:
        raise EmptyVideoError(path, "the video stream holds no decodable frames")
    if info.problem:
        raise TruncatedVideoError(path, f"{info.problem}; {decoded} frames decoded")
    if info.shown_frames and decoded < info.shown_frames:
        raise TruncatedVideoError(path, f"the container presents {info.shown_frames} frames but only {decoded} could "
                                        "be decoded (the file is damaged or was cut short)")


def _timestamps(times: list[float | None]) -> tuple[float, ...] | None:
    return None if any(t is None for t in times) else tuple(float(t) for t in times)


def read_video(path: str | os.PathLike, indices: Sequence[int] | None = None, backend: str = "auto",
               info: VideoInfo | None = None) -> Video:
    """Decode a video file to a :class:`Video`: uint8 ``[T, H, W, 3]`` RGB, upright, presentation order (see the
    module docstring for the exact definition), with fps, per-frame timestamps and the decoder used.

    Args:
        path: the file (mp4, mov, webm, mkv, avi, gif, ...).
        indices: presented-frame indices to keep (0-based; may repeat, any order). ``None`` keeps every frame.
        backend: ``"auto"`` or ``"pyav"`` (the reference path), or ``"decord"`` (used only for files
            :func:`decord_handles` accepts; the others are decoded by PyAV).
        info: the file's :func:`~bench.video.probe.probe_video` result, if already read (the decord route needs
            it; PyAV gathers the same facts while decoding).

    Raises:
        CorruptVideoError, TruncatedVideoError, EmptyVideoError, VideoError (file not found, index out of range,
        unsupported rotation, size change mid-stream): each names the file and says what to do.
    """
    path = str(path)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    if backend == "decord" and decoder_version("decord"):
        info = info or probe_video(path)
        if decord_handles(info) is None:
            return _read_decord(path, indices, info)
    wanted = None if indices is None else [int(i) for i in indices]
    if wanted is not None and not wanted:
        raise VideoError(path, "no frame indices were requested")
    dec = _Decoding(path)
    times: list[float | None] = []
    if wanted is None:
        out: np.ndarray | None = None
        extra: list[np.ndarray] = []
        decoded = 0
        for i, rgb, t in dec.frames():
            if out is None:  # one copy per frame, into a buffer sized from the container's frame count
                n = max(dec.declared, 1)
                out = np.empty((n, rgb.height, rgb.width, 3), np.uint8)
            if i < len(out):
                out[i] = _rgb_array(rgb)
            else:
                extra.append(_rgb_array(rgb).copy())
            times.append(t)
            decoded = i + 1
        info = dec.info
        _check_complete(path, decoded, info)
        stack = out[:decoded] if not extra else np.concatenate([out, np.stack(extra)])
        order = None
    else:
        stop = max(wanted)
        keep = set(wanted)
        frames: dict[int, np.ndarray] = {}
        at: dict[int, float | None] = {}
        decoded = 0
        for i, rgb, t in dec.frames(stop):
            decoded = i + 1
            if i in keep:
                frames[i], at[i] = _rgb_array(rgb).copy(), t
        if decoded == 0:
            raise EmptyVideoError(path, "the video stream holds no decodable frames")
        bad = [i for i in wanted if not 0 <= i < decoded]
        if bad:
            raise VideoError(path, f"frame index {bad[0]} is out of range: the video has {decoded} frames")
        stack = np.stack([frames[i] for i in wanted])
        times = [at[i] for i in wanted]
        info = dec.info or info
    stack = apply_orientation(stack, dec.orientation)
    return Video.from_numpy(stack, (info.fps if info is not None else dec.fps) or 1.0, path, complete=wanted is None,
                            timestamps=_timestamps(times),
                            variable_frame_rate=bool(info and info.variable_frame_rate),
                            decoder=decoder_version("pyav"))


def _read_decord(path: str, indices: Sequence[int] | None, info: VideoInfo) -> Video:
    import decord

    try:
        vr = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=0)
    except Exception as e:  # decord raises plain RuntimeErrors (DECORDError)
        raise CorruptVideoError(path, f"decord could not open it: {e}") from e
    n = len(vr)
    _check_complete(path, n, info)
    idx = list(range(n)) if indices is None else [int(i) for i in indices]
    bad = [i for i in idx if not 0 <= i < n]
    if bad:
        raise VideoError(path, f"frame index {bad[0]} is out of range: the video has {n} frames")
    arr = vr.get_batch(idx).asnumpy()
    times = [float(vr.get_frame_timestamp(i)[0]) for i in idx]
    return Video.from_numpy(arr, info.fps or 1.0, path, complete=indices is None, timestamps=tuple(times),
                            variable_frame_rate=False, decoder=decoder_version("decord"))


def iter_frame_chunks(path: str | os.PathLike, chunk_size: int = 32) -> Iterator[np.ndarray]:
    """Decode a video in chunks of at most ``chunk_size`` frames (uint8 ``[t, H, W, 3]``, the same frames as
    :func:`read_video`), holding one chunk at a time.

    Raises the same typed errors as :func:`read_video`; a truncated file raises after the frames it could decode.
    """
    path = str(path)
    dec = _Decoding(path)
    buf: list[np.ndarray] = []
    decoded = 0
    for i, rgb, _ in dec.frames():
        buf.append(_rgb_array(rgb).copy())
        decoded = i + 1
        if len(buf) == chunk_size:
            yield apply_orientation(np.stack(buf), dec.orientation)
            buf = []
    if buf:
        yield apply_orientation(np.stack(buf), dec.orientation)
    _check_complete(path, decoded, dec.info)
