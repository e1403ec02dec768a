"""The decoding conformance corpus and its oracle.

Every file is made here by the ``ffmpeg`` that imageio-ffmpeg ships (never downloaded): tiny clips (64x48, 8 frames
at 8 fps, ``testsrc2`` with temporal noise) covering the codecs, pixel formats, colour tags, display orientations,
edit lists, frame-rate modes and sizes users' files come in. The oracle is the same binary:
``ffmpeg -i FILE -an -sn -dn -fps_mode passthrough -pix_fmt rgb24`` (ffmpeg's own choice of video stream) (frames as PPM, so each frame carries its
upright size) and ``-vf showinfo`` for the presentation timestamps.
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SRC = "testsrc2=size=64x48:rate=8:duration=1,noise=alls=12:allf=t,scale={size}"  # testsrc2 makes even sizes only


@dataclass(frozen=True)
class Case:
    """One corpus file: how it is made and what decoding it must give."""

    name: str
    args: tuple[str, ...]                  # ffmpeg arguments after the input(s), before the output path
    source: str | None = None              # another case's file as input (stream copy), else the lavfi source
    size: str = "64x48"
    lossless: bool = False                 # the oracle's frames are the encoded RGB exactly: 0 tolerance
    frames: int | None = 8                 # frames the oracle presents (None: not a video; see error)
    upright: tuple[int, int] | None = None  # (H, W) of the presented frames, when not the source size
    error: str | None = None               # the typed error expected instead of frames
    input_args: tuple[str, ...] = ()       # ffmpeg arguments before -i (display rotation, seek)
    info: dict = field(default_factory=dict)  # probe facts to check
    cut: float | None = None               # keep only this fraction of the file's bytes (a file cut short)


def _x264(pix: str, *extra: str) -> tuple[str, ...]:
    return ("-c:v", "libx264", "-pix_fmt", pix, "-preset", "ultrafast", *extra)


CASES: tuple[Case, ...] = (
    Case("h264_yuv420p.mp4", _x264("yuv420p", "-bf", "2", "-preset", "medium"), info={"pix_fmt": "yuv420p"}),
    Case("h264_yuv420p_bt709.mp4", _x264("yuv420p", "-colorspace", "bt709", "-color_primaries", "bt709",
                                         "-color_trc", "bt709"), info={"color_matrix": "bt709"}),
    Case("h264_yuv420p_bt601.mp4", _x264("yuv420p", "-colorspace", "smpte170m", "-color_primaries", "smpte170m",
                                         "-color_trc", "smpte170m"), info={"color_matrix": "smpte170m"}),
    Case("h264_yuv420p_fullrange.mp4", _x264("yuv420p", "-color_range", "pc"), info={"color_range": "full"}),
    Case("h264_yuvj420p.mp4", _x264("yuvj420p"), info={"color_range": "full"}),
    Case("h264_yuv422p.mp4", _x264("yuv422p"), info={"chroma": "4:2:2"}),
    Case("h264_yuv444p.mp4", _x264("yuv444p"), info={"chroma": "4:4:4"}),
    Case("h264_yuv420p10.mp4", _x264("yuv420p10le"), info={"bit_depth": 10, "chroma": "4:2:0"}),
    Case("h264_yuv422p10.mp4", _x264("yuv422p10le"), info={"bit_depth": 10, "chroma": "4:2:2"}),
    Case("h264_yuv444p10_bt709.mp4", _x264("yuv444p10le", "-colorspace", "bt709"), info={"bit_depth": 10}),
    Case("h264rgb_lossless.mp4", ("-c:v", "libx264rgb", "-qp", "0", "-preset", "ultrafast"), lossless=True),
    Case("hevc_yuv420p.mp4", ("-c:v", "libx265", "-pix_fmt", "yuv420p", "-x265-params", "log-level=error",
                              "-tag:v", "hvc1"), info={"codec": "hevc"}),
    Case("hevc_yuv420p10.mkv", ("-c:v", "libx265", "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=error"),
         info={"bit_depth": 10}),
    Case("vp9_yuv420p.webm", ("-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-deadline", "realtime"),
         info={"codec": "vp9"}),
    Case("vp9_yuv420p10.webm", ("-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p10le", "-profile:v", "2",
                                "-deadline", "realtime"), info={"bit_depth": 10}),
    Case("av1_yuv420p.mp4", ("-c:v", "libaom-av1", "-cpu-used", "8", "-pix_fmt", "yuv420p")),
    Case("av1_yuv420p10.mkv", ("-c:v", "libaom-av1", "-cpu-used", "8", "-pix_fmt", "yuv420p10le"),
         info={"bit_depth": 10}),
    Case("mpeg4.avi", ("-c:v", "mpeg4", "-q:v", "3"), info={"codec": "mpeg4"}),
    Case("mjpeg.avi", ("-c:v", "mjpeg", "-q:v", "3"), info={"codec": "mjpeg"}),
    Case("mjpeg_yuvj422p.mov", ("-c:v", "mjpeg", "-pix_fmt", "yuvj422p", "-q:v", "3"), info={"chroma": "4:2:2"}),
    Case("ffv1_bgr0.mkv", ("-c:v", "ffv1", "-pix_fmt", "bgr0"), lossless=True),
    Case("ffv1_yuv420p10.mkv", ("-c:v", "ffv1", "-pix_fmt", "yuv420p10le"), info={"bit_depth": 10}),
    Case("animated.gif", ("-c:v", "gif",), info={"codec": "gif"}),
    # display orientation (stream copy of the H.264 4:4:4 file: only the display matrix differs)
    Case("rot90.mp4", ("-c", "copy"), source="h264_yuv444p.mp4", input_args=("-display_rotation", "90"),
         upright=(64, 48), info={"orientation": "rotate 90 counter-clockwise", "width": 48, "height": 64}),
    Case("rot180.mp4", ("-c", "copy"), source="h264_yuv444p.mp4", input_args=("-display_rotation", "180"),
         info={"orientation": "rotate 180"}),
    Case("rot270.mp4", ("-c", "copy"), source="h264_yuv444p.mp4", input_args=("-display_rotation", "270"),
         upright=(64, 48), info={"orientation": "rotate 90 clockwise"}),
    Case("hflip.mp4", ("-c", "copy"), source="h264_yuv444p.mp4", input_args=("-display_hflip",),
         info={"orientation": "hflip"}),
    Case("rot90_hflip.mp4", ("-c", "copy"), source="h264_yuv444p.mp4",
         input_args=("-display_rotation", "90", "-display_hflip"), upright=(64, 48),
         info={"orientation": "transverse"}),
    # an edit list: stream copy from 0.5 s keeps the packets from the previous keyframe and hides the first ones
    Case("editlist_trim.mp4", ("-c", "copy"), source="h264_yuv420p_gop.mp4", input_args=("-ss", "0.5"), frames=4,
         info={"edit_list": True}),
    Case("h264_yuv420p_gop.mp4", _x264("yuv420p", "-g", "8", "-bf", "2", "-preset", "medium")),
    # variable frame rate: 4 frames at 1/8 s, then 4 at 1/4 s
    Case("vfr.mkv", _x264("yuv420p", "-vf", "setpts='if(lt(N,4),N/8,0.5+(N-4)/4)/TB'", "-fps_mode", "passthrough"),
         info={"variable_frame_rate": True}),
    Case("odd_h264_yuv444p.mp4", _x264("yuv444p"), size="63x47"),
    Case("odd_vp9_yuv420p.webm", ("-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-deadline", "realtime"),
         size="63x47"),
    Case("one_frame.mp4", _x264("yuv420p", "-frames:v", "1"), frames=1),
    Case("two_frames.mp4", _x264("yuv420p", "-frames:v", "2"), frames=2),
    # an open-GOP HEVC stream cut by stream copy into Matroska: the decoder drops the leading pictures whose
    # references were cut away, as ffmpeg does; that is not truncation
    Case("hevc_open_gop.mp4", ("-c:v", "libx265", "-x265-params", "log-level=error:keyint=4:min-keyint=4:bframes=3",
                               "-tag:v", "hvc1"), frames=8),
    Case("hevc_open_gop_trim.mkv", ("-c", "copy"), source="hevc_open_gop.mp4", input_args=("-ss", "0.3"),
         frames=4),
    # ffmpeg's choice among several video streams: the largest picture, not the first stream
    Case("two_video_streams.mkv", ("-map", "1:v", "-map", "0:v", "-c:v:0", "mjpeg", "-c:v:1", "libx264"),
         source="h264_yuv420p.mp4"),
    # files cut short: containers without a frame count, and a GIF without its trailer
    Case("cut_matroska.mkv", _x264("yuv420p", "-g", "2"), cut=0.4, frames=None, error="TruncatedVideoError"),
    Case("cut_webm.webm", ("-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-deadline", "realtime", "-g", "2"),
         cut=0.4, frames=None, error="TruncatedVideoError"),
    Case("cut_animated.gif", ("-c:v", "gif",), cut=0.6, frames=None, error="TruncatedVideoError"),
    Case("audio_only.m4a", ("-c:a", "aac",), frames=None, error="EmptyVideoError"),
    Case("subtitles_only.mkv", ("-c:s", "srt",), frames=None, error="EmptyVideoError"),
    Case("not_a_video.mp4", (), frames=None, error="CorruptVideoError"),
)

_ORDER = {c.name: i for i, c in enumerate(CASES)}


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _make(case: Case, root: Path) -> Path:
    out = root / case.name
    ff = ffmpeg_exe()
    if case.name == "not_a_video.mp4":
        out.write_text("this is a text file named like a video\n")
        return out
    if case.name == "audio_only.m4a":
        inputs = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1"]
    elif case.name == "subtitles_only.mkv":
        srt = root / "subtitles.srt"
        srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n")
        inputs = ["-i", str(srt)]
    elif case.name == "two_video_streams.mkv":  # a 32x24 still first, the 64x48 clip second
        inputs = ["-i", str(root / case.source), "-f", "lavfi", "-i", "color=c=red:size=32x24:rate=8:duration=0.125"]
    elif case.source:
        inputs = [*case.input_args, "-i", str(root / case.source)]
    else:
        inputs = ["-f", "lavfi", "-i", SRC.format(size=case.size.replace("x", ":"))]
    cmd = [ff, "-v", "error", "-y", *inputs, *case.args, str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"making {case.name} failed: {' '.join(cmd)}\n{r.stderr}")
    if case.cut is not None:
        data = out.read_bytes()
        out.write_bytes(data[: int(len(data) * case.cut)])
    return out


def build_corpus(root: Path) -> dict[str, Path]:
    """Make every corpus file under ``root`` (sources before the files copied from them)."""
    root.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    pending = list(CASES)
    while pending:
        case = pending.pop(0)
        if case.source and case.source not in made:
            pending.append(case)
            continue
        made[case.name] = _make(case, root)
    return made


_PPM = re.compile(rb"P6\s+(\d+)\s+(\d+)\s+255\s")


def oracle_frames(path: Path) -> np.ndarray:
    """The frames the ffmpeg command line presents for ``-pix_fmt rgb24``: uint8 ``[T, H, W, 3]``."""
    cmd = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-an", "-sn", "-dn", "-fps_mode", "passthrough",
           "-f", "image2pipe", "-c:v", "ppm", "-pix_fmt", "rgb24", "-"]  # ffmpeg's own choice of video stream
    r = subprocess.run(cmd, capture_output=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"oracle failed on {path}: {r.stderr.decode(errors='replace')}")
    data, out, i = r.stdout, [], 0
    while i < len(data):
        m = _PPM.match(data, i)
        w, h = int(m.group(1)), int(m.group(2))
        j = m.end()
        out.append(np.frombuffer(data, np.uint8, w * h * 3, j).reshape(h, w, 3))
        i = j + w * h * 3
    return np.stack(out)


def oracle_timestamps(path: Path) -> list[float]:
    """Presentation time (s) of each frame the ffmpeg command line presents (``showinfo``'s ``pts_time``)."""
    cmd = [ffmpeg_exe(), "-v", "info", "-i", str(path), "-an", "-sn", "-dn", "-fps_mode", "passthrough",
           "-vf", "showinfo", "-f", "null", "-"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return [float(t) for t in re.findall(r"pts_time:\s*([-0-9.e]+)", r.stderr)]
