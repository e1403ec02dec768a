"""Distribution metrics: a set of generated videos against a reference set, through a pinned feature extractor.

State is the per-video feature arrays of both sets, keyed by item (``add_features``); ``merge`` joins shards and
``compute`` concatenates them in sorted key order, so a result does not depend on shard order or arrival order.
Features come from a :class:`~vgbench.metrics.distribution.extractors.FeatureExtractor` that the evaluation shares between
metrics (FVD and KVD of one protocol family extract once) and caches per video on disk.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from vgbench.bench.errors import ConfigError
from vgbench.metrics.base import Metric, MetricKind, MetricResult
from vgbench.metrics.distribution.extractors import FeatureExtractor, create_extractor
from vgbench.metrics.distribution.statistics import bootstrap_ci


@dataclass(frozen=True)
class DistributionProtocol:
    """What a protocol pins beyond the extractor: estimator settings and the sample cap (first N sorted items)."""

    extractor: str
    description: str
    max_items: int | None = None
    options: tuple[tuple[str, Any], ...] = ()
    #: see :attr:`vgbench.metrics.base.Metric.revisions`
    revision: int = 1
    #: what the current revision changed (for messages)
    revision_note: str = ""

    def option(self, name: str, default=None):
        return dict(self.options).get(name, default)


class DistributionMetric(Metric):
    kind: ClassVar[MetricKind] = MetricKind.DISTRIBUTION
    needs_reference: ClassVar[bool] = True
    higher_is_better: ClassVar[bool] = False
    protocol_specs: ClassVar[dict[str, DistributionProtocol]]
    #: bootstrap resamples for the confidence interval (0 disables it)
    n_boot: int = 100
    #: Fréchet-type metrics fit covariances: warn when N < d
    uses_covariance: ClassVar[bool] = True

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        specs = cls.__dict__.get("protocol_specs")
        if specs:
            cls.revisions = {k: v.revision for k, v in specs.items() if v.revision > 1}
            cls.revision_notes = {k: {v.revision: v.revision_note} for k, v in specs.items() if v.revision > 1}

    def __init__(self, protocol: str | None = None, options: dict[str, str] | None = None):
        super().__init__(protocol, options)
        self.spec = self.protocol_specs[self.protocol]
        self._extractor: FeatureExtractor | None = None  # built on first use (create_extractor)

    @property
    def extractor_name(self) -> str:
        return self.spec.extractor

    @property
    def extractor(self) -> FeatureExtractor:
        if self._extractor is None:
            self._extractor = create_extractor(self.spec.extractor)
        return self._extractor

    def use_extractor(self, extractor: FeatureExtractor) -> None:
        if extractor.name != self.spec.extractor:
            raise ConfigError(f"{self.protocol_id} needs extractor {self.spec.extractor}, got {extractor.name}")
        self._extractor = extractor

    def weights_needed(self) -> list[str]:
        from vgbench.metrics.backbones.registry import get_backbone_entry

        b = self.extractor.backbone
        return [get_backbone_entry(b).weights] if b != "none" and get_backbone_entry(b).weights else []

    @property
    def backbone(self) -> str:  # type: ignore[override]
        return self.extractor.backbone

    @property
    def weights_sha256(self) -> str:  # type: ignore[override]
        return self.extractor.weights_sha256

    # ---- state -------------------------------------------------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self._gen: dict[str, np.ndarray] = {}
        self._ref: dict[str, np.ndarray] = {}

    def add_features(self, key: str, feats: np.ndarray, role: str = "generated") -> None:
        (self._gen if role == "generated" else self._ref)[key] = np.asarray(feats, dtype=np.float32)

    def merge(self, other: "DistributionMetric") -> None:
        super().merge(other)
        self._gen.update(other._gen)
        self._ref.update(other._ref)

    def score(self, video, reference=None, prompt=None):
        raise ConfigError(f"{self.name} is a set-level metric: it has no per-video score")

    def _keys(self, role: str) -> list[str]:
        keys = sorted(self._gen if role == "generated" else self._ref)
        return keys[: self.spec.max_items] if self.spec.max_items else keys

    def features(self, role: str = "generated") -> np.ndarray:
        src = self._gen if role == "generated" else self._ref
        keys = self._keys(role)
        if not keys:
            return np.zeros((0, self.extractor.feature_dim), np.float32)
        return np.concatenate([src[k] for k in keys])

    # ---- computing ---------------------------------------------------------------------------------------------
    def distance(self, x: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    def fast_distance(self, x: np.ndarray, y: np.ndarray) -> float:
        """The distance for bootstrap resamples (an exact-identity fast form where one exists)."""
        return self.distance(x, y)

    def extra_details(self, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        return {}

    def _grouped_bootstrap(self, role_keys: tuple[list[str], list[str]]):
        """Bootstrap over videos (all rows of a video move together)."""
        gk, rk = role_keys
        g = [self._gen[k] for k in gk]
        r = [self._ref[k] for k in rk]
        if all(len(a) == 1 for a in g) and all(len(a) == 1 for a in r):
            x, y = np.concatenate(g), np.concatenate(r)
            return bootstrap_ci(self.fast_distance, x, y, self.n_boot)
        rng = np.random.default_rng(0)
        vals = []
        for _ in range(self.n_boot):
            xi = np.concatenate([g[i] for i in rng.integers(0, len(g), len(g))])
            yi = np.concatenate([r[i] for i in rng.integers(0, len(r), len(r))])
            vals.append(self.fast_distance(xi, yi))
        lo, hi = np.quantile(vals, [0.025, 0.975])
        return float(lo), float(hi), vals

    def compute(self) -> MetricResult:
        x, y = self.features("generated"), self.features("reference")
        gk, rk = self._keys("generated"), self._keys("reference")
        flags = list(self.extractor.flags) + self.parity_flags()
        details: dict[str, Any] = {"protocol_description": self.protocols[self.protocol], **self.parity_details(),
                                   "n_generated": len(gk), "n_reference": len(rk),
                                   "rows_generated": int(len(x)), "rows_reference": int(len(y)),
                                   "extractor": self.extractor.describe()}
        dropped = (len(self._gen) - len(gk), len(self._ref) - len(rk))
        if any(dropped):
            details["capped_at"] = self.spec.max_items
            details["dropped"] = {"generated": dropped[0], "reference": dropped[1]}
        value, ci = float("nan"), None
        if len(gk) < 2 or len(rk) < 2:
            flags.append(f"too few videos (generated {len(gk)}, reference {len(rk)}): need at least 2 per set")
        else:
            value = self.distance(x, y)
            d = x.shape[1]
            if self.uses_covariance and min(len(x), len(y)) < d:
                flags.append(f"N={min(len(x), len(y))} is below the feature dimension d={d}: covariances are "
                             "rank-deficient and the value is biased upward; compare only at equal N")
            if self.spec.max_items and min(len(gk), len(rk)) < self.spec.max_items:
                flags.append(f"protocol expects {self.spec.max_items} videos per set, got "
                             f"{len(gk)} generated / {len(rk)} reference")
            details.update(self.extra_details(x, y))
            if self.n_boot:
                lo, hi, _ = self._grouped_bootstrap((gk, rk))
                ci = (lo, hi)
        return MetricResult(
            name=self.name, protocol=self.protocol_id, value=value, higher_is_better=self.higher_is_better,
            kind=self.kind.value, unit=self.unit, n_items=len(gk), n_failed=len(self._failed), per_item={},
            ci95=ci, ci_method=f"percentile bootstrap over videos, {self.n_boot} resamples of both sets" if ci else None,
            backbone=self.extractor.backbone, weights_sha256=self.extractor.weights_sha256, flags=flags,
            details=details)
