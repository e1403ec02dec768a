"""The generator registry: names → lazily imported classes, so listing models imports nothing heavy.

Model specs on the command line: ``NAME`` (``shapes``, ``static``, ``noise``) or ``NAME:ARG`` for generators that
take a path (``replay:/videos``, ``folder:/api_outputs``).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from vgbench.bench.errors import ConfigError


@dataclass(frozen=True)
class ModelEntry:
    name: str
    target: str  # "module:Class"
    summary: str
    argument: str | None = None  # what NAME:ARG takes, if anything
    preset: str | None = None  # first constructor argument fixed by the entry (e.g. a diffusers model name)

    def load(self):
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


_REGISTRY: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> None:
    if entry.name in _REGISTRY:
        raise ConfigError(f"model {entry.name!r} is registered twice")
    _REGISTRY[entry.name] = entry


for _e in (
    ModelEntry("shapes", "vgbench.reference_models.builtin.shapes:ShapesGenerator",
               "procedural renderer for the `shapes` suite: coloured shapes moving over a plain background"),
    ModelEntry("noisy-shapes", "vgbench.reference_models.builtin.shapes:NoisyShapesGenerator",
               "shapes plus seeded Gaussian pixel noise (a degraded 'checkpoint' for the regression gate)",
               argument="SIGMA"),
    ModelEntry("static", "vgbench.reference_models.builtin.simple:StaticGenerator", "one rendered frame repeated (no motion)"),
    ModelEntry("noise", "vgbench.reference_models.builtin.simple:NoiseGenerator", "uniform random noise (the worst case)"),
    ModelEntry("replay", "vgbench.reference_models.builtin.replay:ReplayGenerator",
               "real videos from a folder, cropped/resized to the request (the upper bound)", argument="FOLDER"),
    ModelEntry("http", "vgbench.reference_models.http_api:HttpApiGenerator",
               "any model behind an HTTP API (submit, poll, download), configured in a YAML file",
               argument="CONFIG.yaml"),
    ModelEntry("python", "vgbench.reference_models.python_adapter:PythonGenerator",
               "an in-house model or checkpoint: python:MODULE:CALLABLE (a function or a factory)",
               argument="MODULE:CALLABLE"),
    ModelEntry("folder", "vgbench.reference_models.folder:FolderGenerator",
               "pre-generated videos in a folder with an optional manifest.json (API models)", argument="FOLDER"),
):
    register(_e)


def _register_diffusers() -> None:
    from vgbench.reference_models.diffusers_adapters import diffusers_entries

    for name, summary in diffusers_entries():
        register(ModelEntry(name, "vgbench.reference_models.diffusers_adapters:DiffusersGenerator", summary, preset=name))


_register_diffusers()


def model_names() -> list[str]:
    return sorted(_REGISTRY)


def get_entry(name: str) -> ModelEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(model_names())} "
                          "(see `vgbench models list`)") from None


def create_generator(spec: str, **kwargs: Any):
    """Build the generator for ``spec`` (``NAME`` or ``NAME:ARG``); ``kwargs`` are the generator's options."""
    name, sep, arg = spec.partition(":")
    entry = get_entry(name)
    cls = entry.load()
    if entry.argument:
        if not arg:
            raise ConfigError(f"model {name!r} needs {entry.argument}: use --model {name}:{entry.argument}")
        return cls(arg, **kwargs)
    if sep:
        raise ConfigError(f"model {name!r} takes no ':' argument")
    if entry.preset is not None:
        return cls(entry.preset, **kwargs)
    return cls(**kwargs)


def describe(name: str) -> dict[str, Any]:
    """Name, summary and the declared capabilities (for path-taking generators, those of the class)."""
    from dataclasses import asdict

    entry = get_entry(name)
    cls = entry.load()
    caps = cls(entry.preset).capabilities if entry.preset is not None else getattr(cls, "capabilities", None)
    out = {"name": name, "summary": entry.summary, "argument": entry.argument}
    if caps is not None and not isinstance(caps, property):
        out["capabilities"] = asdict(caps)
    return out
