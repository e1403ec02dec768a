"""Published leaderboard rows (papers, READMEs), shown beside measured runs and marked as published.

The CSV has one row per model: ``model, source, <total>, <group>..., <dimension>...`` with values in percent as
papers print them (``../shared/data/vbench/published_scores.csv`` for VBench: ``total, quality, semantic``; the
shipped VBench-I2V table: ``total, i2v, quality``). A value may carry a ``%`` sign; an empty cell, ``nan`` or ``-``
means "not published". On import every row is recomputed with the scheme from its own dimension scores; a published
Total / group score that differs from the recomputed value by more than ``tolerance`` (percentage points, after
rounding to the published precision) is flagged ``inconsistent``: papers do contain such rows. A published score
whose dimensions the row does not give is ``unchecked`` (shown as "not checked").

Shipped tables (``--published NAME``): ``vbench-i2v``, the VBench-I2V leaderboard's rows
(``leaderboards/data/vbench_i2v_published.csv``; every Total, I2V and Quality score recomputes within 0.01).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from vgbench.bench.errors import ConfigError
from vgbench.leaderboards.schemes import VBENCH, Scheme

#: published tables shipped as package data: name → (file in ``vgbench.leaderboards.data``, the scheme they belong to)
PUBLISHED_TABLES = {"vbench-i2v": ("vbench_i2v_published.csv", "vbench-i2v")}

_ABSENT = {"", "nan", "-", "–", "—", "n/a"}


@dataclass
class PublishedRow:
    model: str
    source: str
    published: dict[str, float]          # total / group scores as printed (percent)
    dimensions: dict[str, float]         # dimension → percent
    recomputed: dict[str, float] = field(default_factory=dict)  # percent, rounded as published
    inconsistent: list[str] = field(default_factory=list)        # e.g. ["total: published 80.27, recomputed 80.40"]
    unchecked: list[str] = field(default_factory=list)           # published scores whose dimensions the row lacks

    @property
    def consistent(self) -> bool:
        return not self.inconsistent


def _decimals(text: str) -> int:
    text = text.strip().rstrip("%").strip()
    return len(text.split(".")[1]) if "." in text else 0


def _number(text: str | None) -> float | None:
    """A published cell → percent, or None when not published (empty, ``nan``, ``-``); ``"97.36%"`` → 97.36."""
    text = (text or "").strip().rstrip("%").strip()
    if text.lower() in _ABSENT:
        return None
    v = float(text)  # ValueError for anything else: the caller names the line
    if not math.isfinite(v):
        raise ValueError(f"{text!r} is not a finite number")
    return v


def published_path(spec: str | Path) -> Path:
    """A shipped table's name (:data:`PUBLISHED_TABLES`) or a CSV path → the file."""
    if str(spec) in PUBLISHED_TABLES:
        from importlib.resources import files

        return Path(str(files("vgbench.leaderboards.data") / PUBLISHED_TABLES[str(spec)][0]))
    return Path(spec)


def published_scheme(spec: str | Path) -> str | None:
    """The scheme a shipped table belongs to (None for a user's CSV)."""
    entry = PUBLISHED_TABLES.get(str(spec))
    return entry[1] if entry else None


def load_published(path: str | Path, scheme: Scheme = VBENCH, tolerance: float = 0.01) -> list[PublishedRow]:
    """Read published rows and recompute each with ``scheme``.

    Args:
        path: a CSV file or the name of a shipped table (:data:`PUBLISHED_TABLES`, e.g. ``"vbench-i2v"``).
        scheme: the aggregation scheme the rows' Total and group scores follow.
        tolerance: percentage points a published score may differ from the recomputed one (after rounding).

    Raises:
        ConfigError: no such file; a column the scheme needs is missing; a cell is not a number.
    """
    path = published_path(path)
    if not path.is_file():
        names = ", ".join(PUBLISHED_TABLES)
        raise ConfigError(f"{path}: no such published-scores CSV (give a CSV path or a shipped table: {names})")
    rows = []
    with path.open(newline="", encoding="utf-8-sig") as f:  # -sig: a spreadsheet's "CSV UTF-8" starts with a BOM
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        twice = sorted({h for h in header if header.count(h) > 1})
        if twice:  # the last one would silently win
            raise ConfigError(f"{path}: the header names {', '.join(twice)} twice")
        reader.fieldnames = header
        needed = {"model"} | set(scheme.dimension_names())
        missing = needed - set(reader.fieldnames or [])
        if missing:
            expected = ", ".join(["model", "source", scheme.total_name, *scheme.groups, *scheme.dimension_names()])
            raise ConfigError(f"{path}: missing columns {', '.join(sorted(missing))} for scheme {scheme.name}; the "
                              f"header is: {expected} (values in percent)")
        for r in reader:
            line_no = reader.line_num
            if None in r or None in r.values():  # csv puts extra cells under None, missing ones as None
                raise ConfigError(f"{path}:{line_no}: {'more' if None in r else 'fewer'} cells than the header's "
                                  f"{len(header)} (a comma inside a value needs quotes)")
            keys = [scheme.total_name, *scheme.groups]
            try:
                dims = {d: v for d in scheme.dimension_names() if (v := _number(r.get(d))) is not None}
                published = {k: v for k in keys if (v := _number(r.get(k))) is not None}
            except ValueError as e:
                raise ConfigError(f"{path}:{line_no}: not a number: {e}") from e
            if not (r.get("model") or "").strip():
                raise ConfigError(f"{path}:{line_no}: a row needs a model name")
            if len(dims) >= 3 and max(dims.values()) <= 1.0:  # no dimension is a fraction of a percent
                raise ConfigError(f"{path}:{line_no}: the dimension values look like fractions (0–1); the file gives "
                                  "percent, as papers print them (multiply by 100)")
            row = PublishedRow(r["model"].strip(), r.get("source") or "", published, dims)
            agg = scheme.aggregate({d: v / 100.0 for d, v in dims.items()})
            for k in keys:
                if k not in published:
                    continue
                lacking = [d.name for d in scheme.dimensions
                           if d.name in agg["missing"] and (k == scheme.total_name or d.group == k)]
                if lacking:  # a published score whose dimensions the row does not give cannot be checked
                    row.unchecked.append(f"{k}: not checked, missing dimensions {', '.join(lacking)}")
                    continue
                nd = _decimals(r[k])
                row.recomputed[k] = round(100.0 * agg[k], nd)
                if abs(row.recomputed[k] - published[k]) > tolerance + 1e-9:
                    row.inconsistent.append(f"{k}: published {r[k]}, recomputed {row.recomputed[k]:.{nd}f}")
            rows.append(row)
    return rows
