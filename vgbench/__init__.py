"""vgbench: evaluation and benchmarking harness for AI video generation models.

One import namespace: the repository's design-card folders install as subpackages (``vgbench.bench``: the core and
the harness and the CLI; ``vgbench.metrics``; ``vgbench.prompts``; ``vgbench.leaderboards``;
``vgbench.reference_models``). ``import vgbench`` is light (no torch, no numpy); the public API below is imported on
first use::

    import vgbench
    report = vgbench.evaluate(vgbench.EvalConfig(videos="out/runs/shapes", metrics=["temporal_flickering"]))
    print(report.results["temporal_flickering"].value)

Importing this package first installs the torchvision compatibility hook (:mod:`vgbench.bench._torchvision_compat`),
so every vgbench module gets it before anything imports torchvision.
"""
from __future__ import annotations

import os as _os

# In a source checkout this folder sits beside bench/, metrics/, ... (the installed wheel nests them inside it). When
# Python finds this folder first (the working directory is the checkout), let the subpackages be found beside it, so
# `python -m vgbench` and the tests work from the checkout whether vgbench is installed editable, normally or not.
_checkout = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _os.path.isfile(_os.path.join(_checkout, "pyproject.toml")) and \
        _os.path.isfile(_os.path.join(_checkout, "bench", "__init__.py")) and _checkout not in __path__:
    __path__.append(_checkout)

from vgbench.bench import _torchvision_compat  # noqa: E402

_torchvision_compat.install_hook()

__version__ = "0.1.0"

#: public name → "module:attribute" (imported on first access)
_PUBLIC = {
    "EvalConfig": "vgbench.bench.config:EvalConfig",
    "evaluate": "vgbench.bench.evaluate:evaluate",
    "EvaluationReport": "vgbench.bench.evaluate:EvaluationReport",
    "RunConfig": "vgbench.bench.runs:RunConfig",
    "plan_run": "vgbench.bench.runs:plan_run",
    "execute_run": "vgbench.bench.runs:execute_run",
    "run": "vgbench.bench.pipeline:run",
    "ResultsStore": "vgbench.bench.store:ResultsStore",
    "read_video": "vgbench.bench.video:read_video",
    "create_metric": "vgbench.metrics.registry:create_metric",
    "metric_names": "vgbench.metrics.registry:metric_names",
    "create_generator": "vgbench.reference_models.registry:create_generator",
    "load_suite": "vgbench.prompts:load_suite",
    "Registry": "vgbench.bench.registry:Registry",
    "VgbenchError": "vgbench.bench.errors:VgbenchError",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    try:
        target = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'vgbench' has no attribute {name!r}") from None
    from vgbench.bench.registry import resolve

    value = resolve(target)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
