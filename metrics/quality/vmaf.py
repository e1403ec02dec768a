"""VMAF (Netflix) of a generated video against its reference, through ffmpeg's ``libvmaf`` filter.

``vmaf/v0.6.1`` (the only protocol): libvmaf's built-in ``vmaf_v0.6.1`` model, default features, every frame
(``n_subsample=1``); the per-item value is the mean of the per-frame VMAF scores (libvmaf's ``pooled_metrics``
mean); the set value is the mean over all frame pairs (frame-weighted). Scores are in [0, 100]; a video against
itself scores ≈ 99–100 (VMAF is not exactly 100 on identical input).

Revision 2: when both videos were decoded whole from files (``Video.complete``), libvmaf reads **the files
themselves**, as the canonical ``ffmpeg -i distorted -i reference -lavfi libvmaf`` does: VMAF works on the videos'
own YUV planes, and a yuv420p video decoded to RGB and converted back is not the same video (carphone, 120 frames:
34.6857 from the files, 34.6605 through RGB). Frames are paired by index (``setpts=N``) over the first ``min(T)``
frames. Otherwise (frames not from a file, or a subset) the decoded RGB frames are streamed to ffmpeg through one
pipe, generated frame on top of reference frame, split again in the filter graph and converted to ``yuv420p`` by
ffmpeg's default scaler (BT.601, limited range); on RGB-lossless files both paths give the same value. Different
sizes are an item error.

The ffmpeg binary is ``$VGBENCH_FFMPEG``, else the one ``imageio-ffmpeg`` ships (it includes libvmaf), else
``ffmpeg`` on ``PATH``; it must list the ``libvmaf`` filter.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading


from vgbench.bench.errors import ConfigError, MetricError
from vgbench.bench.lazy import lazy_import
from vgbench.bench.video import Video
from vgbench.metrics.quality.psnr_ssim import check_pair
from vgbench.metrics.base import ItemScore, Metric, MetricKind

torch = lazy_import("torch")


MODEL = "vmaf_v0.6.1"
_CHUNK = 16


def find_ffmpeg() -> str:
    """Path of an ffmpeg binary with the libvmaf filter, or a ConfigError saying how to get one."""
    candidates = []
    from vgbench.bench import settings

    if settings.ffmpeg():
        candidates.append(settings.ffmpeg())
    try:
        import imageio_ffmpeg

        candidates.append(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        pass
    if shutil.which("ffmpeg"):
        candidates.append(shutil.which("ffmpeg"))
    for exe in candidates:
        try:
            out = subprocess.run([exe, "-hide_banner", "-filters"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        if " libvmaf " in out:
            return exe
    raise ConfigError("VMAF needs an ffmpeg built with libvmaf: `pip install imageio-ffmpeg` (its binary has it), "
                      "or point VGBENCH_FFMPEG at one" + (f"; tried {', '.join(candidates)}" if candidates else ""))


def ffmpeg_version(exe: str) -> str:
    out = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=30).stdout
    first = out.splitlines()[0] if out else ""
    return first.split(" Copyright")[0].replace("ffmpeg version ", "")


def _run_libvmaf(cmd_before_log: list[str], graph_head: str, t: int, exe: str, threads: int | None,
                 feed=None) -> list[float]:
    """Run ``ffmpeg`` with a filter graph ending in libvmaf; returns the per-frame VMAF (``t`` frames expected)."""
    with tempfile.TemporaryDirectory(prefix="vgbench-vmaf-") as tmp:
        log = os.path.join(tmp, "vmaf.json")
        graph = (f"{graph_head}libvmaf=model=version={MODEL}:log_fmt=json:log_path={log}"
                 f":n_threads={threads or os.cpu_count() or 1}")
        cmd = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", *cmd_before_log, "-lavfi", graph, "-f", "null",
               "-"]
        with open(os.path.join(tmp, "stderr.txt"), "w+b") as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err)
            failure: list[BaseException] = []
            if feed:
                writer = threading.Thread(target=feed, args=(proc, failure), daemon=True)
                writer.start()
                writer.join()
            rc = proc.wait()
            err.seek(0)
            message = err.read().decode("utf-8", "replace").strip()
        if rc != 0 or not os.path.exists(log):
            raise MetricError(f"ffmpeg libvmaf failed (exit {rc}): {message[-500:] or failure}")
        with open(log, encoding="utf-8") as f:
            doc = json.load(f)
    scores = [float(fr["metrics"]["vmaf"]) for fr in doc.get("frames", [])]
    if len(scores) != t:
        raise MetricError(f"libvmaf scored {len(scores)} frames, expected {t}")
    return scores


def vmaf_per_frame_files(pred: str, target: str, t: int, exe: str, threads: int | None = None) -> list[float]:
    """Per-frame VMAF of the first ``t`` frames of the video file ``pred`` against those of ``target``, read by
    ffmpeg itself (the videos' own pixel formats), frames paired by index."""
    pair = "trim=end_frame={t},settb=AVTB,setpts=N/25/TB".format(t=t)
    return _run_libvmaf(["-i", str(pred), "-i", str(target)], f"[0:v]{pair}[dist];[1:v]{pair}[ref];[dist][ref]",
                        t, exe, threads)


def vmaf_per_frame(pred: torch.Tensor, target: torch.Tensor, exe: str, threads: int | None = None) -> list[float]:
    """Per-frame VMAF of uint8 ``[T,H,W,3]`` frames (first ``min(T)``) against the reference frames."""
    t = check_pair(pred, target)
    h, w = int(pred.shape[1]), int(pred.shape[2])

    def feed(proc, failure):
        try:
            for s in range(0, t, _CHUNK):
                e = min(t, s + _CHUNK)
                proc.stdin.write(torch.cat([pred[s:e], target[s:e]], dim=1).contiguous().numpy().tobytes())
        except (BrokenPipeError, OSError) as e:  # ffmpeg died: its stderr says why
            failure.append(e)
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass

    head = (f"[0:v]split[a][b];[a]crop={w}:{h}:0:0,format=yuv420p[dist];"
            f"[b]crop={w}:{h}:0:{h},format=yuv420p[ref];[dist][ref]")
    return _run_libvmaf(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{2 * h}", "-r", "25", "-i", "pipe:0"],
                        head, t, exe, threads, feed=feed)


class VMAF(Metric):
    """VMAF of generated vs reference frames, 0–100. Higher is better."""

    name = "vmaf"
    summary = "VMAF v0.6.1 (ffmpeg libvmaf) vs a reference video"
    kind = MetricKind.PAIRED
    higher_is_better = True
    needs_reference = True
    aggregation = "frame"
    unit = "VMAF"
    value_range = (0.0, 100.0)
    protocols = {"v0.6.1": "ffmpeg libvmaf, model vmaf_v0.6.1, all frames, the files' own YUV (ffmpeg -lavfi "
                           "libvmaf on the files), mean of frames"}
    revisions = {"v0.6.1": 2}
    revision_notes = {"v0.6.1": {2: "revision 2 (vgbench 0.2): libvmaf reads the files themselves, as the ffmpeg "
                                    "command line does (was: decoded RGB converted back to yuv420p, which rounds "
                                    "yuv420p videos)"}}

    def load(self, allow_random: bool | None = None, device: str | None = None, weights=None) -> None:
        self.exe = find_ffmpeg()
        self.backbone = f"libvmaf {MODEL} ({ffmpeg_version(self.exe)})"

    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        if reference is None:
            raise MetricError("VMAF needs a reference video")
        if not hasattr(self, "exe"):
            self.load()
        t = check_pair(video.frames, reference.frames)
        if video.complete and reference.complete and video.path and reference.path:
            per_frame = vmaf_per_frame_files(video.path, reference.path, t, self.exe)
            source = "files"
        else:
            per_frame = vmaf_per_frame(video.frames, reference.frames, self.exe)
            source = "decoded RGB frames as yuv420p"
        extra = {"frames_compared": len(per_frame), "per_frame": [round(v, 4) for v in per_frame], "input": source}
        if video.num_frames != reference.num_frames:
            extra["frame_count_mismatch"] = [video.num_frames, reference.num_frames]
        return ItemScore(sum(per_frame) / len(per_frame), float(len(per_frame)), extra)
