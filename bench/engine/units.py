"""Work units and the code that runs one: decode its video (and reference), score its metrics, extract its features.

A :class:`UnitRunner` holds loaded metrics and extractors. The local executor shares the driver's runner between its
threads (inference only: a metric's :meth:`~vgbench.metrics.base.Metric.score_item` is pure, and the feature memo is
per thread); a Ray actor builds its own from a :class:`RunnerSpec` (metric specs, weights), so it loads the weights
once per worker. Units and results are plain picklable data: errors travel as their message strings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vgbench.bench.errors import MetricError, VideoError


@dataclass
class WorkUnit:
    """One video and what is still to be computed from it.

    Attributes:
        index: position in the plan (results are delivered in this order).
        key: the item key (``reference:<key>`` for a reference video of a distribution metric).
        role: ``"generated"`` or ``"reference"`` (which clip sampling the extractors use).
        path: the video file; ``sha256`` its content hash as planned.
        ref_path: the paired reference video, when a paired metric is to be scored.
        scores: indices (into the runner's metrics) of the metrics to score on this video.
        contexts: per entry of ``scores``, what else its value depends on (the reference's or the prompt's hash),
            which the driver stores with the value.
        extract: names of the extractors whose features are to be extracted.
        prompt, aux, group: the item's prompt text, auxiliary info and (prompt id, sample index).
        image: the item's conditioning image file (image-to-video), if any.
    """

    index: int
    key: str
    role: str
    path: str
    sha256: str
    ref_path: str | None = None
    scores: list[int] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    extract: list[str] = field(default_factory=list)
    prompt: str | None = None
    aux: dict[str, Any] | None = None
    group: tuple | None = None
    image: str | None = None  # the conditioning image of an image-to-video item

    def __getstate__(self):  # plain data for Ray / multiprocessing
        return self.__dict__

    def __setstate__(self, state):
        self.__dict__.update(state)


@dataclass
class UnitGroup:
    """Consecutive work units run together so that their clips share each backbone's forward passes (cross-video
    batches); every executor runs a group like a unit and gets back one :class:`UnitResult` per member, in order.

    Attributes:
        index: position in the plan of groups; ``members``: the units, in plan order."""

    index: int
    members: list[WorkUnit]

    @property
    def path(self) -> str:
        """The members' files, for messages about the group."""
        return ", ".join(u.path for u in self.members)

    def __getstate__(self):
        return self.__dict__

    def __setstate__(self, state):
        self.__dict__.update(state)


def mark_worker(result, worker: str):
    """Record which worker produced ``result`` (a :class:`UnitResult`, or a group's list of them); returns it."""
    for r in result if isinstance(result, list) else [result]:
        r.worker = worker
    return result


def group_units(units: list[WorkUnit], batch: int) -> list:
    """``units`` in groups of ``batch`` consecutive units (plan order), or unchanged for ``batch`` ≤ 1. The groups
    depend only on the plan, never on the executor or its workers."""
    if batch <= 1:
        return list(units)
    return [UnitGroup(i, units[s:s + batch]) for i, s in enumerate(range(0, len(units), batch))]


@dataclass
class UnitResult:
    """What running a unit gave: per metric index an :class:`~vgbench.metrics.base.ItemScore` or an error message;
    per extractor name a float32 ``[rows, dim]`` array or an error message; whether the video was decoded."""

    index: int
    scores: dict[int, Any] = field(default_factory=dict)
    features: dict[str, Any] = field(default_factory=dict)
    decoded: bool = False
    worker: str = ""


@dataclass(frozen=True)
class RunnerSpec:
    """Enough to rebuild the driver's runner in another process: metric specs (``name`` or ``name:protocol``),
    extractor names, the random-weights permission and user-supplied weights files (name → path)."""

    metric_specs: tuple[str, ...]
    extractors: tuple[str, ...]
    allow_random: bool | None = None
    weights: tuple[tuple[str, str], ...] = ()
    torch_threads: int | None = None


def _error(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


class UnitRunner:
    """Runs work units with loaded ``metrics`` (list, indexed by :attr:`WorkUnit.scores`) and ``extractors``
    (name → :class:`~vgbench.metrics.distribution.extractors.FeatureExtractor`)."""

    def __init__(self, metrics: list, extractors: dict[str, Any]):
        self.metrics = metrics
        self.extractors = extractors

    @classmethod
    def from_spec(cls, spec: RunnerSpec) -> "UnitRunner":
        """Create and load the metrics and extractors ``spec`` names (raises what loading raises)."""
        from vgbench.metrics.backbones.registry import UserWeights
        from vgbench.metrics.distribution.extractors import create_extractor
        from vgbench.metrics.registry import create_metric

        if spec.torch_threads:
            import torch

            torch.set_num_threads(spec.torch_threads)
        weights = UserWeights(dict(spec.weights))
        metrics = [create_metric(s) for s in spec.metric_specs]
        for m in metrics:
            m.load(allow_random=spec.allow_random, weights=weights)
        extractors = {}
        for name in spec.extractors:
            extractors[name] = create_extractor(name)
            extractors[name].load(allow_random=spec.allow_random, weights=weights)
        return cls(metrics, extractors)

    # ---- stage 1: decode ---------------------------------------------------------------------------------------
    def decode(self, unit: WorkUnit | UnitGroup) -> Any:
        """:meth:`decode_one` of a unit, or the list of its members' for a :class:`UnitGroup`."""
        if isinstance(unit, UnitGroup):
            return [self.decode_one(u) for u in unit.members]
        return self.decode_one(unit)

    def decode_one(self, unit: WorkUnit) -> tuple[Any, Any]:
        """(video or VideoError, reference video or VideoError or None). Only units with work are planned, so the
        video is always decoded; the reference only when a paired metric is to be scored."""
        from vgbench.bench.video import read_video

        try:
            video: Any = read_video(unit.path)
        except VideoError as e:
            return e, None
        ref: Any = None
        if unit.ref_path is not None and any(self.metrics[i].needs_reference for i in unit.scores):
            try:
                ref = read_video(unit.ref_path)
            except VideoError as e:
                ref = e
        return video, ref

    # ---- stage 2: score and extract ----------------------------------------------------------------------------
    def score(self, unit: WorkUnit | UnitGroup, decoded: Any) -> Any:
        """:meth:`score_one` of a unit; for a :class:`UnitGroup`, the list of its members' results, each member
        scored alone and the features of all members extracted in shared batches (one per extractor and clip
        shape)."""
        if not isinstance(unit, UnitGroup):
            return self.score_one(unit, decoded)
        import numpy as np

        results = [self.score_one(u, d, extract=False) for u, d in zip(unit.members, decoded)]
        for name, extractor in self.extractors.items():
            wanted = [(k, u) for k, u in enumerate(unit.members) if name in u.extract and results[k].decoded]
            if not wanted:
                continue
            feats = extractor.extract_many([(decoded[k][0], u.role, u.sha256) for k, u in wanted])
            for (k, _), f in zip(wanted, feats):
                results[k].features[name] = _error(f) if isinstance(f, BaseException) else \
                    np.ascontiguousarray(f, dtype=np.float32)
        return results

    def score_one(self, unit: WorkUnit, decoded: tuple[Any, Any], extract: bool = True) -> UnitResult:
        """Score ``unit``'s metrics and extract its features from ``decoded`` (see :meth:`decode`). Every failure is
        that metric's (or extractor's) error message in the result; nothing raises for bad input."""
        import numpy as np

        from vgbench.metrics.base import ScoreContext

        video, ref = decoded
        out = UnitResult(unit.index)
        if isinstance(video, VideoError):
            msg = _error(video)
            out.scores = {i: msg for i in unit.scores}
            out.features = {name: msg for name in unit.extract}
            return out
        out.decoded = True
        for i in unit.scores:
            m = self.metrics[i]
            if m.needs_reference and isinstance(ref, VideoError):
                out.scores[i] = f"reference {type(ref).__name__}: {ref}"
                continue
            try:
                out.scores[i] = m.score_item(ScoreContext(video, ref if m.needs_reference else None, unit.prompt,
                                                          unit.aux, unit.key, unit.group, unit.image))
            except (MetricError, ValueError, RuntimeError) as e:
                out.scores[i] = _error(e)
        for name in (unit.extract if extract else ()):
            try:
                out.features[name] = np.ascontiguousarray(
                    self.extractors[name].extract(video, unit.role, unit.sha256), dtype=np.float32)
            except (VideoError, MetricError, ValueError, RuntimeError) as e:
                out.features[name] = _error(e)
        return out

    def run(self, unit: WorkUnit | UnitGroup) -> Any:
        """Both stages for one unit or group (what a remote worker does)."""
        from vgbench.bench import features

        try:
            return self.score(unit, self.decode(unit))
        finally:
            features.release()  # the per-video memo of this thread
