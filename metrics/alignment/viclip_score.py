"""ViCLIP score: video–text cosine similarity with ViCLIP-L/14, VBench's recipe (metric-recipes §5).

``viclip_score/vbench`` (the only protocol): 8 frames chosen with VBench's ``get_frame_indices(sample="middle")``
(``linspace(0, T, 9).astype(int)`` intervals, the middle frame of each; padded with the last for T < 8);
``clip_transform(224)``: shorter side resized to 224 **bicubic without antialiasing** on the uint8 frames (rounded
back to uint8), torchvision ``CenterCrop(224)``, /255, CLIP mean/std; text tokenised with a 32-token context (longer
prompts truncated, last token forced to the end token); score = cosine of the L2-normalised embeddings (no ×100).
VBench's overall-consistency and temporal-style dimensions are this score averaged over their prompt subsets.
"""
from __future__ import annotations

from vgbench.bench.errors import MetricError
from vgbench.bench.lazy import lazy_import
from vgbench.bench.video import Video
from vgbench.bench.video.sampling import sample_indices
from vgbench.metrics.alignment.clip_score import CLIP_MEAN, CLIP_STD, shorter_side_size
from vgbench.metrics.base import ItemScore, MetricKind
from vgbench.metrics.model_metric import BackboneMetric

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")
clip_backbone = lazy_import("vgbench.metrics.backbones.clip")
viclip_backbone = lazy_import("vgbench.metrics.backbones.viclip")


def vbench_clip_transform(frames: torch.Tensor, size: int = 224, quantize: bool = True) -> torch.Tensor:
    """uint8 ``[T,H,W,3]`` → float32 ``[T,3,size,size]``: VBench ``clip_transform`` (Vchitect/VBench@45e79ec14e69
    ``vbench/utils.py``): shorter side to ``size``, bicubic ``interpolate(align_corners=False)`` without antialias,
    ``CenterCrop`` with ``int(round((h - size) / 2))``, /255, CLIP mean/std.

    What the transform receives differs by caller, and so does the resize: ``quantize=True`` for uint8 frames (the
    ViCLIP dimensions read them with ``read_frames_decord_by_fps``; torchvision clamps and rounds a uint8 resize back
    to uint8), ``quantize=False`` for the float32 frames ``load_video`` returns (background consistency, aesthetic
    quality: no clamping, no rounding)."""
    x = frames.permute(0, 3, 1, 2).float()
    h, w = x.shape[-2:]
    nh, nw = shorter_side_size(h, w, size)
    if (nh, nw) != (h, w):
        x = F.interpolate(x, size=(nh, nw), mode="bicubic", align_corners=False, antialias=False)
        if quantize:
            x = x.clamp(0, 255).round()
    top, left = int(round((nh - size) / 2.0)), int(round((nw - size) / 2.0))
    x = x[:, :, top:top + size, left:left + size] / 255.0
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return (x - mean) / std


class ViCLIPScore(BackboneMetric):
    """Text–video alignment with ViCLIP (cosine in [-1, 1]). Higher is better."""

    name = "viclip_score"
    summary = "ViCLIP-L/14 text-video cosine (VBench overall-consistency recipe)"
    needs_download = True
    requires = ('open_clip',)
    kind = MetricKind.PER_ITEM
    higher_is_better = True
    needs_prompt = True
    protocols = {"vbench": "VBench overall consistency: ViCLIP-L/14, middle 8 frames, clip_transform(224), cosine"}
    unit = "cos"
    value_range = (-1.0, 1.0)
    fidelity = "vbench-exact"  # VBench's overall-consistency / temporal-style recipe

    def __init__(self, protocol: str | None = None, options: dict[str, str] | None = None):
        super().__init__(protocol, options)
        self._text_cache: dict[str, tuple] = {}

    def backbones_needed(self) -> list[str]:
        return ["viclip_l14"]

    def text_embedding(self, prompt: str):
        if prompt not in self._text_cache:
            tok = clip_backbone.tokenize(prompt, viclip_backbone.CONTEXT_LENGTH, force_eot=True)
            model = self.net("viclip_l14")
            self._text_cache[prompt] = (model.encode_text(tok.ids.to(self.device)).cpu(), tok)
        return self._text_cache[prompt]

    def video_embedding(self, video: Video) -> tuple[torch.Tensor, list[int]]:
        """The video's ViCLIP embedding (shared in one pass with the other ViCLIP dimensions) and its frames."""
        from vgbench.bench.features import memo

        model = self.net("viclip_l14")

        def embed():
            idx = sample_indices("middle:%d" % viclip_backbone.NUM_FRAMES, video.num_frames)
            x = vbench_clip_transform(video.frames[idx]).unsqueeze(0)  # [1, 8, 3, 224, 224]
            return model.encode_video(x.to(self.device)).cpu(), idx

        return memo(video, ("viclip_video", id(model)), embed)

    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        if not prompt:
            raise MetricError("viclip_score needs the video's prompt")
        text, tok = self.text_embedding(prompt)
        vid, idx = self.video_embedding(video)
        value = float((vid.double() * text.double()).sum())
        extra = {"frames": idx, "prompt_tokens": tok.n_tokens}
        if tok.truncated:
            extra["prompt_truncated"] = f"{tok.n_tokens} tokens cut to {viclip_backbone.CONTEXT_LENGTH}"
        return ItemScore(value, 1.0, extra)

    def item_flags(self) -> list[str]:
        n = sum(1 for s in self._items.values() if s.extra.get("prompt_truncated"))
        return [f"{n} prompt(s) longer than {viclip_backbone.CONTEXT_LENGTH} tokens were truncated"] if n else []
