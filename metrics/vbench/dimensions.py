"""VBench dimensions that run a network, with VBench's recipes (metric-recipes §8).

Each metric's protocol is ``vbench`` and every item and result records ``fidelity``: ``vbench-exact`` (same
architecture, loads the official weights, same recipe) for all dimensions here.

* ``subject_consistency`` (DINO ViT-B/16): every frame through ``dino_transform(224)`` (shorter side 224, bilinear,
  no antialias, no crop, on float frames, /255, ImageNet mean/std); class tokens L2-normalised; for frame i ≥ 1
  ``(max(0, cos(f_{i-1}, f_i)) + max(0, cos(f_0, f_i))) / 2``; the video value is the mean over its T−1 pairs and
  the dimension is **frame-weighted** (Σ over all pairs / number of pairs), so each item weighs T−1.
* ``background_consistency`` (CLIP ViT-B/32, ``clip_transform(224)``): the same formula on CLIP image features;
  frame-weighted.
* ``appearance_style`` (CLIP ViT-B/32): every frame through ``clip_transform_Image(224)`` (PIL bicubic, centre
  crop); VBench's ``logits_per_text/100`` with the prompt's ``aux.appearance_style`` text: the float32 cosine times
  ``exp(logit_scale)/100`` (the checkpoint's logit scale, 100 only up to its rounding); frame-weighted.
* ``aesthetic_quality`` (CLIP ViT-L/14 + the LAION linear head): every frame (batches of 32),
  ``clip_transform(224)`` on float frames, L2-normalised image features → ``Linear(768, 1)`` → ``/10``; video = mean
  over frames; dimension = mean over videos.

Which dtype each transform receives follows VBench's code (Vchitect/VBench@45e79ec14e69): ``load_video`` returns a
float32 tensor, so the DINO, CLIP (background, aesthetic) and MUSIQ resizes are float resizes without rounding; only
the ViCLIP dimensions read uint8 frames (``read_frames_decord_by_fps``), whose resize is rounded back to uint8.
* ``motion_smoothness`` (AMT-S): the even frames 0, 2, 4, … are interpolated pairwise at ``embt = 0.5`` (frames in
  [0, 1], replicate-padded to multiples of 16, unpadded, then VBench's ``tensor2img``: ×255, clip, **truncate** to
  uint8) and compared with the odd frames 1, 3, 5, …: ``mean |odd − interpolated|`` per pair; the video value is
  ``(255 − mean over pairs)/255``; the dimension is the mean over videos. The scale factor is 1.0 (VBench lowers it
  only on GPUs short of memory).
* ``imaging_quality`` (MUSIQ-SPAQ): every frame; VBench's default ``longer`` preprocessing caps the longer side at
  512 (bilinear without antialias on the float frames, ``int(scale·h) × int(scale·w)``), /255; video = mean MOS over
  frames;
  the dimension is the mean over videos **/100** (the value reported here is already /100).
* ``dynamic_degree`` (RAFT things): frames every ``max(1, round(fps/8))``; for each consecutive sampled pair RAFT
  (20 iterations, replicate-padded to multiples of 8) and the mean of the top 5 % flow magnitudes; a video is dynamic
  when at least ``round(4·N/16)`` pairs exceed ``6·min(H, W)/256`` (N = sampled frames); the value is 1 or 0 and
  the dimension is the fraction of dynamic videos.

:func:`is_static` is VBench's static filter for temporal flickering (RAFT on consecutive frames and on the
first/last wrap-around pairs, top 2 % magnitudes, threshold ``3·min(H, W)/256``).
"""
from __future__ import annotations

import math


from vgbench.bench.errors import MetricError
from vgbench.bench.lazy import lazy_import, no_grad
from vgbench.bench.video import Video
from vgbench.metrics.alignment.viclip_score import ViCLIPScore, vbench_clip_transform
from vgbench.metrics.base import ItemScore, MetricKind
from vgbench.metrics.model_metric import BackboneMetric
from vgbench.metrics.vbench.table import DIMENSIONS, dimension_specs  # noqa: F401  (re-exported)

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")


EXACT = "vbench-exact"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_BATCH = 32


def dino_transform(frames: torch.Tensor, size: int = 224) -> torch.Tensor:
    """uint8 ``[T,H,W,3]`` → float32 ``[T,3,h,w]``: VBench ``dino_transform`` as ``subject_consistency`` applies it
    (Vchitect/VBench@45e79ec14e69 ``vbench/utils.py``): ``load_video`` returns **float32** frames (``torch.Tensor`` of
    the uint8 array), so the resize (shorter side ``size``, bilinear, no antialias, no crop) works on floats with no
    rounding or clamping; then /255 and ImageNet mean/std."""
    x = frames.permute(0, 3, 1, 2).float()
    h, w = x.shape[-2:]
    nh, nw = (int(size * h / w), size) if w <= h else (size, int(size * w / h))
    if (nh, nw) != (h, w):
        x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=False)
    x = x / 255.0
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def consistency_scores(features: torch.Tensor) -> list[float]:
    """VBench's per-frame consistency ``(max(0,cos(prev,i)) + max(0,cos(first,i)))/2`` for frames 1..T-1, computed
    as ``subject_consistency.py`` / ``background_consistency.py`` do: float32 features L2-normalised
    (``F.normalize``), ``F.cosine_similarity`` in float32, each value taken as a Python float."""
    f = F.normalize(features.float(), dim=-1, p=2)
    prev = F.cosine_similarity(f[:-1], f[1:], dim=-1)
    first = F.cosine_similarity(f[:1].expand_as(f[1:]), f[1:], dim=-1)
    return [(max(0.0, float(p)) + max(0.0, float(q))) / 2 for p, q in zip(prev, first)]


class _Consistency(BackboneMetric):
    fidelity = EXACT
    kind = MetricKind.PER_ITEM
    higher_is_better = True
    aggregation = "frame"
    value_range = (0.0, 1.0)

    #: name of the (backbone, transform) pair whose per-frame features other dimensions of the pass may reuse
    feature_key: str = ""

    def features(self, frames: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        from vgbench.bench.features import memo

        if video.num_frames < 2:
            raise MetricError(f"{self.name} needs at least 2 frames")
        net = self.net(self.backbones_needed()[0])
        per = consistency_scores(memo(video, (self.feature_key, id(net)), lambda: self.features(video.frames)))
        return ItemScore(math.fsum(per) / len(per), float(len(per)),
                         {"fidelity": EXACT, "per_frame": [round(v, 6) for v in per]})


class SubjectConsistency(_Consistency):
    """VBench subject consistency (DINO ViT-B/16), frame-weighted, in [0, 1]. Higher is better."""

    name = "subject_consistency"
    summary = "VBench subject consistency (DINO ViT-B/16), vbench-exact"
    needs_download = True
    dimension = "subject_consistency"
    feature_key = "dino_vitb16/dino_transform"
    revisions = {"vbench": 2}
    revision_notes = {"vbench": {2: "revision 2 (vgbench 0.2): VBench's dino_transform works on float frames (no rounding after the resize); float32 cosines as VBench"}}
    protocols = {"vbench": "DINO ViT-B/16 class tokens, (max(0,cos prev)+max(0,cos first))/2, frame-weighted"}

    def backbones_needed(self) -> list[str]:
        return ["dino_vitb16"]

    def features(self, frames):
        model = self.net("dino_vitb16")
        return torch.cat([model(dino_transform(frames[s:s + _BATCH]).to(self.device)).cpu()
                          for s in range(0, frames.shape[0], _BATCH)])


class BackgroundConsistency(_Consistency):
    """VBench background consistency (CLIP ViT-B/32 image features), frame-weighted. Higher is better."""

    name = "background_consistency"
    summary = "VBench background consistency (CLIP ViT-B/32), vbench-exact"
    needs_download = True
    requires = ('open_clip',)
    dimension = "background_consistency"
    feature_key = "clip_vit_b32/clip_transform"
    revisions = {"vbench": 2}
    revision_notes = {"vbench": {2: "revision 2 (vgbench 0.2): VBench's clip_transform works on float frames here (no rounding or clamping after the resize); float32 cosines as VBench"}}
    protocols = {"vbench": "CLIP ViT-B/32 clip_transform(224) features, same formula as subject consistency"}

    def backbones_needed(self) -> list[str]:
        return ["clip_vit_b32_openai"]

    def features(self, frames):
        return clip_b32_features(self.net("clip_vit_b32_openai"), frames)


def clip_b32_features(model, frames: torch.Tensor) -> torch.Tensor:
    """CLIP image features of every frame through VBench's ``clip_transform(224)`` on float frames (as
    ``background_consistency.py`` feeds it ``load_video``'s float32 tensor), in batches of 32 (VBench passes the whole
    video as one batch; batch composition moves features by float32 rounding only, ~1e-7)."""
    from vgbench.metrics.backbones.clip import encode_images

    return torch.cat([encode_images(model, vbench_clip_transform(frames[s:s + _BATCH], quantize=False)).cpu()
                      for s in range(0, frames.shape[0], _BATCH)])


class AppearanceStyle(BackboneMetric):
    """VBench appearance style: CLIP ViT-B/32 cosine of each frame with the style text; frame-weighted."""

    fidelity = EXACT

    name = "appearance_style"
    summary = "VBench appearance style (CLIP ViT-B/32 vs the prompt's style text), vbench-exact"
    needs_download = True
    requires = ('open_clip',)
    dimension = "appearance_style"
    kind = MetricKind.PER_ITEM
    higher_is_better = True
    aggregation = "frame"
    value_range = (-1.0, 1.0)
    needs_aux = True
    revisions = {"vbench": 2}
    revision_notes = {"vbench": {2: "revision 2 (vgbench 0.2): exp(logit_scale)/100 times the cosine, in float32, as VBench's logits_per_text/100 (was the plain cosine)"}}
    protocols = {"vbench": "CLIP ViT-B/32, PIL clip_transform_Image(224), cosine with aux.appearance_style text, "
                           "frame-weighted"}

    def backbones_needed(self) -> list[str]:
        return ["clip_vit_b32_openai"]

    @no_grad
    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None,
              aux: dict | None = None) -> ItemScore:
        from vgbench.metrics.alignment.clip_score import preprocess_clip_pil
        from vgbench.metrics.backbones.clip import encode_images, encode_text, tokenize

        style = ((aux or {}).get("appearance_style") or {})
        text = style.get("appearance_style") if isinstance(style, dict) else style
        if not text:
            raise MetricError("appearance_style needs the prompt's aux.appearance_style text (a VBench-style suite)")
        model = self.net("clip_vit_b32_openai")
        # VBench calls clip_model(image, text) and takes logits_per_text / 100: in float32, features divided by
        # their norms, times exp(logit_scale) (the checkpoint's value, 100 only up to its rounding), then /100
        t = encode_text(model, tokenize(str(text), 77, force_eot=True).ids).float()
        t = t / t.norm(dim=1, keepdim=True)
        scale = model.logit_scale.detach().float().exp().cpu()
        per: list[float] = []
        for s in range(0, video.num_frames, _BATCH):
            f = encode_images(model, preprocess_clip_pil(video.frames[s:s + _BATCH], "round")).float().cpu()
            f = f / f.norm(dim=1, keepdim=True)
            per += [float(v) / 100 for v in ((scale * f) @ t.cpu().t()).squeeze(-1)]
        return ItemScore(math.fsum(per) / len(per), float(len(per)),
                         {"fidelity": EXACT, "style": str(text), "per_frame": [round(v, 6) for v in per]})


class AestheticQuality(BackboneMetric):
    """VBench aesthetic quality: LAION linear head on CLIP ViT-L/14 features /10, mean over frames, then videos."""

    fidelity = EXACT

    name = "aesthetic_quality"
    summary = "VBench aesthetic quality (CLIP ViT-L/14 + LAION head), vbench-exact"
    needs_download = True
    requires = ('open_clip',)
    dimension = "aesthetic_quality"
    kind = MetricKind.PER_ITEM
    higher_is_better = True
    value_range = (0.0, 1.0)
    revisions = {"vbench": 2}
    revision_notes = {"vbench": {2: "revision 2 (vgbench 0.2): VBench's clip_transform works on float frames here (no rounding or clamping after the resize)"}}
    protocols = {"vbench": "CLIP ViT-L/14 clip_transform(224), L2-normalised, LAION linear head /10, video mean"}

    def backbones_needed(self) -> list[str]:
        return ["clip_vit_l14_openai"]

    def head_weights(self) -> list[str]:
        return ["laion_aesthetic_vit_l14"]

    def load(self, allow_random: bool | None = None, device: str | None = None, weights=None) -> None:
        super().load(allow_random, device, weights)
        torch.manual_seed(0)
        self.head = self.load_head("laion_aesthetic_vit_l14", torch.nn.Linear(768, 1), allow_random)

    @no_grad
    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        from vgbench.metrics.backbones.clip import encode_images

        model = self.net("clip_vit_l14_openai")
        vals = []
        for s in range(0, video.num_frames, _BATCH):
            f = encode_images(model, vbench_clip_transform(video.frames[s:s + _BATCH], quantize=False))
            f = F.normalize(f, dim=-1, p=2)
            vals.append(self.head(f.to(self.device)).squeeze(-1).cpu())
        per = torch.cat(vals).float() / 10  # VBench: float32 scores / 10, torch.mean in float32
        return ItemScore(float(torch.mean(per, dim=0)), 1.0,
                         {"fidelity": EXACT, "per_frame": [round(float(v), 6) for v in per]})


def pad_to_multiple(x: torch.Tensor, divisor: int) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """AMT's ``InputPadder``: replicate-pad H and W up to multiples of ``divisor``, split evenly; returns the pads."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % divisor, (-w) % divisor
    pads = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
    return (F.pad(x, list(pads), mode="replicate") if any(pads) else x), pads


class MotionSmoothness(BackboneMetric):
    """VBench motion smoothness (AMT-S frame interpolation), in [0, 1]. Higher is better."""

    fidelity = EXACT

    name = "motion_smoothness"
    summary = "VBench motion smoothness (AMT-S), vbench-exact"
    needs_download = True
    dimension = "motion_smoothness"
    kind = MetricKind.PER_ITEM
    higher_is_better = True
    value_range = (0.0, 1.0)
    protocols = {"vbench": "AMT-S interpolates even frames at t=0.5; (255 - mean |odd - interpolated|)/255"}

    def backbones_needed(self) -> list[str]:
        return ["amt_s"]

    def interpolate(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Middle frame (uint8 ``[H,W,3]``, VBench's truncating ``tensor2img``) between uint8 frames ``a`` and ``b``."""
        x0 = a.permute(2, 0, 1)[None].float() / 255.0
        x1 = b.permute(2, 0, 1)[None].float() / 255.0
        h, w = x0.shape[-2:]
        x0p, pads = pad_to_multiple(x0, 16)
        x1p, _ = pad_to_multiple(x1, 16)
        embt = torch.tensor(0.5).view(1, 1, 1, 1).to(self.device)
        pred = self.net("amt_s")(x0p.to(self.device), x1p.to(self.device), embt).cpu()
        pred = pred[..., pads[2]:pads[2] + h, pads[0]:pads[0] + w]
        return (pred[0].permute(1, 2, 0) * 255.0).clamp(0, 255).to(torch.uint8)

    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        even, odd = video.frames[0::2], video.frames[1::2]
        n = min(len(even) - 1, len(odd))
        if n < 1:
            raise MetricError("motion_smoothness needs at least 3 frames")
        diffs = [float((self.interpolate(even[i], even[i + 1]).int() - odd[i].int()).abs().double().mean())
                 for i in range(n)]
        mean = math.fsum(diffs) / n
        return ItemScore((255.0 - mean) / 255.0, 1.0, {"fidelity": EXACT, "pair_mae": [round(d, 4) for d in diffs]})


class ImagingQuality(BackboneMetric):
    """VBench imaging quality (MUSIQ-SPAQ MOS / 100), mean over frames then videos. Higher is better."""

    fidelity = EXACT

    name = "imaging_quality"
    summary = "VBench imaging quality (MUSIQ-SPAQ), vbench-exact"
    needs_download = True
    dimension = "imaging_quality"
    kind = MetricKind.PER_ITEM
    higher_is_better = True
    value_range = (0.0, 1.0)
    revisions = {"vbench": 2}
    revision_notes = {"vbench": {2: "revision 2 (vgbench 0.2): the resize of a long side over 512 works on float frames (no rounding or clamping), as VBench's load_video gives"}}
    protocols = {"vbench": "MUSIQ-SPAQ on every frame, longer side capped at 512, mean MOS / 100"}

    def backbones_needed(self) -> list[str]:
        return ["musiq_spaq"]

    @staticmethod
    def preprocess(frames: torch.Tensor) -> torch.Tensor:
        """uint8 ``[T,H,W,3]`` → float32 ``[T,3,h,w]`` in [0, 1]: ``imaging_quality.py::transform`` in its default
        ``longer`` mode on the float32 frames ``load_video`` returns: a longer side over 512 is resized to 512
        (``int(scale·h) × int(scale·w)``, bilinear, no antialias, no rounding or clamping), then /255."""
        x = frames.permute(0, 3, 1, 2).float()
        h, w = x.shape[-2:]
        if max(h, w) > 512:
            scale = 512.0 / max(h, w)
            x = F.interpolate(x, size=(int(scale * h), int(scale * w)), mode="bilinear", align_corners=False,
                              antialias=False)
        return x / 255.0

    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        model = self.net("musiq_spaq")
        x = self.preprocess(video.frames)
        per = torch.cat([model(x[i:i + 1].to(self.device)).cpu().flatten() for i in range(x.shape[0])]).double()
        return ItemScore(float(per.mean()) / 100.0, 1.0,
                         {"fidelity": EXACT, "per_frame_mos": [round(float(v), 4) for v in per]})


def flow_top_mean(flow_up: torch.Tensor, fraction: float) -> float:
    """Mean of the top ``fraction`` of flow magnitudes (VBench ``get_score``: ``int(h·w·fraction)`` values)."""
    return _top_mean(flow_up[0].double().pow(2).sum(0).sqrt().flatten(), fraction)


def _top_mean(rad: torch.Tensor, fraction: float) -> float:
    k = int(rad.numel() * fraction)
    if k == 0:
        return 0.0
    return float(torch.topk(rad.double(), k).values.mean())


def _pair_scores(model, frames: torch.Tensor, pairs, fraction: float, device, video=None) -> list[float]:
    """Top-``fraction`` flow means of RAFT (20 iterations, test mode) on ``frames[a] → frames[b]`` per pair. With
    ``video`` (the object ``frames`` belong to) the flow magnitudes are shared with other dimensions of the pass."""
    from vgbench.metrics.backbones.raft import pad_to_multiple_of_8
    from vgbench.bench.features import memo

    def magnitude(a: int, b: int) -> torch.Tensor:
        i1 = pad_to_multiple_of_8(frames[a:a + 1].permute(0, 3, 1, 2).float()).to(device)
        i2 = pad_to_multiple_of_8(frames[b:b + 1].permute(0, 3, 1, 2).float()).to(device)
        _, up = model(i1, i2, iters=20, test_mode=True)
        rad = up[0].double().pow(2).sum(0).sqrt().flatten().cpu()
        if not torch.isfinite(rad).all():
            h, w = frames.shape[1:3]
            raise MetricError(
                f"RAFT's optical flow is not finite on this {w}x{h} video (frames {a}->{b}): RAFT's 4-level correlation "
                "pyramid at 1/8 resolution needs both sides of at least 121 px (128 after padding); VBench's code "
                "would silently count such a video as not moving. Upscale the video or leave out the RAFT dimensions "
                "(dynamic_degree, the temporal-flickering static filter)")
        return rad

    out = []
    for a, b in pairs:
        rad = (memo(video, ("raft_flow_magnitude", id(model), a, b), lambda a=a, b=b: magnitude(a, b))
               if video is not None else magnitude(a, b))
        out.append(_top_mean(rad, fraction))
    return out


class DynamicDegree(BackboneMetric):
    """VBench dynamic degree: 1 if the video moves (RAFT), else 0; the dimension is the fraction that move."""

    fidelity = EXACT

    name = "dynamic_degree"
    summary = "VBench dynamic degree (RAFT things), vbench-exact"
    needs_download = True
    dimension = "dynamic_degree"
    kind = MetricKind.PER_ITEM
    higher_is_better = True
    value_range = (0.0, 1.0)
    protocols = {"vbench": "RAFT things, frames every max(1,round(fps/8)), top-5% flow mean > 6·min(H,W)/256 in "
                           "≥ round(4·N/16) pairs"}

    def backbones_needed(self) -> list[str]:
        return ["raft_things"]

    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        interval = max(1, round(video.fps / 8))
        idx = list(range(0, video.num_frames, interval))
        if len(idx) < 2:
            raise MetricError("dynamic_degree needs at least 2 sampled frames")
        h, w = video.height, video.width
        thres = 6.0 * min(h, w) / 256.0
        count_num = round(4 * len(idx) / 16.0)
        scores = _pair_scores(self.net("raft_things"), video.frames, list(zip(idx[:-1], idx[1:])), 0.05,
                              self.device, video=video)
        moving = sum(1 for s in scores if s > thres)
        dynamic = moving >= count_num
        return ItemScore(1.0 if dynamic else 0.0, 1.0,
                         {"fidelity": EXACT, "pair_scores": [round(s, 4) for s in scores], "threshold": thres,
                          "count_needed": count_num, "interval": interval})


def is_static(frames: torch.Tensor, model, device: str = "cpu", video=None) -> tuple[bool, dict]:
    """VBench's static filter on uint8 ``[T,H,W,3]`` frames (see the module docstring). Returns (static, details).
    Pass ``video`` (the :class:`Video` the frames are) to share RAFT flows with dynamic degree in one pass."""
    t = frames.shape[0]
    h, w = frames.shape[1:3]
    thres = 3.0 * min(h, w) / 256.0
    count_num = round(2 * t / 16.0)
    pairs = [(i, i + 1) for i in range(t - 1)]
    scores = _pair_scores(model, frames, pairs + [(0, t - 1), (t - 1, 0)], 0.02, device, video=video)
    consecutive, wrap = scores[:-2], scores[-2:]
    moving = sum(1 for s in consecutive if s > thres)
    static = moving <= count_num and all(s <= thres * count_num * 2 for s in wrap)
    return static, {"moving_pairs": moving, "count_num": count_num, "threshold": thres,
                    "wrap_scores": [round(s, 4) for s in wrap]}


class OverallConsistency(ViCLIPScore):
    """VBench overall consistency: ViCLIP-L/14 video–prompt cosine on the overall-consistency prompts."""

    name = "overall_consistency"
    summary = "VBench overall consistency (ViCLIP-L/14 on its prompts), vbench-exact"
    needs_download = True
    requires = ('open_clip',)
    dimension = "overall_consistency"
    protocols = {"vbench": "ViCLIP-L/14, middle 8 frames, clip_transform(224), cosine with the prompt; video mean"}


class TemporalStyle(ViCLIPScore):
    """VBench temporal style: the ViCLIP recipe on the temporal-style prompts (shares the video embedding)."""

    name = "temporal_style"
    summary = "VBench temporal style (ViCLIP-L/14 on its prompts), vbench-exact"
    needs_download = True
    requires = ('open_clip',)
    dimension = "temporal_style"
    protocols = {"vbench": "ViCLIP-L/14, middle 8 frames, clip_transform(224), cosine with the prompt; video mean"}


#: VBench dimension name → the metric spec that computes it (the table is :mod:`vgbench.metrics.vbench.table`)
DIMENSION_METRICS = {d.name: d.metric for d in DIMENSIONS}
