"""Metric base types.

A metric is a class with declared metadata (name, kind, ``higher_is_better``, protocols, unit and range) and
mergeable state, in the torchmetrics style: ``update`` scores one item and adds it to the state, ``merge`` joins
shards, ``compute`` returns a :class:`MetricResult`. The pure per-item scoring lives in a module-level function
of the metric's module (its functional form); :meth:`Metric.score` calls it.

Kinds:

* ``per_item``: one score per video (temporal flickering, CLIP score, ...);
* ``paired``: one score per (generated, reference) pair of videos (PSNR, SSIM, LPIPS, VMAF);
* ``distribution``: a set of videos against a reference set (FVD, KVD; see the metric-engine issue).

State of per-item and paired metrics is the per-item scores themselves (value and weight); the aggregate is their
weighted mean computed with :func:`math.fsum`, so shards merge exactly and in any order, and a result recomputed
from stored per-item values equals the original bit for bit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

from vgbench.bench.errors import ConfigError
from vgbench.metrics.intervals import bootstrap_interval

if TYPE_CHECKING:
    from vgbench.bench.video import Video


class MetricKind(str, Enum):
    PER_ITEM = "per_item"
    PAIRED = "paired"
    DISTRIBUTION = "distribution"


@dataclass(frozen=True)
class ItemScore:
    """One item's score. ``weight`` is its weight in the aggregate (1 for video-weighted metrics, the number of
    frames or frame pairs for frame-weighted ones). ``extra`` holds per-item details (e.g. per-frame values)."""

    value: float
    weight: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class MetricResult:
    """A metric's value over a set of items, with everything needed to know how it was computed.

    Attributes:
        name: metric name (``"psnr"``).
        protocol: stable protocol id (``"psnr/common_metrics"``): results of different protocols never mix.
        value: the aggregate (weighted mean over items for per-item/paired metrics).
        per_item: item key → value.
        ci95: 95 % confidence interval of ``value`` and ``ci_method`` saying how it was obtained; None if < 2 items.
        backbone, weights_sha256: the network and the SHA-256 of the weights file used (None when no model).
        flags: warnings that travel with the number, e.g. ``"random weights — not comparable"``.
    """

    name: str
    protocol: str
    value: float
    higher_is_better: bool
    kind: str
    unit: str = ""
    n_items: int = 0
    n_failed: int = 0
    per_item: dict[str, float] = field(default_factory=dict)
    ci95: tuple[float, float] | None = None
    ci_method: str | None = None
    backbone: str | None = None
    weights_sha256: str | None = None
    flags: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, include_items: bool = True) -> dict[str, Any]:
        d = {
            "value": self.value, "protocol": self.protocol, "name": self.name, "higher_is_better": self.higher_is_better,
            "kind": self.kind, "unit": self.unit, "n_items": self.n_items, "n_failed": self.n_failed,
            "ci95": list(self.ci95) if self.ci95 else None, "ci_method": self.ci_method, "backbone": self.backbone,
            "weights_sha256": self.weights_sha256, "flags": list(self.flags), "details": self.details,
        }
        if include_items:
            d["per_item"] = dict(self.per_item)
        return d


@dataclass(frozen=True)
class ScoreContext:
    """One item as the harness hands it to a metric (:meth:`Metric.score_item`).

    Attributes:
        video: the decoded video (uint8 ``[T, H, W, 3]``, see :class:`~vgbench.bench.video.Video`).
        reference: its reference video (paired metrics), else None.
        prompt: the prompt text, if known.
        aux: the prompt's auxiliary info (VBench's object, colour, style, ...), if any.
        key: the item key in its source.
        group: (prompt id, sample index) of the item, if known.
        image: the conditioning image file of an image-to-video item, if any.
    """

    video: "Video"
    reference: "Video | None" = None
    prompt: str | None = None
    aux: dict[str, Any] | None = None
    key: str = ""
    group: tuple[str, int] | None = None
    image: str | None = None


@dataclass(frozen=True)
class MetricOption:
    """A user-settable option of a metric (``NAME/PROTOCOL@key=value``).

    ``default`` None means "the protocol's default" (see :meth:`Metric.option_default`). Options that change the
    numbers (``affects_result``) and differ from the default become part of the protocol id, so results computed
    with other settings are never mixed or compared by accident; others (batch size) do not.
    """

    default: str | None
    help: str
    affects_result: bool = True


def parse_metric_spec(spec: str) -> tuple[str, str | None, dict[str, str]]:
    """``"clip_score/clipsim@frames=uniform:8@batch=16"`` → ``("clip_score", "clipsim", {"frames": ..., ...})``."""
    head, *opts = spec.strip().split("@")
    name, _, protocol = head.partition("/")
    options = {}
    for o in opts:
        k, eq, v = o.partition("=")
        if not eq or not k.strip():
            raise ConfigError(f"metric option {o!r} in {spec!r} must look like key=value")
        if k.strip() in options:  # which one was meant is a guess
            raise ConfigError(f"metric option {k.strip()!r} is given twice in {spec!r}")
        options[k.strip()] = v.strip()
    return name.strip(), protocol.strip() or None, options


class Metric:
    """Base class of per-item and paired metrics (distribution metrics extend it in the metric-engine issue).

    Subclasses set the class attributes and implement :meth:`score`. Metrics that run a network implement
    :meth:`load` (resolve and verify the weights; set ``weights_sha256`` and ``flags``) and are loaded once before
    any video is decoded.
    """

    name: ClassVar[str]
    #: one line for ``vgbench metrics list``
    summary: ClassVar[str] = ""
    kind: ClassVar[MetricKind] = MetricKind.PER_ITEM
    higher_is_better: ClassVar[bool]
    #: protocol name → one-line description of the recipe; the first is the default.
    protocols: ClassVar[dict[str, str]]
    unit: ClassVar[str] = ""
    value_range: ClassVar[tuple[float, float]] = (-math.inf, math.inf)
    #: "video" (each item weighs 1) or "frame" (each item weighs its number of frames / frame pairs).
    aggregation: ClassVar[str] = "video"
    needs_reference: ClassVar[bool] = False
    #: image-to-video metrics compare the video with its conditioning image (``score(..., image=PATH)``)
    needs_image: ClassVar[bool] = False
    needs_prompt: ClassVar[bool] = False
    #: its default protocol needs a weights file that is not shipped with vgbench
    needs_download: ClassVar[bool] = False
    #: optional packages (import names) it needs: a tuple for every protocol, or {protocol: tuple} ("*": the rest);
    #: checked when the metric is created (:func:`vgbench.metrics.registry.check_requirements`)
    requires: ClassVar[tuple[str, ...] | dict[str, tuple[str, ...]]] = ()
    backbone: ClassVar[str | None] = None
    weights_sha256: str | None = None
    #: user-settable options (``NAME/PROTOCOL@key=value``)
    options: ClassVar[dict[str, MetricOption]] = {}
    #: how faithfully the metric reproduces a benchmark's own implementation ("vbench-exact", "vbench-style")
    fidelity: ClassVar[str | None] = None
    #: the VBench dimension this metric computes, if any: it then scores only the prompts that serve the dimension
    dimension: ClassVar[str | None] = None
    #: ``score()`` takes the prompt's auxiliary info (``aux=``, e.g. VBench's object/colour/style for the prompt); the
    #: cached score is then keyed by it
    needs_aux: ClassVar[bool] = False
    #: protocol → revision (1 when absent). When a protocol's computation changes to match its reference code, its
    #: revision goes up; revisions above 1 are part of the protocol id (``name/protocol@rev=N``), so values computed
    #: before the fix never share a cache key, a stored row, a leaderboard column or a comparison with values after it
    revisions: ClassVar[dict[str, int]] = {}
    #: protocol → {revision: what changed}, for the messages that refuse to mix revisions
    revision_notes: ClassVar[dict[str, dict[int, str]]] = {}

    def __init__(self, protocol: str | None = None, options: dict[str, str] | None = None):
        if protocol is None:
            protocol = next(iter(self.protocols))
        if protocol not in self.protocols:
            import difflib

            from vgbench.bench.errors import UnknownNameError

            close = difflib.get_close_matches(protocol, list(self.protocols), n=1, cutoff=0.6)
            raise UnknownNameError(f"metric {self.name!r} has no protocol {protocol!r}"
                                   + (f" (did you mean {self.name}/{close[0]}?)" if close else "") + "; protocols: "
                                   + ", ".join(f"{p} ({d})" for p, d in self.protocols.items()))
        self.protocol = protocol
        options = dict(options or {})
        if "rev" in options:  # a stored protocol id pasted back: only the current revision can be computed
            asked = options.pop("rev").strip()
            if not asked.isdigit() or int(asked) < 1:
                raise ConfigError(f"{self.name}/{protocol}@rev={asked}: a revision is a whole number (the current one "
                                  f"is {self.revision}); or leave @rev= out")
            if int(asked) > self.revision:
                raise ConfigError(f"{self.name}/{protocol} has no revision {int(asked)}: its current revision is "
                                  f"{self.revision}")
            if int(asked) < self.revision:
                raise ConfigError(
                    f"{self.name}/{protocol}@rev={int(asked)}: only revision {self.revision} of this protocol can be "
                    f"computed ({self.revision_note()}); ask for {self.name}/{protocol} and re-evaluate")
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = ", ".join(f"{k} ({o.help})" for k, o in self.options.items()) or "none"
            raise ConfigError(f"metric {self.name!r} has no option {', '.join(unknown)}; options: {known}")
        empty = sorted(k for k, v in options.items() if not str(v).strip())
        if empty:  # "@tracker=" would silently mean the default
            raise ConfigError(f"metric {self.name!r}: option {', '.join(empty)} has no value; give one, or leave "
                              f"@{empty[0]}= out for its default ({self.option_default(empty[0]) or 'none'})")
        self.opts: dict[str, str] = {k: options.get(k) or self.option_default(k) for k in self.options}
        self.flags: list[str] = []
        self.reset()

    @classmethod
    def required_modules(cls, protocol: str | None) -> tuple[str, ...]:
        """The optional packages (import names) protocol ``protocol`` needs (:attr:`requires`)."""
        if isinstance(cls.requires, dict):
            return tuple(cls.requires.get(protocol or "", cls.requires.get("*", ())))
        return tuple(cls.requires)

    def set_item_groups(self, groups: dict[str, tuple[str, int]]) -> None:
        """Tell the metric which prompt and sample each item is (``item key → (prompt id, sample index)``) before
        :meth:`compute`: the interval resamples prompts, then samples within them (:mod:`vgbench.metrics.intervals`);
        per-prompt rules use it too (VBench's temporal flickering keeps at most 5 static videos per prompt). Items
        without a group are their own prompt."""
        self.item_groups = dict(groups)

    def option_default(self, key: str) -> str:
        """Default of option ``key`` under this protocol (override for protocol-dependent defaults)."""
        return str(self.options[key].default)

    def check_choice(self, key: str, allowed) -> str:
        """Option ``key``'s value, which must be one of ``allowed``. Raises ConfigError naming the choices."""
        v = self.opts[key]
        if v not in allowed:
            raise ConfigError(f"{self.name} option {key}={v!r}: choose one of {', '.join(allowed)}")
        return v

    def positive_int_option(self, key: str, what: str = "a whole number, at least 1") -> int:
        """Option ``key`` as an integer ≥ 1. Raises ConfigError (a usage error, not a traceback) otherwise."""
        v = str(self.opts[key])
        if not v.isdigit() or int(v) < 1:
            raise ConfigError(f"{self.name} option {key}={v!r}: {what}")
        return int(v)

    @property
    def revision(self) -> int:
        """The protocol's revision (see :attr:`revisions`)."""
        return int(self.revisions.get(self.protocol, 1))

    def revision_note(self) -> str:
        """What the current revision changed, if it is above 1."""
        return self.revision_notes.get(self.protocol, {}).get(self.revision, "")

    @property
    def protocol_id(self) -> str:
        """Stable id written into every stored result, e.g. ``"ssim/common_metrics"``; a revision above 1 follows
        (``"fvd/videogpt@rev=2"``), then the options that change the numbers and differ from the protocol's default
        (``"clip_score/clipsim@frames=uniform:8"``)."""
        extra = "".join(f"@{k}={v}" for k, v in sorted(self.opts.items())
                        if self.options[k].affects_result and v != self.option_default(k))
        rev = f"@rev={self.revision}" if self.revision > 1 else ""
        return f"{self.name}/{self.protocol}{rev}{extra}"

    def load(self, allow_random: bool | None = None, device: str | None = None, weights=None) -> None:
        """Resolve, verify and load what the metric needs (networks, binaries; ``weights``: user-supplied weights
        files by name). Metrics without any: no-op."""

    def weights_needed(self) -> list[str]:
        """Names of the registry weights files this protocol loads (``vgbench weights list``); none by default."""
        return []

    def folders_needed(self) -> list[dict]:
        """Model folders (Hugging Face ``save_pretrained`` layout) this protocol loads, as rows of
        :func:`vgbench.metrics.needs.needs` (``name``, ``hub_id``, ``env_var``, ``present``, ``fetch``); none by
        default."""
        return []

    # ---- state -------------------------------------------------------------------------------------------------
    def reset(self) -> None:
        self._items: dict[str, ItemScore] = {}
        self._failed: dict[str, str] = {}

    def add(self, key: str, score: ItemScore) -> None:
        """Add an already computed item score (e.g. read back from the results store)."""
        self._items[key] = score

    def add_failure(self, key: str, error: str) -> None:
        self._failed[key] = error

    def merge(self, other: "Metric") -> None:
        """Join another shard's state. Both must be the same metric and protocol."""
        if other.protocol_id != self.protocol_id:
            raise ValueError(f"cannot merge {other.protocol_id} into {self.protocol_id}")
        self._items.update(other._items)
        self._failed.update(other._failed)

    # ---- scoring -----------------------------------------------------------------------------------------------
    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        """Score one item (pure: no state change)."""
        raise NotImplementedError

    def score_item(self, ctx: ScoreContext) -> ItemScore:
        """Score one item from its context: the one call the harness makes. Checks the input
        (:meth:`check_input`), then calls :meth:`score` with what the metric declares it needs (the reference when
        :attr:`needs_reference`, ``aux=`` when :attr:`needs_aux`). Pure: no state change.

        Raises:
            MetricError: input it cannot score, or a paired metric without a reference video for this item (the
                item fails, not the evaluation).
        """
        if self.needs_reference and ctx.reference is None:
            from vgbench.bench.errors import MetricError

            raise MetricError(f"{self.name} is a paired metric: this item has no reference video")
        self.check_input(ctx.video)
        kw = {"aux": ctx.aux} if self.needs_aux else {}
        if self.needs_image:
            if not ctx.image:
                from vgbench.bench.errors import MetricError

                raise MetricError(f"{self.name} compares the video with its conditioning image, and this item has "
                                  "none: score an image-to-video run (a suite whose prompts have 'image:')")
            kw["image"] = ctx.image
        return self.score(ctx.video, ctx.reference if self.needs_reference else None, ctx.prompt, **kw)

    def update(self, key: str, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        if self.needs_reference and reference is None:
            raise ConfigError(f"{self.name} is a paired metric: it needs a reference video (--reference DIR)")
        self.check_input(video)
        s = self.score(video, reference, prompt)
        self.add(key, s)
        return s

    def check_input(self, video: Video) -> None:
        """Raise :class:`~vgbench.bench.errors.MetricError` when ``video`` is one this protocol cannot score (e.g. smaller
        than its network takes), before any work; nothing by default."""

    def compute(self) -> MetricResult:
        # an item of weight 0 is scored but left out of the aggregate (e.g. VBench colour: object never seen)
        keys = sorted(k for k, s in self._items.items() if s.weight > 0)
        left_out = len(self._items) - len(keys)
        values = [self._items[k].value for k in keys]
        weights = [self._items[k].weight for k in keys]
        groups = getattr(self, "item_groups", {})
        iv = bootstrap_interval(values, [str(groups.get(k, (k, 0))[0]) for k in keys], weights=weights)
        mean = math.fsum(w * v for v, w in zip(values, weights)) / math.fsum(weights) if keys else math.nan
        ci = (iv.low, iv.high) if math.isfinite(iv.low) and math.isfinite(iv.high) else None
        return MetricResult(
            name=self.name, protocol=self.protocol_id, value=mean, higher_is_better=self.higher_is_better,
            kind=self.kind.value, unit=self.unit, n_items=len(keys), n_failed=len(self._failed),
            per_item=dict(zip(keys, values)), ci95=ci,
            ci_method=iv.method if ci else None,
            backbone=self.backbone, weights_sha256=self.weights_sha256,
            flags=list(self.flags) + self.item_flags() + self.parity_flags(),
            details={"aggregation": self.aggregation, "protocol_description": self.protocols[self.protocol],
                     **self.parity_details(),
                     **({"options": dict(self.opts)} if self.opts else {}),
                     **({"fidelity": self.fidelity} if self.fidelity else {}),
                     **({"dimension": self.dimension} if self.dimension else {}),
                     **({"items_left_out": left_out} if left_out else {}),
                     "n_prompts": iv.n_prompts})

    def item_flags(self) -> list[str]:
        """Flags derived from the per-item details (e.g. how many prompts were truncated); default none."""
        return []

    def parity_flags(self) -> list[str]:
        """:data:`~vgbench.metrics.parity.NOT_VERIFIED_FLAG` unless a golden parity test verifies this protocol revision."""
        from vgbench.metrics.parity import NOT_VERIFIED_FLAG, parity_for

        return [] if parity_for(self.protocol_id) else [NOT_VERIFIED_FLAG]

    def parity_details(self) -> dict[str, Any]:
        """``{"parity": {reference, golden, measured, ...}}`` for a verified protocol, else ``{}``."""
        from dataclasses import asdict

        from vgbench.metrics.parity import parity_for

        p = parity_for(self.protocol_id)
        return {"parity": asdict(p)} if p else {}
