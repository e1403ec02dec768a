"""Published leaderboard rows (papers, READMEs), shown beside measured runs and marked as published.

The CSV has one row per model: ``model, source, total, quality, semantic, <dimension>...`` with values in percent
as papers print them (``../shared/data/vbench/published_scores.csv``). On import every row is recomputed with the
scheme from its own dimension scores; a published Total / Quality / Semantic that differs from the recomputed value
by more than ``tolerance`` (percentage points, after rounding to the published precision) is flagged
``inconsistent``: papers do contain such rows.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from vgbench.bench.errors import ConfigError
from vgbench.leaderboards.schemes import VBENCH, Scheme


@dataclass
class PublishedRow:
    model: str
    source: str
    published: dict[str, float]          # total / group scores as printed (percent)
    dimensions: dict[str, float]         # dimension → percent
    recomputed: dict[str, float] = field(default_factory=dict)  # percent, rounded as published
    inconsistent: list[str] = field(default_factory=list)        # e.g. ["total: published 80.27, recomputed 80.40"]

    @property
    def consistent(self) -> bool:
        return not self.inconsistent


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def load_published(path: str | Path, scheme: Scheme = VBENCH, tolerance: float = 0.01) -> list[PublishedRow]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such published-scores CSV")
    rows = []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        needed = {"model"} | set(scheme.dimension_names())
        missing = needed - set(reader.fieldnames or [])
        if missing:
            raise ConfigError(f"{path}: missing columns {', '.join(sorted(missing))} for scheme {scheme.name}")
        for line_no, r in enumerate(reader, start=2):
            try:
                dims = {d: float(r[d]) for d in scheme.dimension_names() if r.get(d, "").strip()}
            except ValueError as e:
                raise ConfigError(f"{path}:{line_no}: not a number: {e}") from e
            keys = [scheme.total_name, *scheme.groups]
            published = {k: float(r[k]) for k in keys if r.get(k, "").strip()}
            row = PublishedRow(r["model"], r.get("source", ""), published, dims)
            agg = scheme.aggregate({d: v / 100.0 for d, v in dims.items()})
            for k in keys:
                if k not in published:
                    continue
                nd = _decimals(r[k])
                row.recomputed[k] = round(100.0 * agg[k], nd)
                if abs(row.recomputed[k] - published[k]) > tolerance + 1e-9:
                    row.inconsistent.append(f"{k}: published {r[k]}, recomputed {row.recomputed[k]:.{nd}f}")
            if agg["missing"]:
                row.inconsistent.append(f"missing dimensions: {', '.join(agg['missing'])}")
            rows.append(row)
    return rows
