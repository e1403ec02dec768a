"""Aggregation schemes: how per-dimension scores become group scores and a total.

A scheme is data: for each dimension a ``[min, max]`` normalisation range, a weight and a group; for each group a
weight. ``norm_d = (score_d − min_d)/(max_d − min_d) · w_d`` (no clipping); a group's score is
``Σ norm_d / Σ w_d`` over its dimensions; the total is the group-weighted mean of the group scores. A dimension
without a score counts as a raw 0 (as VBench's ``cal_final_score.py`` / ``cal_i2v_final_score.py`` set it, so its
normalised value is ``−min/(max−min)``, negative when ``min > 0``) and is reported as missing.

Built in: ``vbench`` (``scripts/constant.py`` + ``cal_final_score.py``, metric-recipes §8.2): Quality over 7
dimensions (dynamic degree weighs 0.5, so Σw = 6.5), Semantic over 9, Total = (4·Quality + Semantic)/5. Inputs are
0–1 fractions (VBench's ``eval_results.json`` units; imaging quality already /100); outputs too.

User schemes come from a YAML/JSON file::

    name: my-scheme
    groups: {quality: 2, alignment: 1}
    dimensions:
      temporal_flickering/vbench: {group: quality, min: 0.6, max: 1.0}
      clip_score/clipsim:         {group: alignment, weight: 1.0}

Dimension keys may be metric protocol ids (``clip_score/clipsim``) or VBench dimension names; a metric name alone
(``temporal_flickering``) matches its default protocol.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from vgbench.bench.errors import ConfigError
from vgbench.bench.registry import Registry
from vgbench.metrics.vbench.table import DIMENSIONS as VBENCH_DIMENSIONS, protocol_dimensions


@dataclass(frozen=True)
class Dimension:
    name: str
    group: str
    min: float = 0.0
    max: float = 1.0
    weight: float = 1.0

    def normalise(self, score: float) -> float:
        return (score - self.min) / (self.max - self.min) * self.weight


@dataclass(frozen=True)
class Scheme:
    name: str
    dimensions: tuple[Dimension, ...]
    groups: Mapping[str, float]
    total_name: str = "total"
    description: str = ""

    def dimension_names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    def aggregate(self, scores: Mapping[str, float | None]) -> dict[str, Any]:
        """``scores`` (dimension → 0–1 value) → ``{"total", <group>: ..., "normalised": {...}, "missing": [...]}``."""
        normalised, missing = {}, []
        for d in self.dimensions:
            v = scores.get(d.name)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                missing.append(d.name)
                normalised[d.name] = d.normalise(0.0)  # a raw 0, as VBench's submission() sets it (negative when min > 0)
            else:
                normalised[d.name] = d.normalise(float(v))
        out: dict[str, Any] = {}
        for g in self.groups:
            dims = [d for d in self.dimensions if d.group == g]
            out[g] = math.fsum(normalised[d.name] for d in dims) / math.fsum(d.weight for d in dims)
        wsum = math.fsum(self.groups.values())
        out[self.total_name] = math.fsum(w * out[g] for g, w in self.groups.items()) / wsum
        out["normalised"] = normalised
        out["missing"] = missing
        return out


VBENCH = Scheme(
    "vbench",
    tuple(Dimension(d.name, d.group, d.min, d.max, d.weight) for d in VBENCH_DIMENSIONS),
    {"quality": 4.0, "semantic": 1.0},
    description="VBench: min-max normalised dimensions (VBench's table), Quality (7 dims, dynamic degree ×0.5), "
                "Semantic (9 dims), Total = (4·Quality + Semantic)/5")

#: VBench-I2V's Total (Vchitect/VBench@45e79ec14e69 ``scripts/cal_i2v_final_score.py`` with ``scripts/constant.py``
#: NORMALIZE_DIC_I2V and DIM_WEIGHT_I2V): I2V score over camera motion (weight 0.1), video–image subject and
#: background consistency; Quality over six VBench dimensions (dynamic degree 0.5); Total = (I2V + Quality)/2. A
#: dimension without a result counts 0, as its ``submission`` does.
VBENCH_I2V = Scheme(
    "vbench-i2v",
    (Dimension("camera_motion", "i2v", 0.0, 1.0, 0.1), Dimension("i2v_subject", "i2v", 0.1462, 1.0),
     Dimension("i2v_background", "i2v", 0.2615, 1.0),
     Dimension("subject_consistency", "quality", 0.1462, 1.0), Dimension("background_consistency", "quality", 0.2615, 1.0),
     Dimension("motion_smoothness", "quality", 0.706, 0.9975), Dimension("dynamic_degree", "quality", 0.0, 1.0, 0.5),
     Dimension("aesthetic_quality", "quality", 0.0, 1.0), Dimension("imaging_quality", "quality", 0.0, 1.0)),
    {"i2v": 1.0, "quality": 1.0},
    description="VBench-I2V: I2V score (camera motion ×0.1, video-image subject and background consistency) and "
                "Quality (6 dims, dynamic degree ×0.5), min-max normalised; Total = (I2V + Quality)/2")

#: metric protocol ids of vgbench that compute a VBench dimension (``vgbench evaluate --dimensions``), from
#: :mod:`vgbench.metrics.vbench.table`
VBENCH_PROTOCOLS = protocol_dimensions()

#: Built-in aggregation schemes by name; third-party packages add theirs through the ``vgbench.schemes`` entry-point
#: group (a :class:`Scheme` object).
SCHEMES: Registry[Scheme] = Registry("aggregation scheme", group="vgbench.schemes", name_attribute=None)
SCHEMES.add("vbench", VBENCH)
SCHEMES.add("mlperf-t2v", "vgbench.leaderboards.mlperf:MLPERF_T2V")
SCHEMES.add("vbench-i2v", VBENCH_I2V)


def load_scheme(spec: str | Path) -> Scheme:
    """A registered scheme name or a YAML/JSON scheme file (see the module docstring).

    Raises:
        ConfigError: neither a registered name nor a readable scheme file.
    """
    if str(spec) in SCHEMES:
        return SCHEMES.get(str(spec))
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"unknown aggregation scheme {spec!r}: use one of {', '.join(SCHEMES.names())} or a "
                          "YAML/JSON file")
    import yaml

    from vgbench.bench.safeload import load_yaml, read_input

    try:
        doc = load_yaml(read_input(path), str(path))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: invalid YAML/JSON: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("dimensions"), dict) or not doc["dimensions"]:
        raise ConfigError(f"{path}: a scheme needs a 'dimensions' mapping (name → {{group, min, max, weight}})")
    groups = doc.get("groups") or {"total": 1.0}
    dims = []
    for name, d in doc["dimensions"].items():
        d = d or {}
        group = d.get("group", next(iter(groups)))
        if group not in groups:
            raise ConfigError(f"{path}: dimension {name!r} is in group {group!r}, which 'groups' does not list")
        lo, hi = float(d.get("min", 0.0)), float(d.get("max", 1.0))
        if hi == lo:
            raise ConfigError(f"{path}: dimension {name!r} has min == max")
        dims.append(Dimension(str(name), group, lo, hi, float(d.get("weight", 1.0))))
    return Scheme(str(doc.get("name") or path.stem), tuple(dims), {str(k): float(v) for k, v in groups.items()},
                  description=str(doc.get("description", "")))
