"""Detector and captioner interfaces for VBench's semantic dimensions, and their transformers backends.

VBench scores object class, multiple objects, colour and spatial relationship with GRiT (detectron2, not on PyPI)
and scene with Tag2Text. vgbench puts a small interface in front of each model so that an exact backend can fill it
later without touching the dimension code:

* :class:`ObjectDetector` — ``detect(frames, vocabulary) → per frame, a list of`` :class:`Detection` (label from
  ``vocabulary``, box in pixels of the input frame, score in [0, 1]).
* :class:`Captioner` — ``caption(frames) → one caption per frame``.

Backends (``@detector=`` / ``@captioner=`` on the metrics):

* ``owlv2`` (**vbench-style**): OWLv2 (``google/owlv2-base-patch16-ensemble``) through transformers, an
  open-vocabulary detector. It is asked for the 80 COCO class names plus the prompt's objects; each box takes the
  label of its best-scoring query and is kept when that score ≥ ``threshold`` (default 0.2). Images go through
  transformers' ``Owlv2ImageProcessor`` (pad to square with grey, resize to 960, CLIP mean/std); texts through the
  CLIP BPE tokenizer (16 tokens, zero-padded, as OWLv2's processor does). Boxes are mapped back to the frame.
* ``blip`` (**vbench-style**): BLIP captioning (``Salesforce/blip-image-captioning-base``), greedy decoding.
* ``tag2text`` (**vbench-exact**, the scene default): Tag2Text ``tag2text_swin_14m`` as VBench runs it
  (:mod:`vgbench.metrics.backbones.tag2text`), weights files ``tag2text_swin_14m`` and ``bert_base_uncased_vocab``
  (``vgbench weights needed --metrics scene``); it takes 384×384 frames (:attr:`Captioner.input_size`).
* ``grit`` (**vbench-exact**, not available): it needs detectron2; asking for it raises an error that says so.

Model folders are Hugging Face ``save_pretrained`` folders: give one with ``@detector_path=`` / ``@captioner_path=``
or the ``VGBENCH_OWLV2`` / ``VGBENCH_BLIP`` environment variables, or let transformers find the hub id in its cache
(offline first). The SHA-256 of the folder's weights file is recorded as the result's ``weights_sha256``.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from vgbench.bench.errors import ConfigError
from vgbench.bench.lazy import lazy_import, no_grad
from vgbench.bench.registry import Registry

torch = lazy_import("torch")


#: the 80 COCO class names: OWLv2's closed-set vocabulary standing in for GRiT's object detector
COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow", "elephant",
    "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard",
    "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli",
    "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed", "dining table", "toilet",
    "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)

STYLE = "vbench-style"


@dataclass(frozen=True)
class Detection:
    label: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the input frame
    score: float


class ObjectDetector:
    """Interface: ``detect`` uint8 frames ``[T,H,W,3]`` against a vocabulary of object names."""

    name: str = ""
    fidelity: str = STYLE
    weights_sha256: str | None = None

    def detect(self, frames: torch.Tensor, vocabulary: list[str]) -> list[list[Detection]]:
        raise NotImplementedError


class Captioner:
    """Interface: one caption per uint8 frame of ``[T,H,W,3]``. ``input_size`` (px, square): the frames must already
    be that size (the dimension prepares them as its reference reads them); None: any size."""

    name: str = ""
    fidelity: str = STYLE
    weights_sha256: str | None = None
    input_size: int | None = None
    flags: tuple[str, ...] = ()

    def caption(self, frames: torch.Tensor) -> list[str]:
        raise NotImplementedError


def _file_sha256(f: Path) -> str:
    h = hashlib.sha256()
    with open(f, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _weights_sha256(folder: Path) -> str:
    """SHA-256 of a model folder's weights: of its single weights file, or, for a sharded checkpoint
    (``model-00001-of-00002.safetensors`` ...), of the sorted ``name:sha256`` lines of every shard, so that other
    weights never reuse cached scores. Raises ConfigError when the folder holds no weights file."""
    for name in ("model.safetensors", "pytorch_model.bin"):
        f = folder / name
        if f.is_file():
            return _file_sha256(f)
    shards = sorted(list(folder.glob("model-*-of-*.safetensors")) or list(folder.glob("pytorch_model-*-of-*.bin")))
    if not shards:
        raise ConfigError(f"{folder}: no weights file (model.safetensors, pytorch_model.bin or their shards)")
    lines = "".join(f"{f.name}:{_file_sha256(f)}\n" for f in shards)
    return hashlib.sha256(lines.encode()).hexdigest()


def folder_need(name: str, path: str | None, env: str, hub_id: str) -> dict:
    """A model folder as :func:`vgbench.metrics.needs.needs` lists it: where it was found (None: missing), without
    loading it."""
    try:
        present = str(_resolve_folder(path, env, hub_id, name))
    except ConfigError:
        present = None
    return {"name": name, "hub_id": hub_id, "env_var": env, "present": present,
            "fetch": f"huggingface-cli download {hub_id} --local-dir /path/{hub_id.split('/')[-1]}"}


def _resolve_folder(path: str | None, env: str, hub_id: str, what: str) -> Path:
    """A local model folder: the option, the environment variable, or the hub id in the Hugging Face cache."""
    from vgbench.bench import settings

    path = path or settings.model_folder(env)
    if path:
        p = Path(path).expanduser()
        if not (p / "config.json").is_file():
            raise ConfigError(f"{what}: {p} is not a Hugging Face model folder (no config.json)")
        return p
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(hub_id, local_files_only=True))
    except Exception:
        raise ConfigError(
            f"{what} weights not found. Download them where you are online with\n"
            f"    huggingface-cli download {hub_id} --local-dir /path/{hub_id.split('/')[-1]}\n"
            f"and point {env}=/path/{hub_id.split('/')[-1]} (or the metric option) at the folder; "
            "nothing runs on random weights.") from None


class OWLv2Detector(ObjectDetector):
    """OWLv2 open-vocabulary detection through transformers (see the module docstring)."""

    name = "owlv2"
    HUB_ID = "google/owlv2-base-patch16-ensemble"

    def __init__(self, model=None, threshold: float = 0.2, device: str = "cpu", weights_sha256: str | None = None):
        from transformers import Owlv2ImageProcessor

        self.model = model.to(device).eval()
        size = self.model.config.vision_config.image_size
        self.processor = Owlv2ImageProcessor(size={"height": size, "width": size})
        self.threshold = threshold
        self.device = device
        self.weights_sha256 = weights_sha256
        self._text_cache: dict[tuple[str, ...], tuple] = {}

    @classmethod
    def load(cls, path: str | None = None, threshold: float = 0.2, device: str = "cpu") -> "OWLv2Detector":
        from transformers import Owlv2ForObjectDetection

        folder = _resolve_folder(path, "VGBENCH_OWLV2", cls.HUB_ID, "OWLv2 detector")
        model = Owlv2ForObjectDetection.from_pretrained(str(folder), local_files_only=True)
        return cls(model, threshold, device, _weights_sha256(folder))

    def _text_inputs(self, vocabulary: list[str]):
        from vgbench.metrics.backbones.clip import tokenize

        key = tuple(vocabulary)
        if key not in self._text_cache:
            n = self.model.config.text_config.max_position_embeddings
            ids = torch.cat([tokenize(v, n, force_eot=True).ids for v in vocabulary])
            self._text_cache[key] = (ids.to(self.device), (ids != 0).long().to(self.device))
        return self._text_cache[key]

    @no_grad
    def detect(self, frames: torch.Tensor, vocabulary: list[str]) -> list[list[Detection]]:
        ids, mask = self._text_inputs(vocabulary)
        out = []
        h, w = frames.shape[1:3]
        side = float(max(h, w))  # OWLv2 boxes are relative to the frame padded to a square (bottom/right)
        for frame in frames:
            pixels = self.processor(images=frame.numpy(), return_tensors="pt")["pixel_values"].to(self.device)
            res = self.model(input_ids=ids, attention_mask=mask, pixel_values=pixels)
            probs = torch.sigmoid(res.logits[0].float())  # [boxes, queries]
            score, label = probs.max(-1)
            keep = score >= self.threshold
            boxes = res.pred_boxes[0].float()[keep].cpu()
            dets = []
            for (cx, cy, bw, bh), s, q in zip(boxes.tolist(), score[keep].tolist(), label[keep].tolist()):
                x0, x1 = (min(max(0.0, v * side), float(w)) for v in (cx - bw / 2, cx + bw / 2))
                y0, y1 = (min(max(0.0, v * side), float(h)) for v in (cy - bh / 2, cy + bh / 2))
                dets.append(Detection(vocabulary[q], (x0, y0, x1, y1), float(s)))
            out.append(dets)
        return out


class BLIPCaptioner(Captioner):
    """BLIP image captioning through transformers, greedy decoding (see the module docstring)."""

    name = "blip"
    HUB_ID = "Salesforce/blip-image-captioning-base"

    def __init__(self, model, processor, device: str = "cpu", weights_sha256: str | None = None,
                 max_new_tokens: int = 30):
        self.model, self.processor = model.to(device).eval(), processor
        self.device, self.weights_sha256, self.max_new_tokens = device, weights_sha256, max_new_tokens

    @classmethod
    def load(cls, path: str | None = None, device: str = "cpu") -> "BLIPCaptioner":
        from transformers import BlipForConditionalGeneration, BlipProcessor

        folder = _resolve_folder(path, "VGBENCH_BLIP", cls.HUB_ID, "BLIP captioner")
        model = BlipForConditionalGeneration.from_pretrained(str(folder), local_files_only=True)
        processor = BlipProcessor.from_pretrained(str(folder), local_files_only=True)
        return cls(model, processor, device, _weights_sha256(folder))

    @no_grad
    def caption(self, frames: torch.Tensor) -> list[str]:
        inputs = self.processor(images=list(frames.numpy()), return_tensors="pt").to(self.device)
        ids = self.model.generate(pixel_values=inputs["pixel_values"], max_new_tokens=self.max_new_tokens,
                                  do_sample=False, num_beams=1)
        return [t.strip() for t in self.processor.batch_decode(ids, skip_special_tokens=True)]


def _grit(path: str | None, threshold: float, device: str) -> ObjectDetector:
    raise ConfigError("detector 'grit' (vbench-exact) needs GRiT on detectron2, which is not installable from "
                      "PyPI; it is not implemented yet: use @detector=owlv2 (vbench-style)")


class Tag2TextCaptioner(Captioner):
    """Tag2Text captions exactly as VBench's scene computes them (see :mod:`vgbench.metrics.backbones.tag2text`):
    frames 384×384 (the dimension decodes them so), ``ToTensor`` then ImageNet mean/std, the beam-searched captions;
    frame ``i``'s caption is the one VBench's code gives it (computed from frame ``i // 3``)."""

    name = "tag2text"
    fidelity = "vbench-exact"
    input_size = 384

    def __init__(self, model, tokenizer, device: str = "cpu", weights_sha256: str | None = None,
                 flags: tuple[str, ...] = ()):
        from vgbench.metrics.backbones.tag2text import tag_list

        self.model, self.tokenizer = model.to(device).eval(), tokenizer
        self.device, self.weights_sha256, self.flags = device, weights_sha256, tuple(flags)
        self.names = tag_list()
        self.input_size = model.cfg.image_size

    @classmethod
    def load(cls, path: str | None = None, device: str = "cpu", vocab: str | None = None) -> "Tag2TextCaptioner":
        """Weights ``tag2text_swin_14m`` (``path``: a file the user gives, else the registry's, verified, offline
        first) and ``bert_base_uncased_vocab`` (``vocab``, else the registry's or the Hugging Face cache's).

        Raises:
            WeightsMissingError: a file is missing (the message says where to get it and where to put it).
            ConfigError: the file is not Tag2Text's layout, or the vocabulary does not fit its embeddings.
        """
        from vgbench.metrics.backbones.registry import STANDALONE_WEIGHTS, USER_WEIGHTS_FLAG
        from vgbench.metrics.backbones.tag2text import Tag2Text, Tag2TextConfig, load_tag2text, make_tokenizer
        from vgbench.metrics.backbones.weights import resolve, resolve_user

        found = [resolve_user(STANDALONE_WEIGHTS[name], p) if p else resolve(STANDALONE_WEIGHTS[name])
                 for name, p in (("tag2text_swin_14m", path), ("bert_base_uncased_vocab", vocab))]
        from vgbench.metrics.backbones.checkpoint import read_state_dict

        state = read_state_dict(found[0].path)  # weights only: vgbench never unpickles code
        sd = state["model"] if isinstance(state.get("model"), dict) else state
        try:
            cfg = Tag2TextConfig.from_state_dict(sd)
            model = load_tag2text(Tag2Text(cfg), sd)
        except ValueError as e:
            raise ConfigError(f"{found[0].path}: {e}; it must be tag2text_swin_14m.pth") from None
        tokenizer = make_tokenizer(found[1].path)
        if len(tokenizer) != cfg.vocab_size:
            lines = len(Path(found[1].path).read_text(encoding="utf-8").splitlines())
            raise ConfigError(f"{found[1].path}: {lines} tokens, but {found[0].path} embeds {cfg.vocab_size - 2} "
                              "(+ [DEC], [ENC]): give bert-base-uncased's vocab.txt")
        flags = (USER_WEIGHTS_FLAG,) if any(f.trust == "user-supplied" for f in found) else ()
        return cls(model, tokenizer, device, "+".join(f.sha256 for f in found), flags)

    def caption(self, frames: torch.Tensor) -> list[str]:
        return self.caption_with_tags(frames)[0]

    @no_grad
    def caption_with_tags(self, frames: torch.Tensor) -> tuple[list[str], list[str]]:
        """(captions, tags) per frame, both as VBench's ``generate(..., return_tag_predict=True)`` returns them."""
        if tuple(frames.shape[1:3]) != (self.input_size, self.input_size):
            raise ValueError(f"Tag2Text takes {self.input_size}x{self.input_size} frames, got "
                             f"{frames.shape[2]}x{frames.shape[1]}")
        x = frames.permute(0, 3, 1, 2).to(torch.float32).div(255)
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        return self.model.generate(((x - mean) / std).to(self.device), self.tokenizer, self.names)


def _tag2text(path: str | None, device: str) -> Captioner:
    return Tag2TextCaptioner.load(path, device)


#: Object detectors for the detection-based VBench dimensions: name → ``factory(path, threshold, device)``.
#: Third-party packages add detectors through the ``vgbench.detectors`` entry-point group.
DETECTORS: Registry[Callable[..., ObjectDetector]] = Registry("detector", group="vgbench.detectors",
                                                             name_attribute=None)
DETECTORS.add("owlv2", "vgbench.metrics.vbench.detection:OWLv2Detector.load")
DETECTORS.add("grit", _grit)

#: Captioners for VBench's scene dimension: name → ``factory(path, device)`` (``vgbench.captioners`` entry points).
CAPTIONERS: Registry[Callable[..., Captioner]] = Registry("captioner", group="vgbench.captioners",
                                                         name_attribute=None)
CAPTIONERS.add("blip", "vgbench.metrics.vbench.detection:BLIPCaptioner.load")
CAPTIONERS.add("tag2text", _tag2text)


def create_detector(name: str, path: str | None, threshold: float, device: str) -> ObjectDetector:
    """Detector ``name`` loaded from ``path`` (a local folder; None: the Hugging Face cache, offline-first).

    Raises:
        ConfigError: unknown detector (the message lists them), or one that is not available.
    """
    return DETECTORS.get(name)(path, threshold, device)


def create_captioner(name: str, path: str | None, device: str) -> Captioner:
    """Captioner ``name`` loaded from ``path`` (as :func:`create_detector`)."""
    return CAPTIONERS.get(name)(path, device)
