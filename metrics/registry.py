"""Metric registry: names → lazily imported classes.

On the command line a metric is ``NAME`` (default protocol) or ``NAME/PROTOCOL`` (e.g. ``psnr/pooled_mse``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from vgbench.bench.errors import ConfigError
from vgbench.bench.registry import Registry

if TYPE_CHECKING:
    from vgbench.metrics.base import Metric


#: Every metric: name → its class, imported when first asked for. The metadata (kind, summary, protocols, reference
#: or prompt needs, optional packages) is declared on the class; third-party packages add metrics through the
#: ``vgbench.metrics`` entry-point group (docs/architecture.md).
METRICS: Registry[type[Metric]] = Registry("metric", base="vgbench.metrics.base:Metric", group="vgbench.metrics",
                                            listing="vgbench metrics list")

#: Optional packages by import name → (distribution, the vgbench extra that installs it).
OPTIONAL_PACKAGES = {
    "open_clip": ("open-clip-torch", "models"),
    "torchvision": ("torchvision", "models"),
    "transformers": ("transformers", "diffusers"),
    "diffusers": ("diffusers", "diffusers"),
    "accelerate": ("accelerate", "diffusers"),
    "sentencepiece": ("sentencepiece", "diffusers"),
}


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

    missing = missing_modules(get_metric_class(name).required_modules(protocol))
    if missing:
        what = f"{name}/{protocol}" if protocol else name
        raise UsageError(f"metric {what} needs {', '.join(missing)}, which is not installed: {install_hint(missing)}")


for _name, _target in (
    ("psnr", "vgbench.metrics.quality.psnr_ssim:PSNR"),
    ("ssim", "vgbench.metrics.quality.psnr_ssim:SSIM"),
    ("temporal_flickering", "vgbench.metrics.vbench.temporal_flickering:TemporalFlickering"),
    ("fvd", "vgbench.metrics.distribution.fvd:FVD"),
    ("kvd", "vgbench.metrics.distribution.kvd:KVD"),
    ("fvmd", "vgbench.metrics.distribution.fvmd:FVMD"),
    ("fid", "vgbench.metrics.distribution.fid:FID"),
    ("kid", "vgbench.metrics.distribution.fid:KID"),
    ("is", "vgbench.metrics.distribution.inception_score:InceptionScore"),
    ("clip_score", "vgbench.metrics.alignment.clip_score:CLIPScore"),
    ("viclip_score", "vgbench.metrics.alignment.viclip_score:ViCLIPScore"),
    ("blip_score", "vgbench.metrics.alignment.blip_score:BLIPScore"),
    ("dover", "vgbench.metrics.quality.dover:DOVERScore"),
    ("lpips", "vgbench.metrics.quality.lpips:LPIPS"),
    ("vmaf", "vgbench.metrics.quality.vmaf:VMAF"),
):
    METRICS.add(_name, _target)


def _register_dimensions() -> None:
    """The VBench dimensions that bring their own metric are registered from their table row."""
    from vgbench.metrics.vbench.table import DIMENSIONS, I2V_DIMENSIONS

    for d in (*DIMENSIONS, *I2V_DIMENSIONS):
        if d.target:
            METRICS.add(d.metric.partition("/")[0], d.target)


_register_dimensions()


def metric_names() -> list[str]:
    """Every registered metric name (built-in and entry points), sorted."""
    return METRICS.names()


def get_metric_class(name: str) -> type[Metric]:
    """The class of metric ``name``.

    Raises:
        ConfigError: unknown name, or the registered class is not a :class:`~vgbench.metrics.base.Metric`.
    """
    return METRICS.get(name)


def create_metric(spec: str):
    """Instantiate ``NAME``, ``NAME/PROTOCOL`` or ``NAME/PROTOCOL@key=value@...`` (options, see ``metrics list``)."""
    from vgbench.metrics.base import parse_metric_spec

    name, protocol, options = parse_metric_spec(spec)
    cls = get_metric_class(name)  # metric modules import torch and their optional packages lazily
    check_requirements(name, protocol or next(iter(cls.protocols)))
    return cls(protocol, options)


def revision_status(protocol_id: str) -> tuple[int, int, str]:
    """(revision the stored id carries, the protocol's current revision, what the current revision changed) for a
    stored protocol id such as ``"fvd/videogpt"`` (revision 1) or ``"fvd/videogpt@rev=2"``. An unknown metric or
    protocol reports its own revision as current."""
    from vgbench.metrics.protocol_id import split_revision

    base, rev = split_revision(protocol_id)
    name, _, rest = base.partition("/")
    protocol = rest.split("@")[0]
    try:
        cls = get_metric_class(name)
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
        METRICS.entry(s.partition("/")[0].partition("@")[0])
    return specs


def describe_metric(name: str) -> dict:
    """What ``vgbench metrics list`` shows of metric ``name``, read from its class: kind, direction, summary, reference
    and prompt needs, protocols with their revision, id and parity verification, and options. JSON-ready."""
    from dataclasses import asdict

    from vgbench.metrics.parity import PARITY

    cls = get_metric_class(name)
    parity = {}
    for p in cls.protocols:
        rev = int(cls.revisions.get(p, 1))
        entry = PARITY.get(f"{name}/{p}")
        parity[p] = {"revision": rev, "protocol_id": f"{name}/{p}" + (f"@rev={rev}" if rev > 1 else ""),
                     "verified": asdict(entry) if entry and entry.revision == rev else None}
    return {"name": name, "kind": cls.kind.value, "higher_is_better": cls.higher_is_better,
            "protocols": dict(cls.protocols), "parity": parity, "needs_reference": cls.needs_reference,
            "needs_prompt": cls.needs_prompt, "needs_download": cls.needs_download,
            "options": {k: {"default": o.default, "help": o.help, "affects_result": o.affects_result}
                        for k, o in cls.options.items()},
            "summary": cls.summary, "origin": METRICS.entry(name).origin,
            **({"dimension": cls.dimension} if cls.dimension else {}),
            **({"requires": cls.requires if isinstance(cls.requires, dict) else list(cls.requires)}
               if cls.requires else {})}
