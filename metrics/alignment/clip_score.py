"""CLIP score of a video against its prompt, in three named protocols (metric-recipes §4).

``clip_score/torchmetrics`` (default)
    torchmetrics ``clip_score``: OpenAI CLIP **ViT-L/14**; HF ``CLIPProcessor`` preprocessing (PIL bicubic resize of
    the shorter side to 224, centre crop ``(h-224)//2``, /255, CLIP mean/std); per frame ``100·cos(image, text)``;
    per video ``max(mean over frames, 0)`` (clamp **after** the mean). A prompt longer than 77 tokens is sliced to
    77 ids as torchmetrics does, which drops the end token (the pooled feature is then taken at the largest id).
``clip_score/clipsim``
    the CLIPSIM convention (GODIVA/NÜWA/Make-A-Video): OpenAI CLIP **ViT-B/32**, open_clip preprocessing (PIL bicubic,
    centre crop ``round((h-224)/2)``), per video the mean cosine over frames (no ×100, no clamp); long prompts are
    truncated keeping the end token.
``clip_score/evalcrafter``
    EvalCrafter ``calculate_clip_score``: ViT-B/32, every frame ``cv2.resize`` to 224×224 (bilinear squash) and fed
    as **raw 0–255 floats without CLIP normalisation** (reproduced for comparisons with EvalCrafter tables only);
    mean cosine over frames; truncation keeps the end token.

The set value is the mean over videos. Options: ``frames`` (frame sampling, default ``all``; e.g. ``uniform:8``),
``backbone`` (``clip_vit_b32_openai`` / ``clip_vit_l14_openai``; default: the protocol's), ``batch`` (frames per
forward pass; no effect on the numbers). Every item keeps its per-frame scores and whether its prompt was truncated;
the result carries a flag naming how many prompts were.
"""
from __future__ import annotations

import math

import numpy as np

from vgbench.bench.errors import MetricError
from vgbench.bench.lazy import lazy_import
from vgbench.bench.video import Video
from vgbench.bench.video.sampling import FrameSampling
from vgbench.metrics.base import ItemScore, MetricKind, MetricOption
from vgbench.metrics.model_metric import BackboneMetric

torch = lazy_import("torch")
clip_backbone = lazy_import("vgbench.metrics.backbones.clip")


CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

_PROTOCOL_BACKBONE = {"torchmetrics": "clip_vit_l14_openai", "clipsim": "clip_vit_b32_openai",
                      "evalcrafter": "clip_vit_b32_openai"}


def shorter_side_size(h: int, w: int, size: int = 224) -> tuple[int, int]:
    """(new_h, new_w) with the shorter side ``size`` and the longer ``int(size·long/short)`` (HF and torchvision)."""
    if w <= h:
        return int(size * h / w), size
    return size, int(size * w / h)


def preprocess_clip_pil(frames: torch.Tensor, crop_rounding: str = "floor", size: int = 224) -> torch.Tensor:
    """uint8 ``[T,H,W,3]`` → CLIP-normalised float ``[T,3,size,size]``: PIL bicubic shorter-side resize, centre crop.

    ``crop_rounding="floor"``: HF image processors' ``(h - size) // 2``; ``"round"``: torchvision ``CenterCrop``'s
    ``int(round((h - size) / 2))``.
    """
    from PIL import Image

    t, h, w, _ = frames.shape
    nh, nw = shorter_side_size(h, w, size)
    if crop_rounding == "floor":
        top, left = (nh - size) // 2, (nw - size) // 2
    else:
        top, left = int(round((nh - size) / 2.0)), int(round((nw - size) / 2.0))
    arr = frames.numpy()
    out = np.empty((t, size, size, 3), dtype=np.uint8)
    for i in range(t):
        img = Image.fromarray(arr[i]).resize((nw, nh), Image.BICUBIC)
        out[i] = np.asarray(img)[top:top + size, left:left + size]
    x = torch.from_numpy(out).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def preprocess_evalcrafter(frames: torch.Tensor, size: int = 224) -> torch.Tensor:
    """EvalCrafter: ``cv2.resize(frame, (224, 224))`` (INTER_LINEAR) and raw 0–255 floats, no normalisation."""
    import cv2

    arr = frames.numpy()
    out = np.stack([cv2.resize(f, (size, size)) for f in arr])
    return torch.from_numpy(out).permute(0, 3, 1, 2).float()


def clip_score_from_embeddings(image_emb: torch.Tensor, text_emb: torch.Tensor, protocol: str
                               ) -> tuple[float, list[float]]:
    """Functional form: per-frame scores and the per-video score from (unnormalised) embeddings.

    ``image_emb [T, D]``, ``text_emb [1, D]`` or ``[D]``. torchmetrics: per-frame ``100·cos``, video
    ``max(mean, 0)``; clipsim/evalcrafter: per-frame cosine, video mean.
    """
    img = image_emb.double() / image_emb.double().norm(dim=-1, keepdim=True)
    txt = text_emb.double().reshape(1, -1)
    txt = txt / txt.norm(dim=-1, keepdim=True)
    cos = (img * txt).sum(-1)
    if protocol == "torchmetrics":
        per_frame = 100.0 * cos
        return max(float(per_frame.mean()), 0.0), [float(v) for v in per_frame]
    return float(cos.mean()), [float(v) for v in cos]


class CLIPScore(BackboneMetric):
    """Text–video alignment: CLIP similarity of each frame with the prompt. Higher is better."""

    name = "clip_score"
    summary = "CLIP text-video alignment (protocols torchmetrics ViT-L/14, clipsim, evalcrafter)"
    needs_download = True
    requires = ('open_clip',)
    kind = MetricKind.PER_ITEM
    higher_is_better = True
    needs_prompt = True
    protocols = {
        "torchmetrics": "torchmetrics clip_score: ViT-L/14, HF CLIPProcessor, 100·cos per frame, max(mean,0) per video",
        "clipsim": "CLIPSIM: ViT-B/32, open_clip preprocessing, mean cosine over frames",
        "evalcrafter": "EvalCrafter: ViT-B/32, cv2 squash to 224, raw 0-255 pixels (no normalisation), mean cosine",
    }
    options = {
        "frames": MetricOption("all", "frame sampling: all | uniform:N | middle:N | first:N | fps:F | stride:K"),
        "backbone": MetricOption(None, "clip_vit_b32_openai | clip_vit_l14_openai"),
        "batch": MetricOption("32", "frames per forward pass (speed/memory only)", affects_result=False),
    }

    def option_default(self, key: str) -> str:
        if key == "backbone":
            return _PROTOCOL_BACKBONE[self.protocol]
        return super().option_default(key)

    def __init__(self, protocol: str | None = None, options: dict[str, str] | None = None):
        super().__init__(protocol, options)
        self.check_choice("backbone", tuple(_PROTOCOL_BACKBONE.values()))
        rule = FrameSampling.parse(self.opts["frames"])
        self.sampling = rule if rule.method == "all" else FrameSampling(rule.method, rule.n, "repeat_last")
        self.batch = self.positive_int_option("batch", "a whole number of frames, at least 1")
        self.unit = "100·cos" if self.protocol == "torchmetrics" else "cos"
        self.value_range = (0.0, 100.0) if self.protocol == "torchmetrics" else (-1.0, 1.0)
        self._text_cache: dict[str, tuple] = {}

    def backbones_needed(self) -> list[str]:
        return [self.opts["backbone"]]

    def preprocess(self, frames: torch.Tensor) -> torch.Tensor:
        if self.protocol == "evalcrafter":
            return preprocess_evalcrafter(frames)
        return preprocess_clip_pil(frames, "floor" if self.protocol == "torchmetrics" else "round")

    def text_embedding(self, prompt: str):
        """(embedding ``[1, D]``, tokenisation) of ``prompt``, cached per prompt."""
        if prompt not in self._text_cache:
            tok = clip_backbone.tokenize(prompt, clip_backbone.CONTEXT_LENGTH,
                                         force_eot=self.protocol != "torchmetrics")
            self._text_cache[prompt] = (clip_backbone.encode_text(self.net(self.opts["backbone"]), tok.ids), tok)
        return self._text_cache[prompt]

    def image_embeddings(self, frames: torch.Tensor) -> torch.Tensor:
        """Embeddings ``[T, D]`` of uint8 frames ``[T,H,W,3]``, ``batch`` frames per forward pass."""
        model = self.net(self.opts["backbone"])
        out = []
        for s in range(0, frames.shape[0], self.batch):
            out.append(clip_backbone.encode_images(model, self.preprocess(frames[s:s + self.batch])).cpu())
        return torch.cat(out)

    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        if not prompt:
            raise MetricError("clip_score needs the video's prompt (a run folder, a manifest.json, or a .txt file "
                              "beside the video with the same name)")
        idx = self.sampling.indices(video.num_frames, video.fps)
        text_emb, tok = self.text_embedding(prompt)
        value, per_frame = clip_score_from_embeddings(self.image_embeddings(video.frames[idx]), text_emb,
                                                      self.protocol)
        if not math.isfinite(value):
            raise MetricError("clip_score is not finite (an all-zero embedding?)")
        extra = {"per_frame": [round(v, 6) for v in per_frame], "frames": idx if len(idx) <= 64 else len(idx),
                 "prompt_tokens": tok.n_tokens}
        if tok.truncated:
            extra["prompt_truncated"] = f"{tok.n_tokens} tokens cut to {clip_backbone.CONTEXT_LENGTH}" + (
                "" if tok.eot_kept else " (end token cut off, as torchmetrics does)")
        return ItemScore(value, 1.0, extra)

    def item_flags(self) -> list[str]:
        n = sum(1 for s in self._items.values() if s.extra.get("prompt_truncated"))
        return [f"{n} prompt(s) longer than {clip_backbone.CONTEXT_LENGTH} tokens were truncated"] if n else []
