"""Feature extractors for distribution metrics: clip sampling + preprocessing + backbone, pinned per protocol.

An extractor turns one decoded video into a feature array ``[k, d]`` (one row per clip for video backbones, per
frame for frame backbones, per 16-frame window for FVMD). Everything that changes the features is part of
:meth:`FeatureExtractor.cache_key`: extractor name and version, backbone, the SHA-256 of the weights actually used,
the preprocessing and the clip sampling. Features cached under one key are never reused under another.

Clip sampling (``role`` is ``"generated"`` or ``"reference"``): ``first`` takes the first ``length`` frames;
``random`` takes ``length`` consecutive frames at an offset drawn from ``[0, T − length]`` by a generator seeded with
(sampling seed, video SHA-256): StyleGAN-V's random offset for real videos, made reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from vgbench.bench.errors import ConfigError, MetricError, VgbenchError
from vgbench.bench.provenance import stable_hash
from vgbench.bench.registry import Registry
from vgbench.bench.video import Video

VERSION = 1  # a change of what an extractor computes changes its preprocessing dict (hence its key)


@dataclass(frozen=True)
class ClipSampling:
    """``length`` frames (None: all frames) chosen ``first`` or ``random`` per role; ``min_frames`` required."""

    length: int | None = 16
    generated: str = "first"
    reference: str = "random"
    min_frames: int = 16
    seed: int = 0

    def indices(self, num_frames: int, role: str, video_sha256: str) -> np.ndarray:
        if num_frames < self.min_frames:
            raise MetricError(f"needs at least {self.min_frames} frames, the video has {num_frames}")
        if self.length is None:
            return np.arange(num_frames)
        mode = self.generated if role == "generated" else self.reference
        offset = 0
        if mode == "random":
            rng = np.random.default_rng([self.seed, int((video_sha256 or "0")[:15], 16)])
            offset = int(rng.integers(0, num_frames - self.length + 1))
        return np.arange(offset, offset + self.length)

    def cache_role(self, role: str) -> str:
        """The role under which features are cached: "any" when both roles sample the same clip."""
        return "any" if self.generated == self.reference else role

    def describe(self) -> dict:
        return {"length": self.length, "generated": self.generated, "reference": self.reference,
                "min_frames": self.min_frames, "seed": self.seed}


class _NoBackbone:
    """For extractors without a network (e.g. FVMD with the Lucas–Kanade tracker)."""

    model = None
    weights_sha256 = "none"
    flags: list[str] = []


@dataclass
class FeatureExtractor:
    """Video → features ``[k, d]``. ``forward(model, frames_uint8_THWC) -> np.ndarray[k, d]``."""

    name: str
    backbone: str
    sampling: ClipSampling
    preprocessing: dict
    forward: Callable
    feature_dim: int
    per: str = "clip"  # "clip", "frame" or "window": what one feature row is
    standard: bool = True
    loaded: object = field(default=None, repr=False)
    label: str | None = None  # what makes the features non-standard, for the flag (default: the backbone's name)
    #: batchable extractors split ``forward`` into ``prepare(model, frames) -> x [1, ...]`` (one clip, on the model's
    #: device) and ``network(model, x [B, ...]) -> features [B, d]``, so clips of several videos share a forward pass
    prepare: Callable | None = field(default=None, repr=False)
    network: Callable | None = field(default=None, repr=False)
    device: str = "cpu"  # where the backbone runs (set by :meth:`load`); features come back as CPU float32
    #: clips per forward pass across videos (set by the evaluation from ``--batch``); above 1 the features can differ
    #: in the last bits from one clip per pass, so they get their own cache key
    batch: int = 1

    def load(self, allow_random: bool | None = None, weights=None, device: str | None = None):
        """Resolve and verify the backbone's weights and build it on ``device`` (default
        :func:`~vgbench.metrics.backbones.registry.default_device`: ``$VGBENCH_DEVICE``, else CUDA when visible, else
        CPU). Raises WeightsMissingError with instructions; ``weights``: user-supplied files
        (:class:`~vgbench.metrics.backbones.registry.UserWeights` or ``{name: path}``)."""
        if self.loaded is None:
            if self.backbone == "none":
                self.loaded = _NoBackbone()
                self.device = "cpu"
            else:
                from vgbench.metrics.backbones.registry import (UserWeights, default_device, get_backbone_entry,
                                                                load_backbone)

                user = weights if isinstance(weights, UserWeights) else UserWeights(weights)
                self.device = device or default_device()
                self.loaded = load_backbone(self.backbone, allow_random=allow_random, device=self.device,
                                            user_weights=user.path_for(get_backbone_entry(self.backbone).weights))
        return self.loaded

    @property
    def weights_sha256(self) -> str:
        return self.load().weights_sha256

    @property
    def flags(self) -> list[str]:
        flags = list(self.load().flags)
        if not self.standard:
            flags.append(f"non-standard features ({self.label or self.backbone}): not comparable with published "
                         "values")
        return flags

    def cache_key(self) -> str:
        from vgbench.bench.video import DECODING_REVISION

        key = {"v": VERSION, "decoding": DECODING_REVISION, "name": self.name, "backbone": self.backbone,
               "weights": self.weights_sha256, "pre": self.preprocessing, "sampling": self.sampling.describe()}
        if self.batchable and self.batch > 1:  # batch 1 keeps the keys (and caches) it always had
            key["batch"] = self.batch
        return f"{self.name}-" + stable_hash(key, 16)

    def describe(self) -> dict:
        return {"extractor": self.name, "backbone": self.backbone, "weights_sha256": self.weights_sha256,
                "device": self.device,
                "preprocessing": self.preprocessing, "sampling": self.sampling.describe(), "per": self.per,
                "feature_dim": self.feature_dim, "cache_key": self.cache_key(),
                **({"batch": self.batch} if self.batchable and self.batch > 1 else {})}

    def extract(self, video: Video, role: str = "generated", video_sha256: str = "") -> np.ndarray:
        import torch

        idx = self.sampling.indices(video.num_frames, role, video_sha256)
        frames = video.frames[idx]
        with torch.inference_mode():
            out = self.forward(self.load().model, frames)
        out = np.asarray(out, dtype=np.float32)
        if out.ndim != 2 or out.shape[1] != self.feature_dim:
            raise MetricError(f"{self.name}: unexpected feature shape {out.shape}")
        return out


    @property
    def batchable(self) -> bool:
        return self.prepare is not None and self.network is not None

    def extract_many(self, clips: list[tuple[Video, str, str]]) -> list:
        """Features of several videos, ``clips`` = ``[(video, role, video_sha256), ...]``: per clip a float32
        ``[k, d]`` array, or the exception that clip raised (bad input fails its clip only).

        A batchable extractor stacks the prepared clips of one shape into one forward pass (the caller bounds how many
        by the batch size); the others extract one by one. Batched features equal one-by-one features up to float
        rounding (the last bits can depend on the batch's composition: with batch 1, as on CPU by default, they are
        bitwise those of :meth:`extract`)."""
        import torch

        out: list = [None] * len(clips)
        if not self.batchable or len(clips) == 1:
            for i, (video, role, sha) in enumerate(clips):
                try:
                    out[i] = self.extract(video, role, sha)
                except (VgbenchError, ValueError, RuntimeError) as e:
                    out[i] = e
            return out
        model = self.load().model
        prepared: dict[tuple, list[tuple[int, Any]]] = {}
        with torch.inference_mode():
            for i, (video, role, sha) in enumerate(clips):
                try:
                    x = self.prepare(model, video.frames[self.sampling.indices(video.num_frames, role, sha)])
                    if x.shape[0] != 1:
                        raise MetricError(f"{self.name}: prepare must give one clip [1, ...], gave {tuple(x.shape)}")
                    prepared.setdefault((tuple(x.shape), x.dtype), []).append((i, x))
                except (VgbenchError, ValueError, RuntimeError) as e:
                    out[i] = e
            for group in prepared.values():
                try:
                    feats = _cpu(self.network(model, torch.cat([x for _, x in group])))
                except RuntimeError:  # e.g. out of memory for the whole batch: one clip at a time instead
                    for i, x in group:
                        try:
                            out[i] = np.asarray(_cpu(self.network(model, x)), dtype=np.float32)
                        except RuntimeError as e:
                            out[i] = e
                    continue
                for row, (i, _) in enumerate(group):
                    f = np.asarray(feats[row:row + 1], dtype=np.float32)
                    out[i] = f if f.shape[1] == self.feature_dim else MetricError(
                        f"{self.name}: unexpected feature shape {f.shape}")
        return out


# ---- forwards -----------------------------------------------------------------------------------------------------
# Each forward takes uint8 THWC frames on the CPU, moves them to the model's device as uint8 (4× less to copy than
# float32), preprocesses there and returns CPU float32 features.
def _device_of(model):
    import torch

    p = next(iter(model.parameters()), None) if isinstance(model, torch.nn.Module) else None
    return p.device if p is not None else torch.device("cpu")


def _cpu(x) -> np.ndarray:
    return x.float().cpu().numpy()


def _uint8_thwc(frames: np.ndarray, model):
    import torch

    return torch.from_numpy(np.ascontiguousarray(frames)).to(_device_of(model))


def _frames_tchw01(frames: np.ndarray, model=None):
    return _uint8_thwc(frames, model).permute(0, 3, 1, 2).float() / 255.0


def _clip_forward(prepare: Callable, network: Callable) -> Callable:
    """``forward(model, frames)`` of a batchable extractor: one clip prepared, one forward pass, CPU features."""
    def forward(model, frames):
        return _cpu(network(model, prepare(model, frames)))
    return forward


def _net_scripted_rescale(model, x):
    return model(x, rescale=True, resize=True)


def _net_scripted(model, x):
    return model(x, rescale=False, resize=False)


def _net_features(model, x):
    return model.features(x)


def _net_forward_features(model, x):
    return model.forward_features(x)


def _prep_styleganv(model, frames):
    """StyleGAN-V (universome/stylegan-v@3fecd69c602e ``src/metrics/metric_utils.py::
    compute_feature_stats_for_dataset``): the dataset's **uint8** frames as ``[B, C, T, H, W]``; the TorchScript
    rescales them to [-1, 1] and resizes to 224×224 itself (``rescale=True, resize=True``)."""
    return _uint8_thwc(frames, model).permute(3, 0, 1, 2)[None]


def _prep_common_metrics(model, frames):
    """common_metrics_on_video_quality: shorter side 224 bilinear (no antialias), centre crop, [-1, 1];
    ``[1, 3, T, 224, 224]`` (the TorchScript called with ``rescale=False, resize=False``)."""
    from vgbench.metrics.distribution.preprocess import short_side_resize_crop

    x = short_side_resize_crop(_frames_tchw01(frames, model), 224)  # [T,3,224,224] in [0,1]
    return ((x - 0.5) * 2).permute(1, 0, 2, 3)[None]


def _prep_videogpt(model, frames):
    """VideoGPT ``videogpt/data.py::preprocess`` (shorter side 224 bilinear, centre crop, ``x/255 − 0.5``) then
    ``videogpt/fvd/fvd.py::preprocess``'s ×2 → [-1, 1] (wilson1yan/VideoGPT@733d2b1541e1; the ×2 since ce18ae8)."""
    from vgbench.metrics.distribution.preprocess import short_side_resize_crop

    x = short_side_resize_crop(_frames_tchw01(frames, model), 224)
    return ((x - 0.5) * 2).permute(1, 0, 2, 3)[None]


def _prep_tf(model, frames):
    """The TF-Hub FVD preprocessing: TF1 ``resize_bilinear`` to 224×224 (aspect not kept), [-1, 1]."""
    from vgbench.metrics.distribution.preprocess import tf1_resize_bilinear

    x = tf1_resize_bilinear(_frames_tchw01(frames, model) * 255.0, (224, 224))
    return (2 * x / 255.0 - 1).permute(1, 0, 2, 3)[None]


def _frames_tchw255(frames: np.ndarray, model=None):
    """uint8 THWC → float32 TCHW with the exact values 0..255 (``torch.FloatTensor(uint8 array)``)."""
    return _uint8_thwc(frames, model).permute(0, 3, 1, 2).float()


def _prep_tats(model, frames):
    """TATS ``tats/fvd/fvd.py::preprocess`` (songweige/TATS@03bbce1daa3d): every frame bilinear to 224×224 on 0..255
    floats (aspect not kept), ``2·x/255 − 1``."""
    from vgbench.metrics.distribution.preprocess import squash_resize

    x = squash_resize(_frames_tchw255(frames, model), 224)
    return (2.0 * x / 255.0 - 1).permute(1, 0, 2, 3)[None]


def _prep_cdfvd_videomae(model, frames):
    """cd-fvd's VideoMAE-v2 input: shorter side 128 (antialias) + crop, a uint8 round trip, squash to 224, [0, 1]."""
    import torch

    from vgbench.metrics.distribution.preprocess import short_side_resize_crop, squash_resize

    x = short_side_resize_crop(_frames_tchw01(frames, model), 128, antialias=True)
    x = (x * 255).clamp(0, 255).to(torch.uint8).float() / 255.0  # cd-fvd's uint8 round trip
    return squash_resize(x, 224).permute(1, 0, 2, 3)[None]


def _per_frame(model, x, batch: int = 32):
    import torch

    return _cpu(torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)]))


def _fwd_inception(model, frames):
    return _per_frame(model, _frames_tchw01(frames, model))


def _fwd_inception_probs(model, frames):
    """EvalCrafter's Inception Score input (evalcrafter/EvalCrafter@cc667017 ``metrics/is.py``, which calls
    w86763777/pytorch-gan-metrics@e13f328 ``core.py::get_inception_feature(video, dims=[2048, 1008], use_torch=True)``):
    every frame ``/255`` as float ``[T,3,H,W]``, bilinear to 299×299 (``align_corners=False``), ``2x − 1``, pool3,
    the fc **without its bias**, softmax in float32; 50 frames per forward pass (its default ``batch_size``).
    Returns ``[T, 1008]`` float32 class probabilities (rows sum to 1)."""
    import torch

    x = _frames_tchw01(frames, model)
    return _cpu(torch.cat([torch.softmax(model.logits_unbiased(model.pool3(x[i:i + 50])), dim=1)
                           for i in range(0, len(x), 50)]))


def _fwd_inception_logits_tf1(model, frames):
    """torch-fidelity's Inception Score input (toshas/torch-fidelity 0.4.0 ``feature_extractor_inceptionv3.py``,
    feature ``logits_unbiased``): uint8 frames as float32 0..255, TF1 ``resize_bilinear`` to 299×299
    (``align_corners=False``), ``(x − 128) / 128``, pool3, ``pool3 @ fc.weightᵀ``. Returns ``[T, 1008]`` float32
    logits (the metric takes the softmax in float64, as torch-fidelity's ``isc_features_to_metric``)."""
    import torch

    from vgbench.metrics.distribution.preprocess import tf1_resize_bilinear

    x = _frames_tchw255(frames, model)
    out = []
    for i in range(0, len(x), 32):
        xi = tf1_resize_bilinear(x[i:i + 32], (299, 299))
        out.append(model.logits_unbiased(model.trunk((xi - 128) / 128)))
    return _cpu(torch.cat(out))


def _fwd_efficientnet(model, frames):
    import torch

    from vgbench.metrics.distribution.preprocess import squash_resize

    x = squash_resize(_frames_tchw01(frames, model), 224, antialias=True)
    mean = torch.tensor([0.485, 0.456, 0.406], device=x.device)[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225], device=x.device)[:, None, None]
    return _per_frame(model, (x - mean) / std)


def _fwd_efficientnet_video(model, frames):
    """One row per clip: [mean frame feature, mean |feature(t+1) − feature(t)|] (2560-d): appearance + temporal
    coherence, so frame shuffling moves it (a frame-level FD cannot see shuffling)."""
    f = _fwd_efficientnet(model, frames)
    return np.concatenate([f.mean(0), np.abs(np.diff(f, axis=0)).mean(0)])[None]


def _fwd_c3d_probs(model, frames):
    """TGANv2's video Inception Score input (pfnet-research/tgan2@f892bc432da3 ``datasets/h5video.py``: ``(x − 128) /
    128`` as float32 ``[1, 3, 16, H, W]``; ``evaluations/inception_score.py``: ``F.softmax(classifier(x))`` in
    float32). Returns ``[1, 101]`` class probabilities."""
    import torch

    x = (_uint8_thwc(frames, model).float() - 128.0) / 128.0
    return _cpu(torch.softmax(model(x.permute(3, 0, 1, 2)[None]), dim=1))


@dataclass
class C3DExtractor(FeatureExtractor):
    """The C3D extractor also loads TGANv2's mean clip (weights file ``c3d_ucf101_mean``, ``mean2.npz``): the
    ``--weights c3d_ucf101_mean=PATH`` file, else the registry's (verified, offline first). Its SHA-256 joins the
    preprocessing (so the cache key). With random weights allowed and no mean file, a constant mean of 100 stands in
    (the result is flagged random anyway)."""

    def load(self, allow_random: bool | None = None, weights=None, device: str | None = None):
        first = self.loaded is None
        loaded = super().load(allow_random, weights, device)
        if first:
            self._load_mean(loaded, weights)
        return loaded

    def _load_mean(self, loaded, weights) -> None:
        from vgbench.metrics.backbones.registry import STANDALONE_WEIGHTS, UserWeights
        from vgbench.metrics.backbones.weights import WeightsMissingError, resolve, resolve_user

        wf = STANDALONE_WEIGHTS["c3d_ucf101_mean"]
        user = weights if isinstance(weights, UserWeights) else UserWeights(weights)
        given = user.path_for(wf.name)
        try:
            found = resolve_user(wf, given) if given else resolve(wf, download=not loaded.random)
        except WeightsMissingError:
            if not loaded.random:
                raise
            self.preprocessing = {**self.preprocessing, "mean2": "constant 100 (random weights)"}
            return
        try:
            with np.load(found.path) as z:
                loaded.model.set_mean(z["mean"])
        except (KeyError, ValueError, OSError) as e:
            raise MetricError(f"{found.path}: not TGANv2's mean2.npz ({e}); it holds 'mean' [3, 16, 128, 171]") from e
        self.preprocessing = {**self.preprocessing, "mean2_sha256": found.sha256}


_I3D_RANGE = "[-1,1]"

#: Feature extractor name → factory (the metrics' protocols name one). Third-party packages add extractors through the
#: ``vgbench.extractors`` entry-point group (a callable returning a :class:`FeatureExtractor`).
EXTRACTORS: Registry[Callable[[], FeatureExtractor]] = Registry("feature extractor", group="vgbench.extractors",
                                                                name_attribute=None)
_BUILTIN_EXTRACTORS: dict[str, Callable[[], FeatureExtractor]] = {
    "i3d-styleganv": lambda: FeatureExtractor(
        "i3d-styleganv", "i3d_torchscript", ClipSampling(16, "first", "random", 16),
        {"input": "uint8 BCTHW (uint8 dtype)", "torchscript": "rescale=True, resize=True"},
        _clip_forward(_prep_styleganv, _net_scripted_rescale), 400, prepare=_prep_styleganv,
        network=_net_scripted_rescale),
    "i3d-common_metrics": lambda: FeatureExtractor(
        "i3d-common_metrics", "i3d_torchscript", ClipSampling(None, "first", "first", 10),
        {"resize": "short side 224 bilinear (no antialias) + centre crop", "range": _I3D_RANGE,
         "torchscript": "rescale=False, resize=False"}, _clip_forward(_prep_common_metrics, _net_scripted), 400,
        prepare=_prep_common_metrics, network=_net_scripted),
    "i3d-videogpt": lambda: FeatureExtractor(
        "i3d-videogpt", "i3d_pretrained_400", ClipSampling(16, "first", "random", 16),
        {"resize": "short side 224 bilinear + centre crop", "range": "[-1,1] ((x/255-0.5)*2, as VideoGPT)",
         "bn_eps": 1e-5}, _clip_forward(_prep_videogpt, _net_features), 400, prepare=_prep_videogpt,
        network=_net_features),
    "i3d-tf": lambda: FeatureExtractor(
        "i3d-tf", "i3d_torchscript", ClipSampling(16, "first", "first", 16),
        {"resize": "squash 224x224, TF1 resize_bilinear (align_corners=False)", "range": _I3D_RANGE,
         "torchscript": "rescale=False, resize=False"}, _clip_forward(_prep_tf, _net_scripted), 400,
        prepare=_prep_tf, network=_net_scripted),
    "i3d-tats": lambda: FeatureExtractor(
        "i3d-tats", "i3d_pretrained_400", ClipSampling(16, "first", "random", 16),
        {"resize": "squash 224x224 torch bilinear", "range": _I3D_RANGE, "bn_eps": 1e-5},
        _clip_forward(_prep_tats, _net_features), 400, prepare=_prep_tats, network=_net_features),
    "videomae-cdfvd": lambda: FeatureExtractor(
        "videomae-cdfvd", "videomaev2_g_ssv2", ClipSampling(16, "random", "random", 16),
        {"resize": "short side 128 bilinear antialias + crop, uint8, squash 224", "range": "[0,1]"},
        _clip_forward(_prep_cdfvd_videomae, _net_forward_features), 1408, prepare=_prep_cdfvd_videomae,
        network=_net_forward_features),
    "inception-frames": lambda: FeatureExtractor(
        "inception-frames", "inception_v3_fid", ClipSampling(None, "first", "first", 1),
        {"resize": "299 bilinear", "range": "[-1,1]", "frames": "all"}, _fwd_inception, 2048, per="frame"),
    "inception-probs-frames": lambda: FeatureExtractor(
        "inception-probs-frames", "inception_v3_fid", ClipSampling(None, "first", "first", 1),
        {"resize": "299 bilinear", "range": "[-1,1]", "frames": "all", "output": "softmax of bias-free fc (1008)"},
        _fwd_inception_probs, 1008, per="frame"),
    "inception-logits-tf1-frames": lambda: FeatureExtractor(
        "inception-logits-tf1-frames", "inception_v3_fid", ClipSampling(None, "first", "first", 1),
        {"resize": "299 TF1 resize_bilinear on 0..255", "range": "(x-128)/128", "frames": "all",
         "output": "bias-free fc logits (1008)"}, _fwd_inception_logits_tf1, 1008, per="frame"),
    "c3d-tganv2": lambda: C3DExtractor(
        "c3d-tganv2", "c3d_ucf101", ClipSampling(16, "first", "first", 16),
        {"range": "(x-128)/128", "frames": "first 16", "output": "softmax of fc8 (101), float32"},
        _fwd_c3d_probs, 101),
    "efficientnet-frames": lambda: FeatureExtractor(
        "efficientnet-frames", "efficientnet_lite0", ClipSampling(None, "first", "first", 1),
        {"resize": "squash 224 bilinear antialias", "normalisation": "ImageNet", "frames": "all"},
        _fwd_efficientnet, 1280, per="frame", standard=False),
    "efficientnet-video": lambda: FeatureExtractor(
        "efficientnet-video", "efficientnet_lite0", ClipSampling(16, "first", "first", 16),
        {"resize": "squash 224 bilinear antialias", "normalisation": "ImageNet",
         "clip": "[mean frame feature, mean abs temporal difference]"}, _fwd_efficientnet_video, 2560, standard=False),
}


for _name, _factory in _BUILTIN_EXTRACTORS.items():
    EXTRACTORS.add(_name, _factory)
# FVMD's motion features live in their own module, which builds on this one (imported when first asked for)
EXTRACTORS.add("fvmd-lk", "vgbench.metrics.distribution.motion_features:fvmd_lk")
EXTRACTORS.add("fvmd-pips2", "vgbench.metrics.distribution.motion_features:fvmd_pips2")


def create_extractor(name: str) -> FeatureExtractor:
    """A new feature extractor ``name`` (not loaded: its weights are resolved by ``load``).

    Raises:
        ConfigError: unknown name (the message lists the known ones).
    """
    return EXTRACTORS.get(name)()
