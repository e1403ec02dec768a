"""Metric registry: names → lazily imported classes.

On the command line a metric is ``NAME`` (default protocol) or ``NAME/PROTOCOL`` (e.g. ``psnr/pooled_mse``).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from vgbench.bench.errors import ConfigError


@dataclass(frozen=True)
class MetricEntry:
    name: str
    target: str  # "module:Class"
    summary: str
    needs_reference: bool = False
    needs_download: bool = False  # its default protocol needs a weights file that is not shipped
    kind: str = "per_item"
    #: optional packages (import names) it needs: a tuple for every protocol, or {protocol: tuple} ("*": the rest)
    requires: tuple[str, ...] | dict[str, tuple[str, ...]] = ()

    def required_modules(self, protocol: str | None) -> tuple[str, ...]:
        if isinstance(self.requires, dict):
            return self.requires.get(protocol or "", self.requires.get("*", ()))
        return self.requires

    def load(self):
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


_REGISTRY: dict[str, MetricEntry] = {}

#: Optional packages by import name → (distribution, the vgbench extra that installs it).
OPTIONAL_PACKAGES = {
    "open_clip": ("open-clip-torch", "models"),
    "torchvision": ("torchvision", "models"),
    "transformers": ("transformers", "diffusers"),
    "diffusers": ("diffusers", "diffusers"),
    "accelerate": ("accelerate", "diffusers"),
    "sentencepiece": ("sentencepiece", "diffusers"),
}
_CLIP = ("open_clip",)
_HF = ("transformers",)


def missing_modules(modules: tuple[str, ...]) -> list[str]:
    """The import names among ``modules`` that cannot be imported here (not installed, or blocked)."""
    import importlib.util
    import sys

    out = []
    for mod in modules:
        if mod in sys.modules:
            if sys.modules[mod] is None:
                out.append(mod)
            continue
        try:
            if importlib.util.find_spec(mod) is None:
                out.append(mod)
        except (ImportError, ValueError):
            out.append(mod)
    return out


def install_hint(modules: list[str]) -> str:
    extras = sorted({OPTIONAL_PACKAGES[m][1] for m in modules if m in OPTIONAL_PACKAGES})
    dists = ", ".join(OPTIONAL_PACKAGES.get(m, (m,))[0] for m in modules)
    if extras:
        return (f'install {dists} with pip install "vgbench[{",".join(extras)}]" (on CPU add '
                "-c constraints-cpu.txt, which pins torch/torchvision)")
    return f"install {dists} (pip install {dists})"


def check_requirements(name: str, protocol: str | None) -> None:
    """Raise :class:`~vgbench.bench.errors.UsageError` naming the extra to install when a metric's optional packages are
    missing; called when a metric is created, so it fails before any generation, decoding or weights loading."""
    from vgbench.bench.errors import UsageError

    missing = missing_modules(get_entry(name).required_modules(protocol))
    if missing:
        what = f"{name}/{protocol}" if protocol else name
        raise UsageError(f"metric {what} needs {', '.join(missing)}, which is not installed: {install_hint(missing)}")


def register(entry: MetricEntry) -> None:
    if entry.name in _REGISTRY:
        raise ConfigError(f"metric {entry.name!r} is registered twice")
    _REGISTRY[entry.name] = entry


for _e in (
    MetricEntry("psnr", "vgbench.metrics.quality.psnr_ssim:PSNR", "PSNR (dB) vs a reference video", needs_reference=True,
                kind="paired"),
    MetricEntry("ssim", "vgbench.metrics.quality.psnr_ssim:SSIM", "SSIM vs a reference video", needs_reference=True,
                kind="paired"),
    MetricEntry("temporal_flickering", "vgbench.metrics.vbench.temporal_flickering:TemporalFlickering",
                "VBench temporal flickering (no model)"),
    MetricEntry("fvd", "vgbench.metrics.distribution.fvd:FVD", "Fréchet Video Distance vs a reference set (I3D / VideoMAE)",
                needs_reference=True, needs_download=True, kind="distribution"),
    MetricEntry("kvd", "vgbench.metrics.distribution.kvd:KVD", "Kernel Video Distance (MMD², I3D features) vs a reference set",
                needs_reference=True, needs_download=True, kind="distribution"),
    MetricEntry("fvmd", "vgbench.metrics.distribution.fvmd:FVMD", "Fréchet Video Motion Distance vs a reference set "
                "(default: Lucas-Kanade tracker, no download, non-standard)", needs_reference=True,
                kind="distribution"),
    MetricEntry("fid", "vgbench.metrics.distribution.fid:FID", "frame-level FID vs a reference set (InceptionV3; or the "
                "offline EfficientNet-Lite0 protocol)", needs_reference=True, needs_download=True, kind="distribution", requires={"stylegan-v": ("torchvision",)}),
    MetricEntry("kid", "vgbench.metrics.distribution.fid:KID", "frame-level KID ×1000 vs a reference set",
                needs_reference=True, needs_download=True, kind="distribution", requires={"stylegan-v": ("torchvision",)}),
    MetricEntry("clip_score", "vgbench.metrics.alignment.clip_score:CLIPScore", "CLIP text-video alignment "
                "(protocols torchmetrics ViT-L/14, clipsim, evalcrafter)", needs_download=True, requires=_CLIP),
    MetricEntry("viclip_score", "vgbench.metrics.alignment.viclip_score:ViCLIPScore", "ViCLIP-L/14 text-video cosine "
                "(VBench overall-consistency recipe)", needs_download=True, requires=_CLIP),
    MetricEntry("dover", "vgbench.metrics.quality.dover:DOVERScore", "DOVER video quality: technical, aesthetic, overall",
                needs_download=True),
    MetricEntry("lpips", "vgbench.metrics.quality.lpips:LPIPS", "LPIPS v0.1 (AlexNet/VGG) vs a reference video",
                needs_reference=True, needs_download=True, kind="paired", requires=("torchvision",)),
    MetricEntry("vmaf", "vgbench.metrics.quality.vmaf:VMAF", "VMAF v0.6.1 (ffmpeg libvmaf) vs a reference video",
                needs_reference=True, kind="paired"),
    MetricEntry("subject_consistency", "vgbench.metrics.vbench.dimensions:SubjectConsistency",
                "VBench subject consistency (DINO ViT-B/16), vbench-exact", needs_download=True),
    MetricEntry("background_consistency", "vgbench.metrics.vbench.dimensions:BackgroundConsistency",
                "VBench background consistency (CLIP ViT-B/32), vbench-exact", needs_download=True, requires=_CLIP),
    MetricEntry("aesthetic_quality", "vgbench.metrics.vbench.dimensions:AestheticQuality",
                "VBench aesthetic quality (CLIP ViT-L/14 + LAION head), vbench-exact", needs_download=True, requires=_CLIP),
    MetricEntry("motion_smoothness", "vgbench.metrics.vbench.dimensions:MotionSmoothness",
                "VBench motion smoothness (AMT-S), vbench-exact", needs_download=True),
    MetricEntry("appearance_style", "vgbench.metrics.vbench.dimensions:AppearanceStyle",
                "VBench appearance style (CLIP ViT-B/32 vs the prompt's style text), vbench-exact",
                needs_download=True, requires=_CLIP),
    MetricEntry("imaging_quality", "vgbench.metrics.vbench.dimensions:ImagingQuality",
                "VBench imaging quality (MUSIQ-SPAQ), vbench-exact", needs_download=True),
    MetricEntry("dynamic_degree", "vgbench.metrics.vbench.dimensions:DynamicDegree",
                "VBench dynamic degree (RAFT things), vbench-exact", needs_download=True),
    MetricEntry("overall_consistency", "vgbench.metrics.vbench.dimensions:OverallConsistency",
                "VBench overall consistency (ViCLIP-L/14 on its prompts), vbench-exact", needs_download=True, requires=_CLIP),
    MetricEntry("temporal_style", "vgbench.metrics.vbench.dimensions:TemporalStyle",
                "VBench temporal style (ViCLIP-L/14 on its prompts), vbench-exact", needs_download=True, requires=_CLIP),
    MetricEntry("human_action", "vgbench.metrics.vbench.semantic:HumanAction",
                "VBench human action (UMT-L/16 Kinetics-400), vbench-exact", needs_download=True),
    MetricEntry("object_class", "vgbench.metrics.vbench.semantic:ObjectClass",
                "VBench object class (OWLv2 detector, vbench-style; GRiT slot)", needs_download=True, requires=_HF),
    MetricEntry("multiple_objects", "vgbench.metrics.vbench.semantic:MultipleObjects",
                "VBench multiple objects (OWLv2 detector, vbench-style)", needs_download=True, requires=_HF),
    MetricEntry("color", "vgbench.metrics.vbench.semantic:Color",
                "VBench colour (OWLv2 colour queries, vbench-style)", needs_download=True, requires=_HF),
    MetricEntry("spatial_relationship", "vgbench.metrics.vbench.semantic:SpatialRelationship",
                "VBench spatial relationship (OWLv2 boxes, vbench-style)", needs_download=True, requires=_HF),
    MetricEntry("scene", "vgbench.metrics.vbench.semantic:Scene",
                "VBench scene (BLIP captions, vbench-style; Tag2Text slot)", needs_download=True, requires=_HF),
):
    register(_e)


def metric_names() -> list[str]:
    return sorted(_REGISTRY)


def get_entry(name: str) -> MetricEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown metric {name!r}; available: {', '.join(metric_names())} "
                          "(see `vgbench metrics list`)") from None


def create_metric(spec: str):
    """Instantiate ``NAME``, ``NAME/PROTOCOL`` or ``NAME/PROTOCOL@key=value@...`` (options, see ``metrics list``)."""
    from vgbench.metrics.base import parse_metric_spec

    name, protocol, options = parse_metric_spec(spec)
    cls = get_entry(name).load()  # metric modules import their optional packages lazily
    check_requirements(name, protocol or next(iter(cls.protocols)))
    return cls(protocol, options) if options else cls(protocol)


def revision_status(protocol_id: str) -> tuple[int, int, str]:
    """(revision the stored id carries, the protocol's current revision, what the current revision changed) for a
    stored protocol id such as ``"fvd/videogpt"`` (revision 1) or ``"fvd/videogpt@rev=2"``. An unknown metric or
    protocol reports its own revision as current."""
    from vgbench.metrics.protocol_id import split_revision

    base, rev = split_revision(protocol_id)
    name, _, rest = base.partition("/")
    protocol = rest.split("@")[0]
    try:
        cls = get_entry(name).load()
    except ConfigError:
        return rev, rev, ""
    current = int(getattr(cls, "revisions", {}).get(protocol, 1))
    note = getattr(cls, "revision_notes", {}).get(protocol, {}).get(current, "")
    return rev, current, note


def parse_metric_list(text: str) -> list[str]:
    specs = [s.strip() for s in text.split(",") if s.strip()]
    if not specs:
        raise ConfigError("--metrics needs at least one metric name")
    for s in specs:
        get_entry(s.partition("/")[0].partition("@")[0])
    return specs
