"""DOVER video quality: technical and aesthetic scores and their fusion (metric-recipes §6).

Views, as ``dover.yml`` (``val-l1080p``) and ``dover/datasets/dover_datasets.py`` build them:

* **technical**: ``UnifiedFrameSampler(32, 3, 2)``: 3 segments of ``⌊T/3⌋`` frames, in each 32 frames at stride 2
  from a random start in ``[0, ⌊T/3⌋ − 64)`` (0 when the segment is shorter), indices mod T. Spatial fragments:
  a 7×7 grid of 32×32 patches pasted into 224×224, one random offset per grid cell and 32-frame chunk inside cells
  of ``⌊H/7⌋×⌊W/7⌋``. If ``min(H, W) < 224`` the video is first upsampled (bilinear, by ``1/ratio``, truncated back to
  uint8), while the grid keeps using the *original* size, as the released code does.
* **aesthetic**: ``UnifiedFrameSampler(1, 32, 2)``: one frame from each of 32 segments of ``⌊T/32⌋`` frames (random
  offset in ``[0, ⌊T/32⌋ − 2)``); with fewer than 32 frames every index is 0, as released. Squash-resized to 224×224
  (bilinear with antialiasing, uint8).
* both normalised with ImageNet mean (123.675, 116.28, 103.53) and std (58.395, 57.12, 57.375) on 0–255; technical
  frames split into 3 clips of 32.

The reference draws its offsets from unseeded global generators; here they come from ``numpy.random.RandomState``
and a ``torch.Generator`` seeded with the ``seed`` option (default 0), so a score is reproducible.

Fusion (raw branch scores ``tech``, ``aes`` = mean of each head's output map):

``dover/official`` (default; ``evaluate_a_set_of_videos.py``)
    ``t = (tech − 0.1107)/0.07355``, ``a = (aes + 0.08285)/0.03774``; overall ``σ(0.6104·t + 0.3896·a)``,
    technical ``σ(t)``, aesthetic ``σ(a)``, all in [0, 1].
``dover/evalcrafter``
    EvalCrafter's constants fitted on generated videos: ``t = (tech + 0.0758)/0.0129``,
    ``a = (aes − 0.1253)/0.0318``; VQA_T = 100·σ(t), VQA_A = 100·σ(a), overall 100·σ(0.6104·t + 0.3896·a).

Option ``branch`` = ``overall`` (default) | ``technical`` | ``aesthetic`` picks the value; every item stores all
three (and the raw scores), and the result's details give the mean of each.
"""
from __future__ import annotations

import math

import numpy as np

from vgbench.bench.lazy import lazy_import
from vgbench.bench.video import Video
from vgbench.metrics.base import ItemScore, MetricKind, MetricOption
from vgbench.metrics.model_metric import BackboneMetric

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")


MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)

#: name → (tech offset, tech scale, aes offset, aes scale, output scale): t = (tech + off)/scale
FUSION = {
    "official": (-0.1107, 0.07355, 0.08285, 0.03774, 1.0),
    "evalcrafter": (0.0758, 0.0129, -0.1253, 0.0318, 100.0),
}
FUSION_WEIGHTS = (0.6104, 0.3896)  # technical, aesthetic


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def fuse(technical_raw: float, aesthetic_raw: float, protocol: str = "official") -> dict[str, float]:
    """Functional form of the fusion: raw branch scores → technical, aesthetic and overall scores."""
    t_off, t_scale, a_off, a_scale, out = FUSION[protocol]
    t = (technical_raw + t_off) / t_scale
    a = (aesthetic_raw + a_off) / a_scale
    return {"technical": out * _sigmoid(t), "aesthetic": out * _sigmoid(a),
            "overall": out * _sigmoid(FUSION_WEIGHTS[0] * t + FUSION_WEIGHTS[1] * a)}


def unified_frame_indices(num_frames: int, fsize_t: int, fragments_t: int, frame_interval: int,
                          rng: np.random.RandomState, num_clips: int = 1) -> np.ndarray:
    """DOVER's ``UnifiedFrameSampler(fsize_t, fragments_t, frame_interval, num_clips)(num_frames)``."""
    out = []
    for _ in range(num_clips):
        tlength = num_frames // fragments_t
        tgrids = np.array([tlength * i for i in range(fragments_t)], dtype=np.int32)
        if tlength > fsize_t * frame_interval:
            rnd = rng.randint(0, tlength - fsize_t * frame_interval, size=len(tgrids))
        else:
            rnd = np.zeros(len(tgrids), dtype=np.int32)
        out.append((np.arange(fsize_t)[None, :] * frame_interval + rnd[:, None] + tgrids[:, None]).reshape(-1))
    return (np.mod(np.concatenate(out), num_frames)).astype(np.int64)


def spatial_fragments(video: torch.Tensor, gen: torch.Generator, fragments: int = 7, fsize: int = 32,
                      aligned: int = 32) -> torch.Tensor:
    """DOVER's ``get_spatial_fragments`` on uint8 ``[C, T, H, W]`` → float ``[C, T, 224, 224]`` (0–255 values)."""
    dur_t, res_h, res_w = video.shape[-3:]
    size = fragments * fsize
    ratio = min(res_h / size, res_w / size)
    if ratio < 1:
        video = (F.interpolate(video / 255.0, scale_factor=1 / ratio, mode="bilinear") * 255.0).to(torch.uint8)
    if video.shape[1] == 1:
        aligned = 1
    n_t = dur_t // aligned
    hgrids = [min(res_h // fragments * i, res_h - fsize) for i in range(fragments)]
    wgrids = [min(res_w // fragments * i, res_w - fsize) for i in range(fragments)]
    hlength, wlength = res_h // fragments, res_w // fragments
    rnd_h = (torch.randint(hlength - fsize, (fragments, fragments, n_t), generator=gen) if hlength > fsize
             else torch.zeros((fragments, fragments, n_t), dtype=torch.int64))
    rnd_w = (torch.randint(wlength - fsize, (fragments, fragments, n_t), generator=gen) if wlength > fsize
             else torch.zeros((fragments, fragments, n_t), dtype=torch.int64))
    target = torch.zeros(video.shape[:-2] + (size, size))
    for i, hs in enumerate(hgrids):
        for j, ws in enumerate(wgrids):
            for t in range(n_t):
                h0, w0 = hs + int(rnd_h[i, j, t]), ws + int(rnd_w[i, j, t])
                target[:, t * aligned:(t + 1) * aligned, i * fsize:(i + 1) * fsize, j * fsize:(j + 1) * fsize] = \
                    video[:, t * aligned:(t + 1) * aligned, h0:h0 + fsize, w0:w0 + fsize]
    return target


def resize_squash(video: torch.Tensor, size: int = 224) -> torch.Tensor:
    """torchvision ``Resize((size, size))`` on uint8 ``[C, T, H, W]`` (bilinear, antialias) → uint8.

    Computed as float interpolation rounded back to uint8, one path whatever is installed; on the inputs checked
    (QCIF and 720p random frames) it equals ``torchvision.transforms.functional.resize`` exactly.
    """
    x = video.permute(1, 0, 2, 3).float()
    y = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return y.round().clamp(0, 255).to(torch.uint8).permute(1, 0, 2, 3)


def _normalise(v: torch.Tensor, num_clips: int) -> torch.Tensor:
    """``[C, T, H, W]`` 0–255 → ImageNet-normalised clips ``[num_clips, C, T/num_clips, H, W]``."""
    mean, std = torch.tensor(MEAN), torch.tensor(STD)
    x = ((v.permute(1, 2, 3, 0).float() - mean) / std).permute(3, 0, 1, 2)
    c, t, h, w = x.shape
    return x.reshape(c, num_clips, t // num_clips, h, w).permute(1, 0, 2, 3, 4).contiguous()


def dover_views(frames: torch.Tensor, seed: int = 0, branches=("technical", "aesthetic")) -> dict[str, torch.Tensor]:
    """uint8 ``[T,H,W,3]`` → normalised views: technical ``[3,3,32,224,224]``, aesthetic ``[1,3,32,224,224]``."""
    rng = np.random.RandomState(seed)
    gen = torch.Generator().manual_seed(seed)
    n = frames.shape[0]
    tech_idx = unified_frame_indices(n, 32, 3, 2, rng)
    aes_idx = unified_frame_indices(n, 1, 32, 2, rng)
    views = {}
    if "technical" in branches:
        v = frames[torch.from_numpy(tech_idx)].permute(3, 0, 1, 2)
        views["technical"] = _normalise(spatial_fragments(v, gen), 3)
    if "aesthetic" in branches:
        v = frames[torch.from_numpy(aes_idx)].permute(3, 0, 1, 2)
        views["aesthetic"] = _normalise(resize_squash(v), 1)
    return views


class DOVERScore(BackboneMetric):
    """DOVER video quality (no reference, no prompt). Higher is better."""

    name = "dover"
    summary = "DOVER video quality: technical, aesthetic, overall"
    needs_download = True
    kind = MetricKind.PER_ITEM
    higher_is_better = True
    protocols = {
        "official": "DOVER.pth, dover.yml views, official fusion constants; scores in [0,1]",
        "evalcrafter": "DOVER.pth, same views, EvalCrafter's constants (fitted on generated videos); 0-100",
    }
    options = {
        "branch": MetricOption("overall", "overall | technical | aesthetic: which score is the value"),
        "seed": MetricOption("0", "seed of the fragment and frame samplers"),
    }

    def __init__(self, protocol: str | None = None, options: dict[str, str] | None = None):
        super().__init__(protocol, options)
        self.check_choice("branch", ("overall", "technical", "aesthetic"))
        self.seed = int(self.opts["seed"])
        scale = FUSION[self.protocol][4]
        self.value_range = (0.0, scale)
        self.unit = "" if scale == 1.0 else "0-100"

    def backbones_needed(self) -> list[str]:
        return ["dover"]

    def raw_scores(self, frames: torch.Tensor) -> dict[str, float]:
        branch = self.opts["branch"]
        branches = ("technical", "aesthetic") if branch == "overall" else (branch,)
        views = dover_views(frames, self.seed, branches)
        model = self.net("dover")
        return model.branch_scores(views["technical"].to(self.device) if "technical" in views else None,
                                   views["aesthetic"].to(self.device) if "aesthetic" in views else None)

    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        raw = self.raw_scores(video.frames)
        fused = fuse(raw.get("technical", 0.0), raw.get("aesthetic", 0.0), self.protocol)
        branch = self.opts["branch"]
        extra = {"raw": raw, **{k: v for k, v in fused.items() if k == branch or branch == "overall"}}
        return ItemScore(fused[branch], 1.0, extra)

    def compute(self):
        result = super().compute()
        for k in ("technical", "aesthetic", "overall"):
            vals = [s.extra[k] for s in self._items.values() if k in s.extra]
            if vals and len(vals) == len(self._items):
                result.details[f"mean_{k}"] = math.fsum(vals) / len(vals)
        return result
