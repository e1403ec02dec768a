"""Video decoding, probing, encoding and frame-index sampling.

A decoded video is a :class:`Video`: ``frames`` is a ``uint8`` tensor ``[T, H, W, 3]`` (RGB, upright, presentation
order) plus ``fps``, timestamps and the decoder used. :mod:`vgbench.bench.video` is the only place that opens a video file.
"""
from vgbench.bench.video.decode import BACKENDS, DECODING_REVISION, decoders, iter_frame_chunks, read_video
from vgbench.bench.video.encode import QUALITY_PRESETS, write_video
from vgbench.bench.video.frames import Video
from vgbench.bench.video.probe import VideoInfo, probe_video
from vgbench.bench.video.sampling import FrameSampling, sample_indices

#: File extensions treated as videos when scanning folders.
VIDEO_EXTENSIONS = (".mp4", ".webm", ".mkv", ".avi", ".mov", ".gif", ".m4v", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg",
                    ".ogv", ".flv", ".wmv", ".3gp", ".y4m")

__all__ = [
    "Video", "VideoInfo", "probe_video", "read_video", "iter_frame_chunks", "write_video", "VIDEO_EXTENSIONS",
    "QUALITY_PRESETS", "BACKENDS", "DECODING_REVISION", "decoders", "FrameSampling", "sample_indices",
]
