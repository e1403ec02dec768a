"""VMAF (Netflix) of a generated video against its reference, through ffmpeg's ``libvmaf`` filter.

``vmaf/v0.6.1`` (the only protocol): libvmaf's built-in ``vmaf_v0.6.1`` model, default features, every frame
(``n_subsample=1``); the per-item value is the mean of the per-frame VMAF scores (libvmaf's ``pooled_metrics``
mean); the set value is the mean over all frame pairs (frame-weighted). Scores are in [0, 100]; a video against
itself scores ≈ 99–100 (VMAF is not exactly 100 on identical input).

The decoded RGB frames (the same frames every other metric sees) are streamed to ffmpeg through one pipe, generated
frame on top of reference frame, and split again in the filter graph; each half is converted to ``yuv420p`` by
ffmpeg's default scaler (BT.601, limited range), as ``ffmpeg -pix_fmt yuv420p`` would. Videos of different lengths
are compared over their first ``min(T)`` frames; different sizes are an item error.

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

import torch

from bench.errors import ConfigError, MetricError
from bench.video import Video
from metrics.quality.psnr_ssim import check_pair
from metrics.base import ItemScore, Metric, MetricKind

MODEL = "vmaf_v0.6.1"
_CHUNK = 16


def find_ffmpeg() -> str:
    """Path of an ffmpeg binary with the libvmaf filter, or a ConfigError saying how to get one."""
    candidates = []
    if os.environ.get("VGBENCH_FFMPEG"):
        candidates.append(os.environ["VGBENCH_FFMPEG"])
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


def vmaf_per_frame(pred: torch.Tensor, target: torch.Tensor, exe: str, threads: int | None = None) -> list[float]:
    """Per-frame VMAF of uint8 ``[T,H,W,3]`` frames (first ``min(T)``) against the reference frames."""
    t = check_pair(pred, target)
    h, w = int(pred.shape[1]), int(pred.shape[2])
    with tempfile.TemporaryDirectory(prefix="vgbench-vmaf-") as tmp:
        log = os.path.join(tmp, "vmaf.json")
        graph = (f"[0:v]split[a][b];[a]crop={w}:{h}:0:0,format=yuv420p[dist];"
                 f"[b]crop={w}:{h}:0:{h},format=yuv420p[ref];"
                 f"[dist][ref]libvmaf=model=version={MODEL}:log_fmt=json:log_path={log}"
                 f":n_threads={threads or os.cpu_count() or 1}")
        cmd = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{w}x{2 * h}", "-r", "25", "-i", "pipe:0", "-lavfi", graph, "-f", "null", "-"]
        with open(os.path.join(tmp, "stderr.txt"), "w+b") as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
            failure: list[BaseException] = []

            def feed():
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

            writer = threading.Thread(target=feed, daemon=True)
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


class VMAF(Metric):
    """VMAF of generated vs reference frames, 0–100. Higher is better."""

    name = "vmaf"
    kind = MetricKind.PAIRED
    higher_is_better = True
    needs_reference = True
    aggregation = "frame"
    unit = "VMAF"
    value_range = (0.0, 100.0)
    protocols = {"v0.6.1": "ffmpeg libvmaf, model vmaf_v0.6.1, all frames, yuv420p from RGB, mean of frames"}

    def load(self, allow_random: bool | None = None, device: str | None = None, weights=None) -> None:
        self.exe = find_ffmpeg()
        self.backbone = f"libvmaf {MODEL} ({ffmpeg_version(self.exe)})"

    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        if reference is None:
            raise MetricError("VMAF needs a reference video")
        if not hasattr(self, "exe"):
            self.load()
        per_frame = vmaf_per_frame(video.frames, reference.frames, self.exe)
        extra = {"frames_compared": len(per_frame), "per_frame": [round(v, 4) for v in per_frame]}
        if video.num_frames != reference.num_frames:
            extra["frame_count_mismatch"] = [video.num_frames, reference.num_frames]
        return ItemScore(sum(per_frame) / len(per_frame), float(len(per_frame)), extra)
