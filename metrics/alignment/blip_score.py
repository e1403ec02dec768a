"""BLIP score of a video against its prompt, in three named protocols. Higher is better.

``blip_score/itc`` (default)
    BLIP image–text contrastive similarity, the "BLIP score" T2V papers report: Hugging Face
    ``BlipForImageTextRetrieval`` (``Salesforce/blip-itm-base-coco``) called with ``use_itm_head=False`` on every
    frame (RGB, ``BlipProcessor`` preprocessing) and the prompt; per frame the cosine of the projected, normalised
    [CLS] features; per video the mean over frames. Unit: cosine, in [-1, 1].
``blip_score/itm``
    the same model with its image–text matching head (``use_itm_head=True``): per frame ``softmax(itm_logits)[1]``,
    the probability that frame and prompt match; per video the mean. In [0, 1]. For both, a prompt longer than the
    text model's positions (512 tokens for the hub checkpoint) is truncated and the item says so
    (``prompt_truncated``); the model card's call would fail on it.
``blip_score/evalcrafter-bleu``
    EvalCrafter's BLIP-BLEU (evalcrafter/EvalCrafter@1275bda05e74 ``metrics/Scores_with_CLIP/Scores_with_CLIP.py::
    calculate_blip_bleu``): 5 frames at ``torch.linspace(0, T−1, 5).long()``, each as OpenCV reads it (**BGR**),
    ``cv2.resize`` to 224×224, as a float ``[3, 224, 224]`` tensor of 0–255 values through the BLIP-2 processor
    (``Salesforce/blip2-opt-2.7b``, float16 as EvalCrafter loads it) and ``generate`` with the checkpoint's default
    generation settings; each caption is scored against the prompt with pycocoevalcap's BLEU-n (n = 1..4, whitespace
    tokens, ``option='closest'``), and, as EvalCrafter's ``compute_max`` does, ``np.max`` is taken over every
    caption **and every order up to n** (``Bleu(n)`` returns BLEU-1..n); the four maxima are averaged. In [0, 1].
    The BGR frames and the max over orders are EvalCrafter's, kept so that values compare with its tables.

Model folders (Hugging Face ``save_pretrained`` layout) come from the ``model_path`` option, ``$VGBENCH_BLIP_ITM`` /
``$VGBENCH_BLIP2`` or the Hugging Face cache (offline: ``local_files_only``); a missing one is an error naming the
repo id to download; nothing runs on random weights. Every item keeps its per-frame values (or captions).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from vgbench.bench.errors import MetricError
from vgbench.bench.lazy import lazy_import
from vgbench.bench.video import Video
from vgbench.metrics.base import ItemScore, Metric, MetricKind, MetricOption

torch = lazy_import("torch")

_HUB = {"itc": "Salesforce/blip-itm-base-coco", "itm": "Salesforce/blip-itm-base-coco",
        "evalcrafter-bleu": "Salesforce/blip2-opt-2.7b"}
_ENV = {"itc": "VGBENCH_BLIP_ITM", "itm": "VGBENCH_BLIP_ITM", "evalcrafter-bleu": "VGBENCH_BLIP2"}


def evalcrafter_frames(frames_rgb: np.ndarray, num: int = 5) -> list:
    """EvalCrafter's 5 frames: OpenCV's BGR channel order, ``cv2.resize((224, 224))`` (bilinear), float
    ``[3, 224, 224]`` tensors of 0–255 values, at ``torch.linspace(0, T−1, num).long()``.

    Args:
        frames_rgb: uint8 ``[T, H, W, 3]`` RGB frames (as vgbench decodes them).
    """
    import cv2

    bgr = [cv2.resize(np.ascontiguousarray(f[..., ::-1]), (224, 224)) for f in frames_rgb]
    t = torch.stack([torch.from_numpy(f).permute(2, 0, 1).float() for f in bgr])
    idx = torch.linspace(0, len(t) - 1, num).long()
    return list(torch.index_select(t, 0, idx))


def bleu_max(gt: str, captions: list[str], n: int) -> float:
    """EvalCrafter's ``compute_max(Bleu(n), [gt], captions)``: ``np.max`` over the captions of pycocoevalcap's
    BLEU-1..n of each caption against ``gt`` (the scorer that ``Bleu.compute_score`` runs, without its prints)."""
    from pycocoevalcap.bleu.bleu_scorer import BleuScorer

    scores = []
    for cap in captions:
        scorer = BleuScorer(n=n)
        scorer += (cap, [gt])
        score, _ = scorer.compute_score(option="closest", verbose=0)
        scores.append(score)
    return float(np.max(scores))


def _pil_backend() -> dict:
    """The PIL image processor (bicubic PIL resize), which the references ran: transformers 4.x's default for these
    checkpoints (``use_fast=False``); 5.x defaults to torchvision, ~2.5e-4 away per frame, and names it ``backend``."""
    import transformers

    return {"backend": "pil"} if int(transformers.__version__.split(".")[0]) >= 5 else {"use_fast": False}


class BLIPScore(Metric):
    """Text–video alignment with BLIP (ITC cosine, ITM probability) or EvalCrafter's BLIP-2 BLEU."""

    name = "blip_score"
    summary = "BLIP text-video alignment: ITC cosine (default), ITM probability, EvalCrafter's BLIP-2 BLEU"
    needs_download = True
    requires = ("transformers",)
    kind = MetricKind.PER_ITEM
    higher_is_better = True
    needs_prompt = True
    protocols = {
        "itc": "BLIP ITC (blip-itm-base-coco, use_itm_head=False): cosine of every frame with the prompt, mean",
        "itm": "BLIP ITM head (blip-itm-base-coco): softmax match probability of every frame, mean",
        "evalcrafter-bleu": "EvalCrafter BLIP-BLEU: BLIP-2 OPT-2.7b captions of 5 BGR frames, max BLEU-1..4 vs the "
                            "prompt, mean of the 4",
    }
    options = {
        "model_path": MetricOption("", "Hugging Face folder of the model (default: $VGBENCH_BLIP_ITM / $VGBENCH_BLIP2 "
                                       "or the Hugging Face cache)", affects_result=False),
        "dtype": MetricOption(None, "float32 | float16 (default: float16 for evalcrafter-bleu, as EvalCrafter; "
                                    "float32 otherwise)"),
        "batch": MetricOption("16", "frames per forward pass (speed/memory only)", affects_result=False),
    }

    def option_default(self, key: str) -> str:
        if key == "dtype":
            return "float16" if self.protocol == "evalcrafter-bleu" else "float32"
        return super().option_default(key)

    def __init__(self, protocol: str | None = None, options: dict[str, str] | None = None):
        super().__init__(protocol, options)
        self.check_choice("dtype", ("float32", "float16"))
        self.unit = "cos" if self.protocol == "itc" else ("probability" if self.protocol == "itm" else "BLEU")
        self.value_range = (-1.0, 1.0) if self.protocol == "itc" else (0.0, 1.0)
        self.batch = self.positive_int_option("batch", "a whole number of frames, at least 1")
        self.model = self.processor = None

    def folders_needed(self) -> list[dict]:
        from vgbench.metrics.vbench.detection import folder_need

        return [folder_need("blip2" if self.protocol == "evalcrafter-bleu" else "blip_itm",
                            self.opts["model_path"] or None, _ENV[self.protocol], _HUB[self.protocol])]

    def load(self, allow_random: bool | None = None, device: str | None = None, weights=None) -> None:
        """Load the model folder (offline; raises ConfigError naming the repo id when it is missing)."""
        from vgbench.metrics.backbones.registry import default_device
        from vgbench.metrics.vbench.detection import _resolve_folder, _weights_sha256

        if self.protocol == "evalcrafter-bleu":
            try:
                import pycocoevalcap  # noqa: F401
            except ImportError as e:
                from vgbench.bench.errors import ConfigError

                raise ConfigError("blip_score/evalcrafter-bleu needs pycocoevalcap (EvalCrafter's BLEU): "
                                  "pip install 'vgbench[blip]'") from e
        self.device = device or default_device()
        folder = _resolve_folder(self.opts["model_path"] or None, _ENV[self.protocol], _HUB[self.protocol],
                                 f"blip_score/{self.protocol}")
        dtype = getattr(torch, self.opts["dtype"])
        if self.protocol == "evalcrafter-bleu":
            from transformers import AutoProcessor, Blip2ForConditionalGeneration

            self.processor = AutoProcessor.from_pretrained(str(folder), local_files_only=True, **_pil_backend())
            model = Blip2ForConditionalGeneration.from_pretrained(str(folder), local_files_only=True, dtype=dtype)
        else:
            from transformers import BlipForImageTextRetrieval, BlipProcessor

            self.processor = BlipProcessor.from_pretrained(str(folder), local_files_only=True, **_pil_backend())
            model = BlipForImageTextRetrieval.from_pretrained(str(folder), local_files_only=True, dtype=dtype)
        self.model = model.to(self.device).eval()
        text_cfg = getattr(model.config, "text_config", None)
        self._max_tokens = int(getattr(text_cfg, "max_position_embeddings", 512) or 512)
        self.backbone = "blip2" if self.protocol == "evalcrafter-bleu" else "blip_itm"
        self.weights_sha256 = _weights_sha256(folder)

    def score(self, video: Video, reference=None, prompt=None) -> ItemScore:
        if not prompt:
            raise MetricError("blip_score needs the prompt")
        if self.model is None:
            self.load()
        frames = video.frames.numpy() if hasattr(video.frames, "numpy") else np.asarray(video.frames)
        with torch.inference_mode():
            if self.protocol == "evalcrafter-bleu":
                return self._bleu(frames, prompt)
            per_frame = self._similarity(frames, prompt)
        extra: dict[str, Any] = {"per_frame": [float(v) for v in per_frame]}
        n_tokens = len(self.processor.tokenizer(prompt)["input_ids"])
        if n_tokens > self._max_tokens:
            extra["prompt_truncated"] = f"{n_tokens} tokens cut to the text model's {self._max_tokens}"
        return ItemScore(float(np.mean(per_frame)), 1.0, extra)

    def _similarity(self, frames: np.ndarray, prompt: str) -> list[float]:
        out: list[float] = []
        for i in range(0, len(frames), self.batch):
            chunk = list(frames[i:i + self.batch])
            inputs = self.processor(images=chunk, text=[prompt] * len(chunk), return_tensors="pt",
                                    padding=True, truncation=True, max_length=self._max_tokens).to(self.device)
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
            if self.protocol == "itm":
                logits = self.model(**inputs, use_itm_head=True).itm_score
                out += torch.softmax(logits.float(), dim=1)[:, 1].tolist()
            else:
                sim = self.model(**inputs, use_itm_head=False).itm_score  # [frames, texts]: the diagonal pairs
                out += torch.diagonal(sim.float()).tolist()
        return out

    def _bleu(self, frames: np.ndarray, prompt: str) -> ItemScore:
        captions = []
        for frame in evalcrafter_frames(frames):
            inputs = self.processor(images=frame, return_tensors="pt").to(self.device, self.model.dtype)
            ids = self.model.generate(**inputs)
            captions.append(self.processor.batch_decode(ids, skip_special_tokens=True)[0].strip())
        per_n = [bleu_max(prompt, captions, n) for n in (1, 2, 3, 4)]
        extra: dict[str, Any] = {"captions": captions, "bleu_max": per_n}
        return ItemScore(sum(per_n) / 4, 1.0, extra)
