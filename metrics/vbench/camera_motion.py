"""VBench-I2V camera motion: does the video move the camera the way the prompt says (pan, tilt, zoom, static)?

Rules (vbench-exact, golden-tested): Vchitect/VBench@45e79ec14e69 ``vbench2_beta_i2v/camera_motion.py``
(``CameraPredict.predict`` / ``camera_classify``) with CoTracker's grid (``get_points_on_a_grid(10, (384, 512))``,
scaled to the video by ``((W−1)/511, (H−1)/383)`` as its predictor does). Of the 10×10 grid tracked from the first
frame, four points decide: the middle of the top row, of the bottom row, of the left and of the right column. Each
moves by (last − first), positions truncated to integers (``.long()``); a move of more than ``0.005·min(H, W)`` px
right / left / down / up gives that direction, else ``static``. Top+bottom and left+right directions map to labels
(``left_left`` → pan_right, ``right_right`` → pan_left, ``down_down`` → tilt_up, ``up_up`` → tilt_down, top ``up`` +
bottom ``down`` or left ``left`` + right ``right`` → zoom_in, the reverse → zoom_out, ``static_static`` → static);
``static`` or ``None`` is dropped when another label is present. The video scores 1 when the prompt's label is among
the labels, else 0; the dimension is the mean. The label is the prompt's ``aux: {camera_motion: {camera_motion:
pan_left}}`` when the suite gives one, else read from the prompt text as VBench reads it from the video's name
(the phrases "camera pans left", "camera pans right", "camera tilts up/down", "camera zooms in/out", "camera static").

Tracker: ``@tracker=cotracker2`` (the default, **vbench-exact**): CoTracker 2.0
(:mod:`vgbench.metrics.backbones.cotracker`, weights ``cotracker2``) on the video's frames as VBench's ``infer``
passes them (full resolution, float 0–255), equal to VBench's vendored CoTracker2 predictor (golden
``tests/golden/camera_motion/vbench``). VBench itself loads ``cotracker2`` through torch.hub from
``facebookresearch/co-tracker``'s main branch at run time; its vendored copy at the pinned commit is the reference
here. ``@tracker=lk`` (**vbench-style**, weightless): the four points tracked with pyramidal Lucas–Kanade (OpenCV,
frame to frame).
"""
from __future__ import annotations

import math

import numpy as np

from vgbench.bench.errors import MetricError
from vgbench.bench.video import Video
from vgbench.metrics.base import ItemScore, MetricKind, MetricOption
from vgbench.metrics.model_metric import BackboneMetric

GRID = 10
#: CoTracker2's working resolution (H, W): the grid is laid out there, then scaled to the video
INTERP = (384, 512)
_TOP_DOWN = {"left_left": "pan_right", "right_right": "pan_left", "down_down": "tilt_up", "up_up": "tilt_down",
             "up_down": "zoom_in", "down_up": "zoom_out", "static_static": "static"}
_LEFT_RIGHT = {"left_left": "pan_right", "right_right": "pan_left", "down_down": "tilt_up", "up_up": "tilt_down",
               "left_right": "zoom_in", "right_left": "zoom_out", "static_static": "static"}
LABELS = ("pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in", "zoom_out", "static")


def grid_points(height: int, width: int, size: int = GRID) -> np.ndarray:
    """``[size², 2]`` (x, y) float32: CoTracker's ``get_points_on_a_grid(size, (384, 512))`` (margin 512/64, row-major)
    scaled to a ``width``×``height`` video."""
    import torch

    h, w = INTERP
    margin = w / 64
    gy, gx = torch.meshgrid(torch.linspace(margin, h - margin, size), torch.linspace(margin, w - margin, size),
                            indexing="ij")
    pts = torch.stack([gx, gy], dim=-1).reshape(-1, 2)  # float32, as CoTracker's predictor
    return (pts * pts.new_tensor([(width - 1) / (w - 1), (height - 1) / (h - 1)])).numpy()


def edge_indices(size: int = GRID) -> dict[str, int]:
    """Flat grid indices of the four deciding points (VBench's ``get_edge_point`` with one point per edge)."""
    mid = math.ceil(size // 2 - 0.5)
    return {"top": mid, "down": (size - 1) * size + mid, "left": mid * size, "right": mid * size + size - 1}


def _directions(move, min_side: int) -> list[str]:
    """One edge point's move → ``right``/``left`` and ``down``/``up`` (VBench's ``transform_class``)."""
    scale = min_side * 0.005
    x, y = move
    out = []
    if x > scale:
        out.append("right")
    elif x < -scale:
        out.append("left")
    if y > scale:
        out.append("down")
    elif y < -scale:
        out.append("up")
    return out or ["static"]


def camera_labels(first: np.ndarray, last: np.ndarray, min_side: int, size: int = GRID) -> list[str]:
    """VBench's ``camera_classify``: grid positions ``[size², 2]`` at the first and last frame (already truncated to
    integers, as VBench's ``.long()``) → the sorted set of camera labels (``["None"]`` when no rule applies)."""
    idx = edge_indices(size)
    d = {k: _directions((float(last[i][0] - first[i][0]), float(last[i][1] - first[i][1])), min_side)
         for k, i in idx.items()}
    top_down = [_TOP_DOWN[f"{t}_{b}"] for t in d["top"] for b in d["down"] if f"{t}_{b}" in _TOP_DOWN] or ["None"]
    left_right = [_LEFT_RIGHT[f"{a}_{b}"] for a in d["left"] for b in d["right"] if f"{a}_{b}" in _LEFT_RIGHT] \
        or ["None"]
    out = set(top_down + left_right)
    for weak in ("static", "None"):
        if weak in out and len(out) > 1:
            out.discard(weak)
    return sorted(out)


def truncate(points: np.ndarray) -> np.ndarray:
    """torch's ``.long()`` on float positions: toward zero."""
    return np.trunc(points).astype(np.int64)


class CameraMotion(BackboneMetric):
    """VBench-I2V camera motion (VBench's rules; CoTracker2 tracks, vbench-exact, or Lucas–Kanade, vbench-style), 0 or
    1 per video. Higher is better."""

    name = "camera_motion"
    summary = "VBench-I2V camera motion (CoTracker2 tracks and VBench's pan/tilt/zoom/static rules, vbench-exact; " \
              "@tracker=lk: Lucas-Kanade, weightless, vbench-style)"
    needs_download = True
    dimension = "camera_motion"
    kind = MetricKind.PER_ITEM
    higher_is_better = True
    needs_aux = True
    needs_prompt = True
    value_range = (0.0, 1.0)
    protocols = {"vbench": "10x10 point grid laid out as CoTracker's, tracked by the tracker option (CoTracker2 by "
                           "default, or Lucas-Kanade); the four mid-edge points from the first to the last frame; "
                           "VBench's direction and label rules; 1 when the prompt's camera label is predicted"}
    options = {"tracker": MetricOption("cotracker2", "point tracker: cotracker2 (VBench's, vbench-exact) or lk "
                                                     "(Lucas-Kanade, weightless, vbench-style)")}

    def __init__(self, protocol: str | None = None, options: dict[str, str] | None = None):
        super().__init__(protocol, options)
        self.check_choice("tracker", ("cotracker2", "lk"))
        self.fidelity = "vbench-exact" if self.opts["tracker"] == "cotracker2" else "vbench-style"

    def backbones_needed(self) -> list[str]:
        return ["cotracker2"] if self.opts["tracker"] == "cotracker2" else []

    def load(self, allow_random: bool | None = None, device: str | None = None, weights=None) -> None:
        super().load(allow_random, device, weights)
        if self.opts["tracker"] == "lk":
            self.backbone, self.weights_sha256 = "lucas-kanade", None

    def _tracks(self, video: Video, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the grid at the first and at the last frame, ``[n², 2]`` float."""
        if self.opts["tracker"] == "lk":
            from vgbench.metrics.distribution.motion_features import LucasKanadeTracker

            idx = list(edge_indices().values())
            track = LucasKanadeTracker().track(video.frames.numpy().astype(np.float32), pts[idx].astype(np.float64))
            last = pts.copy()
            last[idx] = track[-1]
            return pts, last

        x = video.frames.permute(0, 3, 1, 2).float().to(self.device)
        tracks = self.net("cotracker2").track_grid(x, GRID).cpu().numpy()
        return tracks[0], tracks[-1]

    def score(self, video: Video, reference=None, prompt=None, aux: dict | None = None) -> ItemScore:
        from vgbench.bench.vbench_labels import camera_label
        from vgbench.metrics.vbench.semantic import aux_value

        label = aux_value(aux, "camera_motion")
        if isinstance(label, dict):
            label = label.get("camera_motion")
        label = label or camera_label(prompt or "")
        if label not in LABELS:
            raise MetricError(
                f"camera_motion needs the prompt's camera label, one of {', '.join(LABELS)} "
                f"({'it has none' if label is None else f'not {label!r}'}). Name the "
                "motion in the prompt as VBench-I2V does ('..., camera pans left') or give it in the suite as "
                "aux: {camera_motion: {camera_motion: pan_left}}")
        if video.num_frames < 2:
            raise MetricError("camera_motion needs at least 2 frames")
        h, w = video.height, video.width
        first, last = (truncate(p) for p in self._tracks(video, grid_points(h, w)))
        predicted = camera_labels(first, last, min(h, w))
        return ItemScore(1.0 if label in predicted else 0.0, 1.0,
                         {"fidelity": self.fidelity, "label": label, "predicted": predicted,
                          "moves": {k: [int(a) - int(b) for a, b in zip(last[i], first[i])]
                                    for k, i in edge_indices().items()}})
