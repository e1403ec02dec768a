"""What a video file holds, read without decoding it whole: codec, pixel format, colour tags, display orientation,
edit lists, variable frame rate and truncation (:func:`probe_video`).

The probe demuxes every packet (cheap: no decoding) and decodes only the first frame (its display matrix and pixel
format). It is what :mod:`vgbench.bench.video.decode` routes on and what ``vgbench check`` reports.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

import numpy as np

from vgbench.bench.errors import CorruptVideoError, EmptyVideoError, VideoError

#: Display orientations by the signs of the display matrix's 2x2 part (a, b, c, d), as libavutil's
#: ``AV_FRAME_DATA_DISPLAYMATRIX`` stores it (16.16 fixed point) and ``ffmpeg`` applies it (autorotate).
ORIENTATIONS = {
    (1, 0, 0, 1): "none",
    (-1, 0, 0, 1): "hflip",
    (1, 0, 0, -1): "vflip",
    (-1, 0, 0, -1): "rotate 180",
    (0, -1, 1, 0): "rotate 90 counter-clockwise",
    (0, 1, -1, 0): "rotate 90 clockwise",
    (0, 1, 1, 0): "transpose",
    (0, -1, -1, 0): "transverse",
}

_COLORSPACES = {0: "rgb", 1: "bt709", 2: "unspecified", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
                8: "ycgco", 9: "bt2020nc", 10: "bt2020c"}
_RANGES = {0: "unspecified", 1: "limited", 2: "full"}
_TRANSFERS = {1: "bt709", 2: "unspecified", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear",
              13: "iec61966-2-1 (sRGB)", 14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084 (PQ, HDR)",
              18: "arib-std-b67 (HLG, HDR)"}
_PRIMARIES = {1: "bt709", 2: "unspecified", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film",
              9: "bt2020", 12: "smpte432 (P3)"}


@dataclass(frozen=True)
class VideoInfo:
    """Facts about the video stream of a file that ffmpeg picks (:func:`video_stream`).

    ``width`` and ``height`` are the displayed (upright) size, i.e. the decoded frames' size; ``coded_width`` and
    ``coded_height`` the size the codec stores. ``declared_frames`` is the container's sample count (0 when it does not
    say); ``shown_frames`` the packets the container presents (its edit list removes the others). ``problem`` is set
    when demuxing found the file cut short or damaged (the decoder then raises the typed error).
    """

    path: str
    codec: str
    width: int
    height: int
    fps: float
    declared_frames: int
    duration_s: float | None
    coded_width: int = 0
    coded_height: int = 0
    pix_fmt: str = ""
    bit_depth: int = 8
    chroma: str = ""
    color_range: str = "unspecified"
    color_matrix: str = "unspecified"
    color_transfer: str = "unspecified"
    color_primaries: str = "unspecified"
    orientation: str = "none"
    display_matrix: tuple[int, int, int, int] | None = None
    packets: int = 0
    shown_frames: int = 0
    edit_list: bool = False
    variable_frame_rate: bool = False
    audio_streams: int = 0
    start_s: float = 0.0
    problem: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def information(self) -> list[str]:
        """What a user should know about the file that is not a fault (rotation, edit list, VFR, bit depth, tags)."""
        out = []
        if self.orientation != "none":
            out.append(f"display orientation '{self.orientation}' (frames are decoded upright: {self.width}x"
                       f"{self.height}; coded {self.coded_width}x{self.coded_height})")
        if self.edit_list:
            out.append(f"edit list: the container holds {self.packets} frames and presents {self.shown_frames}")
        if self.variable_frame_rate:
            out.append("variable frame rate (per-frame timestamps recorded; fps is the average)")
        if self.bit_depth > 8:
            out.append(f"{self.bit_depth}-bit {self.pix_fmt} (decoded to 8-bit RGB as ffmpeg -pix_fmt rgb24 does)")
        tags = {k: v for k, v in (("range", self.color_range), ("matrix", self.color_matrix),
                                  ("transfer", self.color_transfer), ("primaries", self.color_primaries))
                if v != "unspecified"}
        if tags and self.chroma != "rgb":
            out.append("colour tags " + ", ".join(f"{k} {v}" for k, v in tags.items()))
        if "HDR" in self.color_transfer:
            out.append("HDR transfer: frames are not tone-mapped (as ffmpeg -pix_fmt rgb24)")
        return out + list(self.notes)


def open_container(path: str):
    """Open ``path`` with PyAV; raises the typed, file-naming errors for missing, empty, unreadable or video-less
    files."""
    import av

    if not os.path.exists(path):
        raise VideoError(path, "file not found")
    path = os.path.abspath(path)  # never parsed as an FFmpeg protocol ("pipe:0.mp4", "a:b.mp4")
    if os.path.isdir(path):
        raise VideoError(path, "is a folder, not a video file")
    if os.path.getsize(path) == 0:
        raise EmptyVideoError(path, "file is empty (0 bytes)")
    try:
        container = av.open(path)
    except av.error.FFmpegError as e:
        hint = ""
        if path.lower().endswith((".mp4", ".m4v", ".mov")):
            hint = ("; an MP4/MOV whose index (moov atom) is missing was not finished writing (interrupted "
                    "download or recording): regenerate or re-download it")
        raise CorruptVideoError(path, f"not a readable video container ({e.__class__.__name__}: "
                                      f"{e.strerror or e}){hint}") from e
    if video_stream(container) is None:
        kinds = sorted({s.type for s in container.streams})
        container.close()
        held = f"it holds only {', '.join(kinds)} stream(s)" if kinds else "it holds no streams"
        raise EmptyVideoError(path, f"the file has no video stream ({held})")
    return container


def video_stream(container):
    """The video stream the ffmpeg command line picks by default: the largest picture (width × height, a stream marked
    default counting 5,000,000 px more), the first on a tie; never a cover picture. None when there is none."""
    import av

    best, best_score = None, -1
    for s in container.streams.video:
        if s.disposition & av.stream.Disposition.attached_pic:
            continue
        cc = s.codec_context
        score = (cc.width or 0) * (cc.height or 0) + 5_000_000 * bool(s.disposition & av.stream.Disposition.default)
        if score > best_score:
            best, best_score = s, score
    return best


def stream_fps(stream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return float(rate)
    return 0.0


def display_matrix(frame) -> tuple[int, int, int, int] | None:
    """The 2x2 part (a, b, c, d) of a frame's display matrix, as signs (-1, 0, 1); None when it has none."""
    for sd in frame.side_data:
        if "DISPLAYMATRIX" in str(sd.type).upper():
            m = struct.unpack("=9i", bytes(sd)[:36])
            return m[0], m[1], m[3], m[4]
    return None


def orientation_name(path: str, matrix: tuple[int, int, int, int] | None) -> str:
    if matrix is None:
        return "none"
    a, b, c, d = matrix
    signs = tuple(int(np.sign(v)) if abs(v) > 64 else 0 for v in (a, b, c, d))  # 16.16: |v| ≈ 65536 or 0
    if signs not in ORIENTATIONS:
        import math

        angle = math.degrees(math.atan2(b, a))
        raise VideoError(path, f"its display matrix rotates by {angle:.1f}°, not a multiple of 90°; vgbench cannot "
                               "present it upright. Re-encode it upright (ffmpeg -i IN -c:v libx264 -crf 10 OUT.mp4)")
    return ORIENTATIONS[signs]


def apply_orientation(frames: np.ndarray, orientation: str) -> np.ndarray:
    """Turn uint8 ``[T, H, W, C]`` coded frames upright for ``orientation`` (one of :data:`ORIENTATIONS`' values).
    Pixel-exact (a permutation), as ffmpeg's transpose/hflip/vflip filters."""
    if orientation == "none":
        return frames
    signs = next(k for k, v in ORIENTATIONS.items() if v == orientation)
    a, b, c, d = signs
    out = frames
    if a == 0:  # the axes swap
        out = out.transpose(0, 2, 1, 3)
        if b < 0:
            out = out[:, ::-1]
        if c < 0:
            out = out[:, :, ::-1]
    else:
        if a < 0:
            out = out[:, :, ::-1]
        if d < 0:
            out = out[:, ::-1]
    return np.ascontiguousarray(out)


def _chroma(fmt) -> str:
    if fmt.is_rgb:
        return "rgb"
    if len(fmt.components) < 3:
        return "gray"
    cw, ch = fmt.chroma_width(64), fmt.chroma_height(64)
    return {(64, 64): "4:4:4", (32, 64): "4:2:2", (32, 32): "4:2:0", (16, 64): "4:1:1"}.get((cw, ch), f"{cw}x{ch}/64")


def _is_vfr(pts: list[int]) -> bool:
    """Frame durations (from presentation timestamps, in stream ticks) that differ by more than container rounding."""
    if len(pts) < 3:
        return False
    d = np.diff(np.asarray(sorted(set(pts)), dtype=np.int64))
    if d.size < 2:
        return False
    med = float(np.median(d))
    return bool(np.any(np.abs(d - med) > max(1.0, 0.01 * med)))


class PacketTally:
    """What the packets of a video stream say, gathered while they are read (by the probe, or by the decoder in
    the same pass as decoding): how many the container holds, how many it presents (an edit list discards the
    others), their presentation timestamps, and whether reading stopped early."""

    def __init__(self):
        self.packets = 0
        self.shown = 0
        self.pts: list[int] = []
        self.problem: str | None = None
        self.first = None  # the first decoded frame (pixel format, colour tags, display matrix)

    def add(self, pkt) -> bool:
        """Count ``pkt``; False for the demuxer's empty flush packet."""
        if pkt.size == 0 and pkt.pts is None and pkt.dts is None:
            return False
        self.packets += 1
        if not pkt.is_discard:
            self.shown += 1
            if pkt.pts is not None:
                self.pts.append(int(pkt.pts))
        return True

    def stopped(self, e) -> None:
        self.problem = f"the container stops after {self.packets} packets ({e.__class__.__name__}: {e.strerror or e})"

    def info(self, path: str, container, s) -> VideoInfo:
        cc = s.codec_context
        first = self.first
        declared = int(s.frames or 0)
        duration = float(s.duration * s.time_base) if s.duration and s.time_base else None
        if duration is None and container.duration:
            duration = container.duration / 1_000_000
        problem = self.problem
        if problem is None and declared > 0 and self.packets < declared:
            problem = (f"the container declares {declared} frames but holds {self.packets} "
                       "(the file was probably cut short)")
        fmt = first.format if first is not None else cc.format
        matrix = display_matrix(first) if first is not None else None
        orient = orientation_name(path, matrix)
        cw, ch = (first.width, first.height) if first is not None else (cc.width, cc.height)
        w, h = (ch, cw) if orient in SWAPS_AXES else (cw, ch)
        src = first if first is not None else cc
        trc, prim = int(getattr(cc, "color_trc", 2)), int(getattr(cc, "color_primaries", 2))
        return VideoInfo(
            path=path, codec=cc.name, width=w, height=h, fps=stream_fps(s), declared_frames=declared,
            duration_s=duration, coded_width=cw, coded_height=ch, pix_fmt=fmt.name if fmt is not None else "",
            bit_depth=max((c.bits for c in fmt.components), default=8) if fmt is not None else 8,
            chroma=_chroma(fmt) if fmt is not None else "",
            color_range=_RANGES.get(int(src.color_range), str(int(src.color_range))),
            color_matrix=_COLORSPACES.get(int(src.colorspace), str(int(src.colorspace))),
            color_transfer=_TRANSFERS.get(trc, str(trc)), color_primaries=_PRIMARIES.get(prim, str(prim)),
            orientation=orient, display_matrix=matrix, packets=self.packets, shown_frames=self.shown,
            edit_list=self.shown < self.packets, variable_frame_rate=_is_vfr(self.pts),
            audio_streams=len(container.streams.audio),
            start_s=container.start_time / 1_000_000 if container.start_time is not None else 0.0, problem=problem)


#: Orientations whose upright frames swap height and width.
SWAPS_AXES = ("rotate 90 counter-clockwise", "rotate 90 clockwise", "transpose", "transverse")


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Read a video's facts: codec, size (upright), fps, pixel format and bit depth, colour tags, display
    orientation, edit list, variable frame rate and whether every packet the container declares is there. Demuxes
    every packet (no decoding) and decodes the first frame.

    Raises:
        VideoError (file not found, unsupported rotation), EmptyVideoError (empty file, no video stream),
        CorruptVideoError (not a container): each names the file.
    """
    import av

    path = str(path)
    with open_container(path) as container:
        s = video_stream(container)
        tally = PacketTally()
        try:
            for pkt in container.demux(s):
                if not tally.add(pkt):
                    continue
                if tally.first is None:  # every packet goes to the decoder: discarded ones may be references
                    try:
                        for fr in pkt.decode():
                            tally.first = fr
                            break
                    except av.error.FFmpegError:
                        pass  # a damaged packet: the full decode reports it with the frame count
        except av.error.FFmpegError as e:
            tally.stopped(e)
        if tally.first is None:
            try:  # the first frame may need the decoder flushed (decoder delay): decode from the start
                container.seek(0, stream=s)
                for fr in container.decode(s):
                    tally.first = fr
                    break
            except av.error.FFmpegError:
                pass
        return tally.info(path, container, s)
