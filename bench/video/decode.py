"""Decode a video file to the frames a player shows (:func:`read_video`, :func:`iter_frame_chunks`).

**The frames of a file** are, by definition, what ``ffmpeg -i FILE -f rawvideo -pix_fmt rgb24 -fps_mode passthrough``
presents: the video stream ffmpeg picks, presentation order, the container's edit list applied, the display
rotation/flip applied (ffmpeg's autorotate), the colour conversion done by libswscale from the file's own tags
(matrix, range), 8-bit RGB; timestamps count from the container's start time. The
``ffmpeg`` binary shipped by imageio-ffmpeg is the oracle the tests compare every decoder path against, on a corpus
covering H.264/HEVC/VP9/AV1/MPEG-4/MJPEG/FFV1/GIF, 8/10-bit, 4:2:0/4:2:2/4:4:4, both ranges, BT.601/BT.709,
rotations, flips, edit lists, variable frame rate and odd sizes (``tests/video_corpus.py``).

Decoder paths (measured on that corpus and in ``benchmarks/bench_decode.py``):

* ``"pyav"`` (the default, ``"auto"``): PyAV decodes and converts through a libavfilter graph (``scale`` +
  ``format=rgb24``), the same code path as the ffmpeg command line; equal to the oracle on every corpus file and the
  fastest full decode measured on 2 cores (256², 512², 1080p H.264).
* ``"decord"``: decord 0.6 ignores edit lists and display rotation, converts 10-bit and tagged colour differently,
  cannot open AV1 or GIF, and its random access is inexact on open-GOP streams. It is used only when asked for,
  only for full decodes, and only for files :func:`decord_handles` proves it decodes identically (8-bit 4:2:0
  H.264/HEVC/VP9, untagged or BT.601 limited range, no rotation, no edit list, constant frame rate, starting at 0);
  anything else goes to PyAV and :attr:`Video.decoder` says so.

torchcodec (PyTorch's decoder) is not a path yet: its 0.17 wheels link CUDA torch and the system FFmpeg libraries, which
the CPU machines vgbench is tested on do not have, so it could not be held to the corpus.

Every :class:`~vgbench.bench.video.frames.Video` records the decoder and its version (:attr:`Video.decoder`). Broken files
raise typed errors naming the file: :class:`~vgbench.bench.errors.CorruptVideoError`, :class:`~vgbench.bench.errors.TruncatedVideoError`,
:class:`~vgbench.bench.errors.EmptyVideoError`.
"""
from __future__ import annotations

import functools
import os
from fractions import Fraction
from typing import Iterator, Sequence

import numpy as np

from vgbench.bench.errors import CorruptVideoError, EmptyVideoError, TruncatedVideoError, VideoError
from vgbench.bench.video.frames import Video
from vgbench.bench.video.probe import (PacketTally, VideoInfo, apply_orientation, display_matrix, open_container,
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
    if info.start_s != 0:
        return "the container starts at a non-zero time"
    if info.problem or info.declared_frames <= 0 or info.declared_frames != info.shown_frames:
        return "frame count not declared by the container"
    return None


def _rgb_graph(stream, frame, size: tuple[int, int] | None = None):
    """buffer → scale → format=rgb24 → buffersink: the conversion the ffmpeg command line inserts for -pix_fmt rgb24;
    with ``size`` (width, height) the scale filter also resizes, bilinear, as decord's ``VideoReader(width=,
    height=)`` does."""
    import av

    g = av.filter.Graph()
    if stream is None:
        src = g.add_buffer(width=frame.width, height=frame.height, format=frame.format, time_base=Fraction(1, 25))
    else:
        src = g.add_buffer(template=stream, width=frame.width, height=frame.height, format=frame.format)
    scale = g.add("scale", f"{size[0]}:{size[1]}:flags=bilinear" if size else "")
    fmt = g.add("format", "pix_fmts=rgb24")
    sink = g.add("buffersink")
    src.link_to(scale)
    scale.link_to(fmt)
    fmt.link_to(sink)
    g.configure()
    return g


class _Decoding:
    """One pass over a file with PyAV: packets are counted (:class:`~vgbench.bench.video.probe.PacketTally`) and decoded,
    frames converted to RGB by libavfilter; :attr:`info` is the file's :class:`VideoInfo` once the pass is over."""

    def __init__(self, path: str, strict: bool = False, size: tuple[int, int] | None = None):
        self.path = path
        self.strict = strict
        self.size = size  # (width, height) to scale every frame to, before the display orientation  # one decoder thread: libavcodec flags concealed (damaged) frames reliably only then
        self.tally = PacketTally()
        self.info: VideoInfo | None = None
        self.orientation = "none"
        self.declared = 0
        self.fps = 0.0
        self.start = 0.0            # the container's start time (s): timestamps are relative to it, as ffmpeg's
        self.corrupt: list[int] = []  # frames the decoder flagged as damaged (errors concealed)
        self.last_pts: int | None = None
        self.stream_duration = False
        self.times: list[float] = []
        self.stopped_early = False  # an index read stopped decoding after its last index (packets still counted)

    def frames(self, stop_after: int | None = None) -> Iterator[tuple[int, object, float | None]]:
        """Yield ``(index, rgb24 av.VideoFrame in coded orientation, time_s)`` for each presented frame, in order."""
        import av

        path, tally, decoded = self.path, self.tally, 0
        with open_container(path) as container:
            stream = video_stream(container)
            if self.strict:
                stream.codec_context.thread_count = 1
            else:
                stream.thread_type = "AUTO"
            self.declared, self.fps = int(stream.frames or 0), stream_fps(stream)
            self.start = container.start_time / 1_000_000 if container.start_time is not None else 0.0
            self.stream_duration = stream.duration is not None
            graph, key = None, None
            try:
                for pkt in container.demux(stream):
                    real = tally.add(pkt)
                    if self.stopped_early:  # the rest is only counted (no decoding): the file's facts in one pass
                        if not real:
                            break
                        continue
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
                            graph, key = _rgb_graph(stream, frame, self.size), k
                            if tally.first is None:
                                tally.first = frame
                                self.orientation = orientation_name(path, display_matrix(frame))
                        if getattr(frame, "is_corrupt", False):
                            self.corrupt.append(decoded)
                        if frame.pts is not None:
                            self.last_pts = frame.pts if self.last_pts is None else max(self.last_pts, frame.pts)
                        graph.push(frame)
                        t = frame.time
                        if t is not None:
                            self.times.append(t)
                        yield decoded, graph.pull(), (None if t is None else t - self.start)
                        decoded += 1
                        if stop_after is not None and decoded > stop_after:
                            self.stopped_early = True
                            break
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


def _check_complete(path: str, decoded: int, dec: "_Decoding") -> None:
    """Raise when the file did not give every frame it holds: the container stopped early or declares more, the tail
    of the presented frames is missing, its stated duration holds more frames than were read, or the decoder had to
    conceal damage. (Frames a decoder drops by design, such as leading pictures of a stream-copied cut, are not.)"""
    info = dec.info
    if decoded == 0:
        raise EmptyVideoError(path, "the video stream holds no decodable frames")
    if info.problem:
        raise TruncatedVideoError(path, f"{info.problem}; {decoded} frames decoded")
    shown_pts = dec.tally.pts
    if shown_pts and dec.last_pts is not None and dec.last_pts < max(shown_pts):
        raise TruncatedVideoError(path, f"the container presents {info.shown_frames} frames but decoding ended at "
                                        f"frame {decoded} (the file is damaged or was cut short)")
    # containers without a frame count (Matroska/WebM, ...) state a duration in their header: a file cut short
    # presents frames that end well before it (only trusted when no other stream can make the file longer)
    stated = info.duration_s if (info.duration_s and (info.audio_streams == 0 or dec.stream_duration)) else None
    if info.declared_frames == 0 and stated and dec.times and info.fps > 0:
        step = 1.0 / info.fps
        end = max(dec.times) + step  # absolute: demuxers state duration from 0 or from the start time
        if stated - end > max(2 * step, 0.02 * stated):
            raise TruncatedVideoError(path, f"the container says the video lasts {stated:.3f} s but its frames end at "
                                            f"{end:.3f} s ({decoded} frames read): the file was probably cut short")
    if info.codec == "gif" and not _gif_has_trailer(path):
        raise TruncatedVideoError(path, f"the GIF has no trailer byte: it was cut short after {decoded} frames")
    if dec.strict and dec.corrupt:
        shown = ", ".join(map(str, dec.corrupt[:5])) + (", ..." if len(dec.corrupt) > 5 else "")
        raise CorruptVideoError(path, f"{len(dec.corrupt)} frame(s) are damaged (frames {shown}: the decoder had to "
                                      "conceal errors); re-encode or re-download the file")


def _gif_has_trailer(path: str) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\x3b"


def _timestamps(times: list[float | None]) -> tuple[float, ...] | None:
    return None if any(t is None for t in times) else tuple(float(t) for t in times)


def read_video(path: str | os.PathLike, indices: Sequence[int] | None = None, backend: str = "auto",
               info: VideoInfo | None = None, strict: bool = False, size: tuple[int, int] | None = None) -> Video:
    """Decode a video file to a :class:`Video`: uint8 ``[T, H, W, 3]`` RGB, upright, presentation order (see the
    module docstring for the exact definition), with fps, per-frame timestamps and the decoder used.

    Args:
        path: the file (mp4, mov, webm, mkv, avi, gif, ...).
        indices: presented-frame indices to keep (0-based; may repeat, any order). ``None`` keeps every frame.
        backend: ``"auto"`` or ``"pyav"`` (the reference path), or ``"decord"`` (used only for files
            :func:`decord_handles` accepts; the others are decoded by PyAV).
        info: the file's :func:`~vgbench.bench.video.probe.probe_video` result, if already read (the decord route needs
            it; PyAV gathers the same facts while decoding).
        size: ``(width, height)``: each frame is scaled to it by libswscale's bilinear filter from the decoded
            picture (YUV), before the display orientation, as decord's ``VideoReader(path, width=, height=)`` (what
            VBench's scene reads) does; equal to decord 0.6 on 8-bit 4:2:0 H.264 and RGB files (tests). PyAV only.
        strict: decode with one thread and raise :class:`~vgbench.bench.errors.CorruptVideoError` when the decoder had to
            conceal damage in any frame (``vgbench check``). Frame-threaded decoding (the default, about twice as fast
            on 2 cores) does not flag concealed frames reliably, so it does not judge them.

    Raises:
        CorruptVideoError, TruncatedVideoError, EmptyVideoError, VideoError (file not found, index out of range,
        unsupported rotation, size change mid-stream): each names the file and says what to do.
    """
    path = os.path.abspath(str(path))  # an absolute path is never parsed as an FFmpeg protocol ("a:b.mp4")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    wanted = None if indices is None else _check_indices(path, indices)
    if backend == "decord" and wanted is None and size is None and decoder_version("decord"):
        # full decodes only: decord's random access is inexact on open-GOP streams
        info = info or probe_video(path)
        if decord_handles(info) is None:
            return _read_decord(path, info)
    dec = _Decoding(path, strict, size)
    try:
        if wanted is None:
            stack, times = _decode_all(dec)
        else:
            stack, times = _decode_some(dec, wanted)
    except MemoryError as e:
        raise VideoError(path, "the decoded frames do not fit in memory; evaluate it with fewer frames (metric "
                               "frame sampling) or shorten it (ffmpeg -i IN -t SECONDS OUT.mp4)") from e
    info = dec.info  # gathered in the same pass, also when an index read stops decoding early
    stack = apply_orientation(stack, dec.orientation)
    return Video.from_numpy(stack, info.fps or 1.0, path, complete=wanted is None, timestamps=_timestamps(times),
                            variable_frame_rate=info.variable_frame_rate, decoder=decoder_version("pyav"))


def scale_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 RGB ``[T, H, W, 3]`` → ``[T, height, width, 3]`` through libswscale's bilinear filter (the scaler of
    ``read_video(size=)``, here from RGB: for frames that have no file behind them)."""
    import av

    out = []
    graph = None
    for f in frames:
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
        graph = graph or _rgb_graph(None, vf, (width, height))
        graph.push(vf)
        out.append(_rgb_array(graph.pull()).copy())
    return np.stack(out)


def _check_indices(path: str, indices: Sequence[int]) -> list[int]:
    import operator

    try:
        wanted = [operator.index(i) for i in indices]
    except TypeError as e:
        raise VideoError(path, f"frame indices must be integers ({e})") from e
    if not wanted:
        raise VideoError(path, "no frame indices were requested")
    if min(wanted) < 0:
        raise VideoError(path, f"frame index {min(wanted)} is negative: indices count presented frames from 0")
    return wanted


#: Frames held in one block while the count is unknown or not trusted (the container's count may be a lie).
_BLOCK_BYTES = 256 * 2**20


def _decode_all(dec: _Decoding) -> tuple[np.ndarray, list[float | None]]:
    """Every presented frame, one copy per frame into blocks (one block when the declared count is right)."""
    blocks: list[np.ndarray] = []
    times: list[float | None] = []
    filled = decoded = 0
    for i, rgb, t in dec.frames():
        if not blocks or filled == len(blocks[-1]):
            per = rgb.height * rgb.width * 3
            cap = max(1, _BLOCK_BYTES // per)
            n = min(dec.declared - decoded, cap) if dec.declared > decoded else min(64, cap)
            blocks.append(np.empty((max(n, 1), rgb.height, rgb.width, 3), np.uint8))
            filled = 0
        blocks[-1][filled] = _rgb_array(rgb)
        filled += 1
        times.append(t)
        decoded = i + 1
    _check_complete(dec.path, decoded, dec)
    blocks[-1] = blocks[-1][:filled]
    return (blocks[0] if len(blocks) == 1 else np.concatenate(blocks)), times


def _decode_some(dec: _Decoding, wanted: list[int]) -> tuple[np.ndarray, list[float | None]]:
    keep = set(wanted)
    frames: dict[int, np.ndarray] = {}
    at: dict[int, float | None] = {}
    decoded = 0
    for i, rgb, t in dec.frames(max(wanted)):
        decoded = i + 1
        if i in keep:
            frames[i], at[i] = _rgb_array(rgb).copy(), t
    if not dec.stopped_early:  # the whole file was decoded: a cut file is truncated, not "out of range"
        _check_complete(dec.path, decoded, dec)
    elif dec.info.problem:
        raise TruncatedVideoError(dec.path, f"{dec.info.problem} (frames up to index {max(wanted)} were read)")
    elif dec.strict and dec.corrupt:
        raise CorruptVideoError(dec.path, f"frame {dec.corrupt[0]} is damaged (the decoder had to conceal errors); "
                                          "re-encode or re-download the file")
    bad = [i for i in wanted if i >= decoded]
    if bad:
        raise VideoError(dec.path, f"frame index {bad[0]} is out of range: the video has {decoded} frames")
    return np.stack([frames[i] for i in wanted]), [at[i] for i in wanted]


def _read_decord(path: str, info: VideoInfo) -> Video:
    import decord

    try:
        vr = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=0)
    except Exception as e:  # decord raises plain RuntimeErrors (DECORDError)
        raise CorruptVideoError(path, f"decord could not open it: {e}") from e
    n = len(vr)
    if n != info.shown_frames:
        raise TruncatedVideoError(path, f"the container presents {info.shown_frames} frames but decord read {n}")
    arr = vr.get_batch(list(range(n))).asnumpy()
    times = [float(vr.get_frame_timestamp(i)[0]) for i in range(n)]
    return Video.from_numpy(arr, info.fps or 1.0, path, complete=True, timestamps=tuple(times),
                            variable_frame_rate=False, decoder=decoder_version("decord"))


def iter_frame_chunks(path: str | os.PathLike, chunk_size: int = 32) -> Iterator[np.ndarray]:
    """Decode a video in chunks of at most ``chunk_size`` frames (uint8 ``[t, H, W, 3]``, the same frames as
    :func:`read_video`), holding one chunk at a time.

    Raises the same typed errors as :func:`read_video`; a truncated file raises after the frames it could decode.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be ≥ 1, not {chunk_size}")
    path = os.path.abspath(str(path))
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
    _check_complete(path, decoded, dec)
