"""Evaluation orchestration: score the videos of a run folder or of any folder of videos.

Each video is decoded once for all the requested metrics (and its reference once, for paired metrics). Per-item
values go to the results store as they are computed; an item whose video content, reference content and metric
protocol were scored before is taken from the store, so evaluating again decodes nothing. A video that cannot be
decoded fails that item only: it is named in the report and stored with its error. The set value of each metric
is recomputed from the stored per-item values (exact ``fsum``), so a resumed or repeated evaluation gives the same
numbers bit for bit.

Pairing (``--reference DIR``): items of two run folders pair by (prompt id, sample index); items of plain folders
pair by relative path without extension (``a/b.mp4`` ↔ ``a/b.webm``), or by a ``manifest.json``'s prompt ids.

Dimensions: a VBench dimension metric (one with a ``dimension`` attribute) scores only the items whose prompt lists
that dimension, as VBench does (a run's prompts carry their suite's ``dimensions``; a folder's ``manifest.json`` items
may too); items with no dimension information are scored on every requested dimension. Dimensions that need the same
intermediate values share them through the feature layer's memo (:mod:`vgbench.bench.features`) while the decoded video
is in hand.

Prompts (for CLIP/ViCLIP scores): a run folder's items carry them; a plain folder's come from ``manifest.json``
(``{"items": [{"file": ..., "prompt": ...}]}``) or from a ``.txt`` file beside each video with the same name.
"""
from __future__ import annotations

import functools
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vgbench.bench import provenance
from vgbench.bench.config import EvalConfig, shard_of
from vgbench.bench.engine.units import WorkUnit
from vgbench.bench.errors import ConfigError
from vgbench.bench.runs import DB_NAME
from vgbench.bench.sources import EvalItem, VideoSource, is_run_folder, load_source  # noqa: F401  (re-exported)
from vgbench.bench.store import ResultsStore
from vgbench.bench.video import DECODING_REVISION
from vgbench.bench.video.decode import decoder_version
from vgbench.metrics.base import ItemScore, MetricResult


@dataclass
class EvaluationReport:
    run_id: str
    reference_id: str
    db: str
    results: dict[str, MetricResult] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    items_total: int = 0
    items_decoded: int = 0
    scores_computed: int = 0
    scores_cached: int = 0
    scores_skipped: int = 0  # (item, dimension) pairs left out because the prompt does not serve the dimension
    feature_cache: Any = None
    #: videos whose content differs from what their run recorded when they were generated (edited or replaced
    #: since): scored by their current content, never by results cached for the old one
    files_changed: list[str] = field(default_factory=list)
    #: "I/N" when this evaluation was one shard (set-level values are then left to `vgbench merge`)
    shard: str | None = None
    #: how the units ran (executor name, workers, units retried after a worker died)
    executor: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "reference": self.reference_id or None, "db": self.db,
                "metrics": {k: r.to_dict() for k, r in self.results.items()}, "failed_items": self.failures,
                "items": self.items_total, "scores_computed": self.scores_computed,
                "scores_cached": self.scores_cached, "scores_skipped_not_in_dimension": self.scores_skipped,
                "files_changed_since_generation": self.files_changed,
                **({"shard": self.shard} if self.shard else {}),
                **({"executor": self.executor} if self.executor else {}),
                **(self.feature_cache.stats() if self.feature_cache is not None else {})}


def _stored_error(store: ResultsStore, run_id: str, key: str, protocol: str, reference: str, sha: str) -> str | None:
    """The error a shard recorded for this item, metric and reference on this very content, if any (merge)."""
    rows = store.query("SELECT error FROM item_metrics WHERE run_id=? AND item_key=? AND protocol=? AND reference=? "
                       "AND status='error' AND video_sha256=?", (run_id, key, protocol, reference, sha))
    return rows[0]["error"] if rows else None


def _content_sha256(item: EvalItem, report: EvaluationReport) -> str:
    """The SHA-256 of the item's file as it is now (hashed on every evaluation: cached scores and features are keyed
    by content, so an edited video is rescored). A difference from the hash its run recorded is reported."""
    sha = provenance.file_sha256(item.path)
    if item.sha256 and item.sha256 != sha and item.path not in report.files_changed:
        report.files_changed.append(item.path)
    return sha


def default_db_for(source: VideoSource) -> Path:
    """A run folder's database is its output folder's; a plain folder's is ``./vgbench-out/vgbench.sqlite``."""
    if source.kind == "run":
        return source.root.parent / DB_NAME
    return Path("vgbench-out") / DB_NAME


def _register_source(store: ResultsStore, src: VideoSource, metric_specs: list[str], label: str | None = None
                     ) -> None:
    """Record the source in the store: a folder as an evaluation run with its items; a run folder (whose run and
    items `vgbench run` records) only when this database has not seen it (e.g. evaluated with another --db).
    ``label``: the run's human name (relabels a known run)."""
    if src.kind == "folder":  # (a label given before is kept by upsert_run)
        store.upsert_run(src.source_id, "evaluation", src.model, None, None, str(src.root),
                         {"videos": str(src.root), "metrics": metric_specs} | ({"label": label} if label else {}),
                         provenance.collect())
    elif store.query("SELECT 1 FROM runs WHERE run_id=?", (src.source_id,)):
        if label:
            store.set_label(src.source_id, label)
        return
    else:
        from vgbench.bench.fileio import read_state_json
        from vgbench.bench.sources import RUN_JSON_REPAIR

        doc = read_state_json(src.root / "run.json", RUN_JSON_REPAIR, keys=("config", "settings", "provenance"))
        store.upsert_run(src.source_id, "generation", src.model, src.suite, src.suite_sha256, str(src.root),
                         doc["config"] | {"settings": doc["settings"]} | ({"label": label} if label else {}),
                         doc["provenance"])
    store.upsert_items(src.source_id, [
        {"item_key": it.key, "item_id": it.key if src.kind == "run" else None, "prompt_id": it.prompt_id,
         "prompt": it.prompt, "sample_index": it.sample_index, "seed": it.seed, "video_path": it.path,
         "video_sha256": it.sha256, "status": "error" if it.error else "ok", "error": it.error}
        for it in src.items])


@dataclass
class _Evaluation:
    """Everything one evaluation resolved before decoding anything (shared by its planning, execution and
    aggregation steps)."""

    config: EvalConfig
    metric_specs: list[str]
    src: VideoSource
    ref_src: VideoSource | None
    refstats: Any
    reference_id: str
    store: ResultsStore
    cache: Any  # FeatureStore
    report: EvaluationReport
    metrics: list  # per-item, paired and dimension metrics (indexed by WorkUnit.scores)
    item_specs: list[str]
    dist: list  # (spec, DistributionMetric)
    extractors: dict[str, Any]
    items: list[EvalItem]
    shard: tuple[int, int] | None
    refs: dict[str, EvalItem] = field(default_factory=dict)
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)  # item key → {"item", "path", "errors"}

    def fail_item(self, key: str, path: str, message: str) -> None:
        self.failures.setdefault(key, {"item": key, "path": path, "errors": []})["errors"].append(message)

    def users_of(self, extractor: str, role: str = "generated") -> list:
        """The distribution metrics that take ``extractor``'s features (of ``role``: reference features go only to
        the metrics that compare with a reference set; the Inception Score has none)."""
        return [m for _, m in self.dist if m.extractor_name == extractor
                and (role == "generated" or m.needs_reference)]

    def reference_extractors(self) -> dict[str, Any]:
        """The extractors whose features of the reference videos some metric needs."""
        return {name: ex for name, ex in self.extractors.items() if self.users_of(name, "reference")}

    def reference_of(self, item: EvalItem) -> EvalItem | None:
        if self.ref_src is None:
            return None
        return self.refs.get(item.pair_key) or self.refs_by_stem.get(Path(item.pair_key).name)

    def __post_init__(self):
        self.refs_by_stem = {Path(k).name: v for k, v in self.refs.items()}


def evaluate(config: EvalConfig, *, store: ResultsStore | None = None,
             reference_failures: dict[str, list[str]] | None = None, executor: Any = None) -> EvaluationReport:
    """Score every video of ``config.videos`` (a run folder or a folder of videos) with ``config``'s metrics and
    VBench dimensions (see :class:`~vgbench.bench.config.EvalConfig` for every field).

    The evaluation is planned as work units (one per video with anything left to compute; cached values are read,
    not recomputed) and run by the engine (:mod:`vgbench.bench.engine`) with ``config.executor``; set-level values
    are then computed from the store.

    Args:
        config: what to score and how.
        store: an open results store to write to (default: open ``config.db``, or :func:`default_db_for`).
        reference_failures: with ``config.only_cached`` (merge): reference videos whose features failed in their
            shard (path → errors); they are reported as failed again, not as a missing feature cache.
        executor: an executor object to use instead of ``config.executor``/``config.workers`` (API users who
            configure one, e.g. ``RayExecutor(address=...)``).

    Returns:
        The report: each metric's :class:`~vgbench.metrics.base.MetricResult`, failed items, counts.

    Raises:
        ConfigError: unknown metrics, a missing reference, weights problems; VideoError: the source cannot be read.
    """
    if not isinstance(config, EvalConfig):
        raise TypeError("evaluate() takes one EvalConfig (vgbench.EvalConfig(videos=..., metrics=[...]))")
    ev, own = _prepare(config, store)
    try:
        _register_source(ev.store, ev.src, ev.metric_specs, ev.config.label)
        units = _plan(ev, reference_failures or {})
        _execute(ev, units, executor)
        order = {it.key: i for i, it in enumerate(ev.items)}  # failures in item order, reference videos last
        ev.report.failures = sorted(ev.failures.values(), key=lambda f: (order.get(f["item"], len(order)),
                                                                         str(f["item"])))
        if ev.shard is not None:  # set-level values need every shard: `vgbench merge` computes them
            _record_shard(ev)
            return ev.report
        _aggregate(ev)
    finally:
        from vgbench.bench import features

        features.release()  # do not keep the last video's frames and features alive after the evaluation
        if own:
            ev.store.close()
    report = ev.report
    report.results = {spec: report.results[spec] for spec in ev.metric_specs if spec in report.results}
    decoding = {"decoder": decoder_version("pyav"), "decoding_revision": DECODING_REVISION}
    for r in report.results.values():
        r.details.setdefault("decoding", decoding)
    return report


def _prepare(config: EvalConfig, store: ResultsStore | None) -> tuple[_Evaluation, bool]:
    """Resolve metrics, weights, sources and the store; load every backbone (before any video is decoded)."""
    from vgbench.bench.distribution_eval import is_refstats_file, load_refstats
    from vgbench.bench.features import FeatureStore
    from vgbench.metrics.backbones.registry import UserWeights
    from vgbench.metrics.base import MetricKind
    from vgbench.metrics.distribution.extractors import create_extractor
    from vgbench.metrics.backbones.weights import WeightsMissingError
    from vgbench.metrics.needs import check_present, missing_report, needs
    from vgbench.metrics.registry import create_metric

    metric_specs = config.metric_specs()
    reference = config.reference
    user_weights = UserWeights(config.weights)
    all_metrics = [create_metric(s) for s in metric_specs]
    user_weights.check_needed(all_metrics)  # names and files, before anything is loaded or decoded
    check_present(all_metrics, user_weights, config.allow_random_weights)  # every missing file named at once
    dist = [(spec, m) for spec, m in zip(metric_specs, all_metrics) if m.kind == MetricKind.DISTRIBUTION]
    metrics = [m for m in all_metrics if m.kind != MetricKind.DISTRIBUTION]
    item_specs = [spec for spec, m in zip(metric_specs, all_metrics) if m.kind != MetricKind.DISTRIBUTION]
    refstats = None
    if is_refstats_file(reference):
        if metrics and any(m.needs_reference for m in metrics):
            raise ConfigError("paired metrics need reference videos, not a statistics file: pass a folder")
        refstats = load_refstats(reference)
    src = load_source(config.videos)
    ref_src = load_source(reference) if reference is not None and refstats is None else None
    if any(m.needs_reference for m in all_metrics) and ref_src is None and refstats is None:
        names = ", ".join(m.name for m in all_metrics if m.needs_reference)
        raise ConfigError(f"{names}: paired and distribution metrics need reference videos: add --reference DIR "
                          "(or, for distribution metrics, a reference-statistics file from `vgbench refstats build`)")
    extractors: dict[str, Any] = {}
    try:
        for m in metrics:  # resolve and verify weights / binaries before decoding anything
            m.load(allow_random=config.allow_random_weights, weights=user_weights)
        for _, m in dist:
            if m.extractor_name not in extractors:
                extractors[m.extractor_name] = create_extractor(m.extractor_name)
                extractors[m.extractor_name].batch = config.batch_size()  # part of a batchable one's cache key
                extractors[m.extractor_name].load(allow_random=config.allow_random_weights, weights=user_weights)
            m.use_extractor(extractors[m.extractor_name])
    except WeightsMissingError as e:  # a download failed: name everything else that is missing too
        report = missing_report(needs(all_metrics, user_weights))
        if not report:
            raise
        first = str(e).splitlines()[0]
        raise WeightsMissingError(f"{report}\n(first failure: {first})") from None
    db_path = Path(config.db) if config.db else default_db_for(src)
    own = store is None
    store = store or ResultsStore(db_path)
    reference_id = ref_src.source_id if ref_src else ""
    if refstats is not None:
        reference_id = "refstats-" + provenance.file_sha256(reference)[:12]
    shard = config.shard_index()
    items = src.items if shard is None else [it for it in src.items if shard_of(it.key, shard[1]) == shard[0] - 1]
    report = EvaluationReport(src.source_id, reference_id, str(db_path), items_total=len(items), shard=config.shard)
    cache = FeatureStore(Path(config.feature_cache) if config.feature_cache else db_path.parent / "features")
    report.feature_cache = cache
    return _Evaluation(config, metric_specs, src, ref_src, refstats, reference_id, store, cache, report, metrics,
                       item_specs, dist, extractors, items, shard,
                       refs={it.pair_key: it for it in ref_src.items} if ref_src else {}), own


_NOT_COMPUTED = "not computed by any shard (merge computes nothing: run the missing shard)"


def _plan(ev: _Evaluation, reference_failures: dict[str, list[str]]) -> list[WorkUnit]:
    """The work units of an evaluation. Everything already known goes straight to the store and the metrics:
    cached scores, failures (unreadable video, missing reference), cached features; what is left to compute becomes
    one unit per video. With ``only_cached`` (merge) nothing is left: a missing value is its shard's stored failure,
    or "not computed"."""
    from vgbench.bench.engine import WorkUnit

    report, store, cfg = ev.report, ev.store, ev.config
    units: list[WorkUnit] = []
    rows: list[dict[str, Any]] = []
    for item in ev.items:
        base = {"run_id": ev.src.source_id, "item_key": item.key}
        sha = None

        def fail(m, error, *, item=item, base=base):
            rows.append({**base, "metric": m.name, "protocol": m.protocol_id,
                         "reference": ev.reference_id if m.needs_reference else "", "status": "error",
                         "error": error, "video_sha256": sha})
            ev.fail_item(item.key, item.path, f"{m.name}: {error}")

        error = item.error
        if not error:
            try:
                sha = _content_sha256(item, report)
            except OSError as e:
                error = f"cannot read {item.path}: {e.strerror or e}"
        if error:
            for m in ev.metrics:
                fail(m, error)
            for _, m in ev.dist:
                m.add_failure(item.key, error)
                ev.fail_item(item.key, item.path, f"{m.name}: {error}")
            continue
        ref_item = ev.reference_of(item)
        ref_sha = None
        if ref_item is not None and ref_item.error is None:
            try:
                ref_sha = _content_sha256(ref_item, report)
            except OSError:
                ref_sha = None  # its paired metrics fail this item below
        todo: list[int] = []
        contexts: list[str] = []
        for i, m in enumerate(ev.metrics):
            dim = m.dimension
            if dim and item.dimensions and dim not in item.dimensions:
                report.scores_skipped += 1
                continue
            if m.needs_reference and ref_sha is None:
                fail(m, f"reference video failed: {ref_item.error}" if ref_item is not None
                     else f"no reference video matches {item.pair_key!r} in {ev.ref_src.root}")
                continue
            if m.needs_image and item.image and item.image_sha256:
                now = _image_sha256(item)
                if now is not None and now != item.image_sha256:
                    fail(m, f"the conditioning image {item.image} changed since the video was generated (SHA-256 "
                            f"{item.image_sha256[:12]}… then, {now[:12]}… now): restore it, or generate again")
                    continue
            hit = store.cached_score(sha, _context_sha(m, item, ref_sha), m.protocol_id, m.weights_sha256)
            if hit is not None and hit.extra.get("decoding") != DECODING_REVISION:
                hit = None  # computed from frames decoded by earlier rules: recompute
            if hit is not None:
                report.scores_cached += 1
                rows.append(_score_row(ev, m, item.key, sha, _context_sha(m, item, ref_sha), hit, cached=True))
            elif cfg.only_cached:  # merge: a shard's stored failure stays that failure
                stored = _stored_error(store, ev.src.source_id, item.key, m.protocol_id,
                                       ev.reference_id if m.needs_reference else "", sha)
                fail(m, stored or _NOT_COMPUTED)
            else:
                todo.append(i)
                contexts.append(_context_sha(m, item, ref_sha))
        extract = []
        for name, ex in ev.extractors.items():
            f = ev.cache.lookup(ex, sha, "generated")
            if f is not None:
                for m in ev.users_of(name):
                    m.add_features(item.key, f, "generated")
            elif cfg.only_cached:  # merge: a failure its shard recorded, or a setup error
                for m in ev.users_of(name):
                    stored = _stored_error(store, ev.src.source_id, item.key, m.protocol_id,
                                           ev.reference_id if m.needs_reference else "", sha)
                    if not stored:
                        raise ConfigError(
                            f"the features of {item.path} ({name}) are not in {ev.cache.root}: the shards of a "
                            "distribution metric must share one --feature-cache (and the merge must see it at the "
                            "same path); rerun the shards that way, or copy their feature folders into one")
                    m.add_failure(item.key, stored)
                    ev.fail_item(item.key, item.path, f"{m.name}: {stored}")
            else:
                extract.append(name)
        if todo or extract:
            units.append(WorkUnit(len(units), item.key, "generated", item.path, sha,
                                  ref_path=ref_item.path if ref_item is not None else None, scores=todo,
                                  contexts=contexts, extract=extract, prompt=item.prompt, aux=item.aux,
                                  group=(item.prompt_id or item.pair_key, item.sample_index or 0),
                                  image=item.image))
    store.put_item_metrics(rows)
    if ev.reference_extractors():
        units += _plan_reference(ev, len(units), reference_failures)
    return units


def _plan_reference(ev: _Evaluation, start: int, known_failures: dict[str, list[str]]) -> list[WorkUnit]:
    """Fill the distribution metrics' reference sets from a statistics file or from cached reference features; the
    reference videos whose features are not cached become units (role ``reference``)."""
    from vgbench.bench.engine import WorkUnit

    if ev.refstats is not None:
        _use_refstats(ev)
        return []
    shard = ev.shard
    ref_items = ev.ref_src.items if shard is None else [
        it for it in ev.ref_src.items if shard_of("reference:" + it.key, shard[1]) == shard[0] - 1]
    units = []
    for it in ref_items:
        if it.error:
            continue
        sha = _content_sha256(it, ev.report)
        extract = []
        for name, ex in ev.reference_extractors().items():
            f = ev.cache.lookup(ex, sha, "reference")
            if f is not None:
                for m in ev.users_of(name, "reference"):
                    m.add_features(it.key, f, "reference")
            elif ev.config.only_cached:
                known = known_failures.get(str(Path(it.path).resolve()))
                if not known:
                    raise ConfigError(f"the features of reference video {it.path} ({name}) are not in the feature "
                                      "cache: the shards of a distribution metric must share one --feature-cache "
                                      "(seen by the merge at the same path)")
                if f"reference:{it.key}" not in ev.failures:
                    for e in known:
                        ev.fail_item(f"reference:{it.key}", it.path, e)
            else:
                extract.append(name)
        if extract:
            units.append(WorkUnit(start + len(units), f"reference:{it.key}", "reference", it.path, sha,
                                  extract=extract))
    return units


def _use_refstats(ev: _Evaluation) -> None:
    meta, feats = ev.refstats
    for _, m in ev.dist:
        if not m.needs_reference:
            continue
        want = m.extractor.cache_key()
        have = meta["extractor"]["cache_key"]
        if want != have:
            raise ConfigError(
                f"{ev.config.reference}: reference statistics were built with extractor "
                f"{meta['extractor']['extractor']} (cache key {have}, backbone {meta['extractor']['backbone']}, "
                f"weights {meta['extractor']['weights_sha256'][:16]}…), but {m.protocol_id} needs {want} (backbone "
                f"{m.extractor.backbone}, weights {m.extractor.weights_sha256[:16]}…): rebuild them with `vgbench "
                f"refstats build DIR --metric {m.protocol_id}`, or, if they were built with user-supplied weights, "
                "pass the same --weights NAME=FILE here")
        for k, f in feats.items():
            m.add_features(k, f, "reference")


def _context_sha(m, item: EvalItem, ref_sha: str | None) -> str:
    """What besides the video a cached score depends on: the reference's content (paired metrics), the prompt
    text and aux info (a score of the same video under another prompt must not be reused), or the conditioning
    image's content (image-to-video metrics)."""
    if m.needs_image:
        return "img:" + provenance.stable_hash({"image": _image_sha256(item)}, length=16)
    if m.needs_prompt or m.needs_aux:
        return "ctx:" + provenance.stable_hash({"prompt": item.prompt if m.needs_prompt else None,
                                                "aux": item.aux if m.needs_aux else None}, length=16)
    return (ref_sha or "") if m.needs_reference else ""


def _image_sha256(item: EvalItem) -> str | None:
    """The conditioning image's SHA-256 now (a replaced image must not reuse scores); None when it has none or the
    file is gone (the metric then fails the item, saying so). Hashed once per file version (path, size, mtime):
    planning asks for it several times per item, and many items share one image."""
    if not item.image:
        return None
    try:
        st = os.stat(item.image)
    except OSError:
        return None
    return _hash_file_version(item.image, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _hash_file_version(path: str, size: int, mtime_ns: int) -> str | None:
    try:
        return provenance.file_sha256(path)
    except OSError:
        return None


def _score_row(ev: _Evaluation, m, key: str, sha: str, rsha: str, s: ItemScore, cached: bool = False) -> dict:
    extra = s.extra if cached else {**s.extra, "decoding": DECODING_REVISION}
    return {"run_id": ev.src.source_id, "item_key": key, "metric": m.name, "protocol": m.protocol_id,
            "reference": ev.reference_id if m.needs_reference else "", "video_sha256": sha, "reference_sha256": rsha,
            "value": s.value, "weight": s.weight, "status": "ok", "extra": extra, "backbone": m.backbone,
            "weights_sha256": m.weights_sha256}


def _execute(ev: _Evaluation, units: list[WorkUnit], executor: Any) -> None:
    """Run the units through the executor; one writer stores each result as it arrives (in unit order)."""
    from vgbench.bench.engine.executors import create_executor
    from vgbench.bench.engine.units import RunnerSpec, UnitGroup, UnitRunner, group_units
    from vgbench.bench.engine.writer import StoreWriter
    from vgbench.bench.progress import progress as progress_of

    if not units:
        return
    cfg = ev.config
    executor = executor or create_executor(cfg.executor, cfg.workers)
    runner = UnitRunner(ev.metrics, ev.extractors)
    torch = sys.modules.get("torch")
    spec = RunnerSpec(tuple(ev.item_specs), tuple(ev.extractors), cfg.allow_random_weights,
                      tuple(sorted(cfg.weights.items())), torch.get_num_threads() if torch else None)
    desc = "evaluating" + (f" (shard {cfg.shard})" if ev.shard else "")
    batch = cfg.batch_size() if any(e.batchable for e in ev.extractors.values()) else 1
    work = group_units(units, batch)

    def members(stream):  # a group's result is its members' results, in order
        for unit, res in stream:
            if isinstance(unit, UnitGroup):
                yield from zip(unit.members, res)
            else:
                yield unit, res
    with StoreWriter(ev.store) as writer:
        for unit, res in progress_of(members(executor.run(work, runner, spec)), total=len(units), desc=desc,
                                     enabled=cfg.progress):
            writer.add(_result_rows(ev, unit, res))
    ev.report.executor = executor.describe() | {"batch": batch} | (
        {"retried": executor.retried} if executor.retried else {})


def _result_rows(ev: _Evaluation, unit: WorkUnit, res: Any) -> list[dict[str, Any]]:
    """Store rows, metric state and report counts for one unit's result."""
    report = ev.report
    rows = []
    if res.decoded:
        report.items_decoded += 1
    for i, context in zip(unit.scores, unit.contexts):
        m, s = ev.metrics[i], res.scores[i]
        if isinstance(s, str):
            rows.append({"run_id": ev.src.source_id, "item_key": unit.key, "metric": m.name,
                         "protocol": m.protocol_id, "reference": ev.reference_id if m.needs_reference else "",
                         "status": "error", "error": s, "video_sha256": unit.sha256})
            ev.fail_item(unit.key, unit.path, f"{m.name}: {s}")
        else:
            report.scores_computed += 1
            rows.append(_score_row(ev, m, unit.key, unit.sha256, context, s))
    for name in unit.extract:
        f = res.features[name]
        if not isinstance(f, str):
            ev.cache.store(ev.extractors[name], unit.sha256, unit.role, f)
        for m in ev.users_of(name, unit.role):
            key = unit.key.removeprefix("reference:") if unit.role == "reference" else unit.key
            if not isinstance(f, str):
                m.add_features(key, f, unit.role)
            elif unit.role == "reference":
                ev.fail_item(unit.key, unit.path, f"{m.name}: {f}")
            else:
                m.add_failure(unit.key, f)
                ev.fail_item(unit.key, unit.path, f"{m.name}: {f}")
                # recorded, so that a merge of shards reports this failure, not a missing feature
                rows.append({"run_id": ev.src.source_id, "item_key": unit.key, "metric": m.name,
                             "protocol": m.protocol_id, "reference": ev.reference_id if m.needs_reference else "",
                             "status": "error", "error": f, "video_sha256": unit.sha256})
    return rows


def _record_shard(ev: _Evaluation) -> None:
    """Record what this shard evaluated, for `vgbench merge`."""
    cfg, shard = ev.config, ev.shard
    evaluation = provenance.stable_hash({"metrics": ev.metric_specs, "reference": ev.reference_id,
                                         "weights": sorted(cfg.weights.items())}, length=12)
    ev.store.set_meta(f"shard/{ev.src.source_id}/{evaluation}/{shard[1]}/{shard[0]}",
                      {"config": {**cfg.to_dict(), "shard": None, "db": None, "progress": False,
                                  "executor": "local", "workers": None,
                                  "videos": str(Path(cfg.videos).resolve()),
                                  "reference": str(Path(cfg.reference).resolve()) if cfg.reference else None,
                                  "feature_cache": str(ev.cache.root.resolve())},
                       "shard": list(shard), "source_id": ev.src.source_id, "reference_id": ev.reference_id,
                       "evaluation": evaluation, "distribution": bool(ev.dist), "items": len(ev.items),
                       "reference_failures": {str(Path(f["path"]).resolve()): f["errors"]
                                              for f in ev.report.failures if str(f["item"]).startswith("reference:")}})


def _aggregate(ev: _Evaluation) -> None:
    """Set-level values: distribution metrics from their feature sets, the others from the stored per-item values
    (exact ``fsum``, so a resumed or repeated evaluation gives the same numbers bit for bit)."""
    report, store, src, ref_src = ev.report, ev.store, ev.src, ev.ref_src
    for spec, m in ev.dist:
        result = m.compute()
        if m.needs_reference:
            result.details["reference"] = str(ev.config.reference)
            result.details["reference_label"] = (ref_src.model or ref_src.root.name) if ref_src else "refstats"
        result.details.update(ev.cache.stats())
        store.put_set_metric(src.source_id, ev.reference_id if m.needs_reference else "", result)
        report.results[spec] = result
    keys = {it.key for it in src.items}
    for spec, m in zip(ev.item_specs, ev.metrics):
        m.reset()
        ref_key = ev.reference_id if m.needs_reference else ""
        for row in store.item_scores(src.source_id, m.protocol_id, ref_key):
            if row["item_key"] not in keys:
                continue
            if row["status"] == "ok":
                m.add(row["item_key"], ItemScore(row["value"], row["weight"], json.loads(row["extra_json"] or "{}")))
            else:
                m.add_failure(row["item_key"], row["error"])
        # per-prompt rules (temporal flickering keeps ≤ 5 static videos per prompt)
        m.set_item_groups({it.key: (it.prompt_id or it.pair_key, it.sample_index or 0) for it in src.items})
        result = m.compute()
        if m.needs_reference:
            result.details["reference"] = str(ref_src.root)
            result.details["reference_label"] = ref_src.model or ref_src.root.name
        store.put_set_metric(src.source_id, ref_key, result)
        report.results[spec] = result
