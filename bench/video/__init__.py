"""Video decoding, encoding and frame-index sampling.

A decoded video is a :class:`Video`: ``frames`` is a ``uint8`` tensor ``[T, H, W, 3]`` (RGB) plus ``fps``.
"""
from bench.video.io import Video, VideoInfo, iter_frame_chunks, probe_video, read_video, write_video, VIDEO_EXTENSIONS
from bench.video.sampling import FrameSampling, sample_indices

__all__ = [
    "Video", "VideoInfo", "probe_video", "read_video", "iter_frame_chunks", "write_video", "VIDEO_EXTENSIONS",
    "FrameSampling", "sample_indices",
]
