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

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vgbench.bench import provenance
from vgbench.bench.config import EvalConfig, shard_of
from vgbench.bench.errors import ConfigError, MetricError, VideoError
from vgbench.bench.runs import DB_NAME
from vgbench.bench.sources import EvalItem, VideoSource, is_run_folder, load_source  # noqa: F401  (re-exported)
from vgbench.bench.store import ResultsStore
from vgbench.bench.video import DECODING_REVISION, read_video
from vgbench.bench.video.decode import decoder_version
from vgbench.metrics.base import ItemScore, MetricResult, ScoreContext


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

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "reference": self.reference_id or None, "db": self.db,
                "metrics": {k: r.to_dict() for k, r in self.results.items()}, "failed_items": self.failures,
                "items": self.items_total, "scores_computed": self.scores_computed,
                "scores_cached": self.scores_cached, "scores_skipped_not_in_dimension": self.scores_skipped,
                "files_changed_since_generation": self.files_changed,
                **({"shard": self.shard} if self.shard else {}),
                **(self.feature_cache.stats() if self.feature_cache is not None else {})}


class _NotComputed(MetricError):
    """Raised instead of computing in ``only_cached`` mode."""


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


def _register_source(store: ResultsStore, src: VideoSource, metric_specs: list[str]) -> None:
    """Record the source in the store: a folder as an evaluation run with its items; a run folder (whose run and
    items `vgbench run` records) only when this database has not seen it (e.g. evaluated with another --db)."""
    if src.kind == "folder":
        store.upsert_run(src.source_id, "evaluation", src.model, None, None, str(src.root),
                         {"videos": str(src.root), "metrics": metric_specs}, provenance.collect())
    elif store.query("SELECT 1 FROM runs WHERE run_id=?", (src.source_id,)):
        return
    else:
        doc = json.loads((src.root / "run.json").read_text(encoding="utf-8"))
        store.upsert_run(src.source_id, "generation", src.model, src.suite, src.suite_sha256, str(src.root),
                         doc["config"] | {"settings": doc["settings"]}, doc["provenance"])
    store.upsert_items(src.source_id, [
        {"item_key": it.key, "item_id": it.key if src.kind == "run" else None, "prompt_id": it.prompt_id,
         "prompt": it.prompt, "sample_index": it.sample_index, "seed": it.seed, "video_path": it.path,
         "video_sha256": it.sha256, "status": "error" if it.error else "ok", "error": it.error}
        for it in src.items])


def evaluate(config: EvalConfig, *, store: ResultsStore | None = None,
             reference_failures: dict[str, list[str]] | None = None) -> EvaluationReport:
    """Score every video of ``config.videos`` (a run folder or a folder of videos) with ``config``'s metrics and
    VBench dimensions (see :class:`~vgbench.bench.config.EvalConfig` for every field).

    Args:
        config: what to score and how.
        store: an open results store to write to (default: open ``config.db``, or :func:`default_db_for`).
        reference_failures: with ``config.only_cached`` (merge): reference videos whose features failed in their
            shard (path → errors); they are reported as failed again, not as a missing feature cache.

    Returns:
        The report: each metric's :class:`~vgbench.metrics.base.MetricResult`, failed items, counts.

    Raises:
        ConfigError: unknown metrics, a missing reference, weights problems; VideoError: the source cannot be read.
    """
    from vgbench.bench.progress import progress as progress_of

    from vgbench.bench.distribution_eval import is_refstats_file, load_refstats
    from vgbench.bench.features import FeatureStore
    from vgbench.metrics.base import MetricKind
    from vgbench.metrics.backbones.registry import UserWeights
    from vgbench.metrics.distribution.extractors import create_extractor
    from vgbench.metrics.registry import create_metric

    if not isinstance(config, EvalConfig):
        raise TypeError("evaluate() takes one EvalConfig (vgbench.EvalConfig(videos=..., metrics=[...]))")
    metric_specs = config.metric_specs()
    videos, reference, db, progress = config.videos, config.reference, config.db, config.progress
    feature_cache, allow_random_weights = config.feature_cache, config.allow_random_weights
    user_weights = UserWeights(config.weights)
    all_metrics = [create_metric(s) for s in metric_specs]
    user_weights.check_needed(all_metrics)  # names and files, before anything is loaded or decoded
    dist = [(spec, m) for spec, m in zip(metric_specs, all_metrics) if m.kind == MetricKind.DISTRIBUTION]
    metrics = [m for m in all_metrics if m.kind != MetricKind.DISTRIBUTION]
    metric_specs_items = [spec for spec, m in zip(metric_specs, all_metrics) if m.kind != MetricKind.DISTRIBUTION]
    refstats = None
    if is_refstats_file(reference):
        if metrics and any(m.needs_reference for m in metrics):
            raise ConfigError("paired metrics need reference videos, not a statistics file: pass a folder")
        refstats = load_refstats(reference)
    src = load_source(videos)
    ref_src = load_source(reference) if reference is not None and refstats is None else None
    if any(m.needs_reference for m in all_metrics) and ref_src is None and refstats is None:
        names = ", ".join(m.name for m in all_metrics if m.needs_reference)
        raise ConfigError(f"{names}: paired and distribution metrics need reference videos: add --reference DIR "
                          "(or, for distribution metrics, a reference-statistics file from `vgbench refstats build`)")
    for m in metrics:  # resolve and verify weights / binaries before decoding anything
        m.load(allow_random=allow_random_weights, weights=user_weights)
    extractors: dict[str, Any] = {}
    for _, m in dist:
        if m.extractor_name not in extractors:
            extractors[m.extractor_name] = create_extractor(m.extractor_name)
            # resolve and verify weights before decoding anything
            extractors[m.extractor_name].load(allow_random=allow_random_weights, weights=user_weights)
        m.use_extractor(extractors[m.extractor_name])
    refs = {it.pair_key: it for it in ref_src.items} if ref_src else {}
    if ref_src:
        refs_by_stem = {Path(k).name: v for k, v in refs.items()}
    db_path = Path(db) if db else default_db_for(src)
    own = store is None
    store = store or ResultsStore(db_path)
    reference_id = ref_src.source_id if ref_src else ""
    if refstats is not None:
        reference_id = "refstats-" + provenance.file_sha256(reference)[:12]
    shard = config.shard_index()
    items = src.items if shard is None else [it for it in src.items if shard_of(it.key, shard[1]) == shard[0] - 1]
    report = EvaluationReport(src.source_id, reference_id, str(db_path), items_total=len(items),
                              shard=config.shard)
    cache = FeatureStore(Path(feature_cache) if feature_cache else db_path.parent / "features")
    report.feature_cache = cache

    def collector(sha: str, role: str, decode):
        return cache.collect(extractors.values(), sha, role, decode)
    try:
        _register_source(store, src, metric_specs)
        ref_decoded: dict[str, Any] = {}
        for item in progress_of(items, desc="evaluating" + (f" (shard {config.shard})" if shard else ""),
                                enabled=progress):
            rows, failures = [], []
            ref_item = None
            if ref_src:
                ref_item = refs.get(item.pair_key) or refs_by_stem.get(Path(item.pair_key).name)
            base = {"run_id": src.source_id, "item_key": item.key}

            def fail(metric, error):
                rows.append({**base, "metric": metric.name, "protocol": metric.protocol_id,
                             "reference": reference_id if metric.needs_reference else "", "status": "error",
                             "error": error, "video_sha256": sha})
                failures.append(f"{metric.name}: {error}")

            sha = None
            decoded: dict[str, Any] = {}

            def decode(path=item.path):
                if config.only_cached:
                    raise _NotComputed("not computed by any shard (merge computes nothing: run the missing shard)")
                if "video" not in decoded:
                    try:
                        decoded["video"] = read_video(path)
                        report.items_decoded += 1
                    except VideoError as e:
                        decoded["video"] = e
                if isinstance(decoded["video"], VideoError):
                    raise decoded["video"]
                return decoded["video"]

            error = item.error
            if not error:
                try:
                    sha = _content_sha256(item, report)
                except OSError as e:
                    error = f"cannot read {item.path}: {e.strerror or e}"
            if error:
                for m in metrics:
                    fail(m, error)
                for _, m in dist:
                    m.add_failure(item.key, error)
                    failures.append(f"{m.name}: {error}")
            else:
                ref_sha = None
                if ref_item is not None and ref_item.error is None:
                    try:
                        ref_sha = _content_sha256(ref_item, report)
                    except OSError:
                        ref_sha = None  # its paired metrics fail this item below
                todo = []
                for m in metrics:
                    dim = m.dimension
                    if dim and item.dimensions and dim not in item.dimensions:
                        report.scores_skipped += 1
                        continue
                    if m.needs_reference and ref_sha is None:
                        why = (f"reference video failed: {ref_item.error}" if ref_item is not None
                               else f"no reference video matches {item.pair_key!r} in {ref_src.root}")
                        fail(m, why)
                        continue
                    rsha = ref_sha if m.needs_reference else ""
                    if m.needs_prompt or m.needs_aux:  # the score depends on the prompt text or
                        # its aux info: the cached score of the same video under another prompt must not be reused
                        rsha = "ctx:" + provenance.stable_hash(
                            {"prompt": item.prompt if m.needs_prompt else None,
                             "aux": item.aux if m.needs_aux else None}, length=16)
                    hit = store.cached_score(sha, rsha, m.protocol_id, m.weights_sha256)
                    if hit is not None and hit.extra.get("decoding") != DECODING_REVISION:
                        hit = None  # computed from frames decoded by earlier rules: recompute
                    if hit is not None:
                        report.scores_cached += 1
                        rows.append({**base, "metric": m.name, "protocol": m.protocol_id,
                                     "reference": reference_id if m.needs_reference else "", "video_sha256": sha,
                                     "reference_sha256": rsha, "value": hit.value, "weight": hit.weight,
                                     "status": "ok", "extra": hit.extra, "backbone": m.backbone,
                                     "weights_sha256": m.weights_sha256})
                    else:
                        todo.append((m, rsha))
                if todo and config.only_cached:  # merge: a shard's stored failure stays that failure
                    for m, _ in todo:
                        stored = _stored_error(store, src.source_id, item.key, m.protocol_id,
                                               reference_id if m.needs_reference else "", sha)
                        fail(m, stored or "not computed by any shard (merge computes nothing: run the missing shard)")
                    todo = []
                if todo:
                    video = ref_video = None
                    try:
                        video = decode()
                    except VideoError as e:
                        for m, _ in todo:
                            fail(m, f"{type(e).__name__}: {e}")
                    if video is not None and any(m.needs_reference for m, _ in todo):
                        try:
                            if ref_item.path not in ref_decoded:
                                ref_decoded.clear()  # keep at most one reference video in memory
                                ref_decoded[ref_item.path] = read_video(ref_item.path)
                            ref_video = ref_decoded[ref_item.path]
                        except VideoError as e:
                            ref_video = e
                    if video is not None:
                        for m, rsha in todo:
                            if m.needs_reference and isinstance(ref_video, VideoError):
                                fail(m, f"reference {type(ref_video).__name__}: {ref_video}")
                                continue
                            try:
                                s: ItemScore = m.score_item(ScoreContext(
                                    video, ref_video if m.needs_reference else None, item.prompt, item.aux, item.key,
                                    (item.prompt_id or item.pair_key, item.sample_index or 0)))
                            except (MetricError, ValueError, RuntimeError) as e:
                                fail(m, f"{type(e).__name__}: {e}")
                                continue
                            report.scores_computed += 1
                            rows.append({**base, "metric": m.name, "protocol": m.protocol_id,
                                         "reference": reference_id if m.needs_reference else "",
                                         "video_sha256": sha, "reference_sha256": rsha, "value": s.value,
                                         "weight": s.weight, "status": "ok",
                                         "extra": {**s.extra, "decoding": DECODING_REVISION},
                                         "backbone": m.backbone, "weights_sha256": m.weights_sha256})
                if dist:
                    got = collector(sha, "generated", decode)
                    for _, m in dist:
                        f = got[m.extractor_name]
                        if isinstance(f, _NotComputed):  # merge: a failure its shard recorded, or a setup error
                            stored = _stored_error(store, src.source_id, item.key, m.protocol_id, reference_id, sha)
                            if not stored:
                                raise ConfigError(
                                    f"the features of {item.path} ({m.extractor_name}) are not in {cache.root}: "
                                    "the shards of a distribution metric must share one --feature-cache (and the "
                                    "merge must see it at the same path); rerun the shards that way, or copy their "
                                    "feature folders into one")
                            m.add_failure(item.key, stored)
                            failures.append(f"{m.name}: {stored}")
                        elif isinstance(f, Exception):
                            error = f"{type(f).__name__}: {f}"
                            m.add_failure(item.key, error)
                            failures.append(f"{m.name}: {error}")
                            # recorded, so that a merge of shards reports this failure, not a missing feature
                            rows.append({**base, "metric": m.name, "protocol": m.protocol_id,
                                         "reference": reference_id, "status": "error", "error": error,
                                         "video_sha256": sha})
                        else:
                            m.add_features(item.key, f, "generated")
            store.put_item_metrics(rows)
            if failures:
                report.failures.append({"item": item.key, "path": item.path, "errors": failures})
        if shard is not None:  # set-level values need every shard: `vgbench merge` computes them
            if dist:
                _reference_features(dist, ref_src, refstats, reference, collector, progress, report, shard)
            evaluation = provenance.stable_hash({"metrics": metric_specs, "reference": reference_id,
                                                 "weights": sorted(config.weights.items())}, length=12)
            store.set_meta(f"shard/{src.source_id}/{evaluation}/{shard[1]}/{shard[0]}",
                           {"config": {**config.to_dict(), "shard": None, "db": None, "progress": False,
                                       "videos": str(Path(config.videos).resolve()),
                                       "reference": str(Path(config.reference).resolve()) if config.reference else None,
                                       "feature_cache": str(cache.root.resolve())},
                            "shard": list(shard), "source_id": src.source_id, "reference_id": reference_id,
                            "evaluation": evaluation, "distribution": bool(dist), "items": len(items),
                            "reference_failures": {str(Path(f["path"]).resolve()): f["errors"] for f in report.failures
                                                   if str(f["item"]).startswith("reference:")}})
            return report
        if dist:
            _reference_features(dist, ref_src, refstats, reference, collector, progress, report, None,
                                config.only_cached, reference_failures or {})
            for spec, m in dist:
                result = m.compute()
                result.details["reference"] = str(reference)
                result.details["reference_label"] = (ref_src.model or ref_src.root.name) if ref_src else "refstats"
                result.details.update(cache.stats())
                store.put_set_metric(src.source_id, reference_id, result)
                report.results[spec] = result
        keys = {it.key for it in src.items}
        for spec, m in zip(metric_specs_items, metrics):
            m.reset()
            ref_key = reference_id if m.needs_reference else ""
            for row in store.item_scores(src.source_id, m.protocol_id, ref_key):
                if row["item_key"] not in keys:
                    continue
                if row["status"] == "ok":
                    m.add(row["item_key"], ItemScore(row["value"], row["weight"],
                                                     json.loads(row["extra_json"] or "{}")))
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
    finally:
        from vgbench.bench import features

        features.release()  # do not keep the last video's frames and features alive after the evaluation
        if own:
            store.close()
    report.results = {spec: report.results[spec] for spec in metric_specs if spec in report.results}
    decoding = {"decoder": decoder_version("pyav"), "decoding_revision": DECODING_REVISION}
    for r in report.results.values():
        r.details.setdefault("decoding", decoding)
    return report


def _reference_features(dist, ref_src, refstats, reference, collector, progress, report,
                        shard: tuple[int, int] | None = None, only_cached: bool = False,
                        known_failures: dict[str, list[str]] | None = None) -> None:
    """Fill every distribution metric's reference set from reference videos (cached) or a statistics file."""
    from vgbench.bench.progress import progress as progress_of

    if refstats is not None:
        meta, feats = refstats
        for _, m in dist:
            want = m.extractor.cache_key()
            have = meta["extractor"]["cache_key"]
            if want != have:
                raise ConfigError(
                    f"{reference}: reference statistics were built with extractor {meta['extractor']['extractor']} "
                    f"(cache key {have}, backbone {meta['extractor']['backbone']}, weights "
                    f"{meta['extractor']['weights_sha256'][:16]}…), but {m.protocol_id} needs {want} (backbone "
                    f"{m.extractor.backbone}, weights {m.extractor.weights_sha256[:16]}…): rebuild them with `vgbench "
                    f"refstats build DIR --metric {m.protocol_id}`, or, if they were built with user-supplied weights, "
                    "pass the same --weights NAME=FILE here")
            for k, f in feats.items():
                m.add_features(k, f, "reference")
        return
    ref_items = ref_src.items if shard is None else [
        it for it in ref_src.items if shard_of("reference:" + it.key, shard[1]) == shard[0] - 1]

    def read_ref(path):
        if only_cached:
            raise _NotComputed("reference features not computed by any shard (merge computes nothing)")
        return read_video(path)

    for it in progress_of(ref_items, desc="reference features", enabled=progress):
        if it.error:
            continue
        sha = _content_sha256(it, report)
        got = collector(sha, "reference", lambda p=it.path: read_ref(p))
        for _, m in dist:
            f = got[m.extractor_name]
            known = (known_failures or {}).get(str(Path(it.path).resolve()))
            if isinstance(f, _NotComputed) and known:
                report.failures.append({"item": f"reference:{it.key}", "path": it.path, "errors": list(known)})
                continue
            if isinstance(f, _NotComputed):
                raise ConfigError(f"the features of reference video {it.path} ({m.extractor_name}) are not in the "
                                  "feature cache: the shards of a distribution metric must share one --feature-cache "
                                  "(seen by the merge at the same path)")
            if isinstance(f, Exception):
                report.failures.append({"item": f"reference:{it.key}", "path": it.path,
                                        "errors": [f"{m.name}: {type(f).__name__}: {f}"]})
            else:
                m.add_features(it.key, f, "reference")
