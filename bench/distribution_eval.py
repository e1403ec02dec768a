"""Evaluation of distribution metrics (FVD, KVD, FVMD, FID/KID): features per video, cached, then one set value.

Each extractor needed by the requested metrics is built once (weights resolved and verified up front, so a missing
checkpoint fails before any video is decoded) and shared: ``fvd/styleganv`` and ``kvd/kid-subsets`` extract once.
Per-video features live in the :class:`~vgbench.bench.features.FeatureStore`; evaluating again extracts nothing.

The reference set is a folder (or run folder) of videos, or a reference-statistics file written by
:func:`build_refstats` (``vgbench refstats build``): an ``.npz`` holding every reference video's features and the
extractor description; it is used only by metrics whose extractor cache key (backbone, weights hash,
preprocessing, sampling) matches.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from vgbench.bench.errors import ConfigError
from vgbench.bench.features import FeatureStore, digest
from vgbench.bench.video import read_video

REFSTATS_FORMAT = "vgbench-refstats/2"  # /2: checksums of the arrays in the metadata


def is_refstats_file(path: str | Path | None) -> bool:
    return path is not None and Path(path).suffix == ".npz" and Path(path).is_file()


def save_refstats(path: str | Path, extractor, keys: list[str], feats: list[np.ndarray], source: str,
                  failed: dict[str, str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    offsets = np.cumsum([0] + [len(f) for f in feats]).astype(np.int64)
    allf = np.concatenate(feats).astype(np.float32) if feats else np.zeros((0, extractor.feature_dim), np.float32)
    x = allf.astype(np.float64)
    meta = {"format": REFSTATS_FORMAT, "extractor": extractor.describe(), "source": source, "n_videos": len(keys),
            "n_rows": int(len(allf)), "failed": failed, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "features_sha256": digest(allf), "offsets_sha256": digest(offsets),
            "keys_sha256": _keys_digest(keys)}
    meta["meta_sha256"] = _meta_digest(meta)
    from vgbench.bench.fileio import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, features=allf, offsets=offsets, keys=np.array(keys, dtype=str),
                 mu=x.mean(0) if len(x) else np.zeros(extractor.feature_dim),
                 meta=np.array(json.dumps(meta, sort_keys=True)))
    return path


def _keys_digest(keys: list[str]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(list(keys)).encode()).hexdigest()


def _meta_digest(meta: dict[str, Any]) -> str:
    """SHA-256 of the metadata's canonical JSON without its own checksum (covers the extractor description too)."""
    import hashlib

    return hashlib.sha256(json.dumps({k: v for k, v in meta.items() if k != "meta_sha256"},
                                     sort_keys=True).encode()).hexdigest()


def load_refstats(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(meta, {video key: features}) of a reference-statistics file, verified against the checksums it carries.

    Raises:
        ConfigError: not readable as one (truncated, not a zip, missing arrays), an older unverifiable format, or
            damaged (a checksum, the layout or the keys do not match what was written); the message names the file
            and how to rebuild it.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            feats, offsets, keys = z["features"], z["offsets"], [str(k) for k in z["keys"]]
    except Exception as e:  # noqa: BLE001 - zip, npy header, JSON or missing-array damage: all "not readable"
        raise ConfigError(f"{path}: not a readable vgbench reference-statistics file ({type(e).__name__}: {e}); "
                          "build one with `vgbench refstats build DIR --metric ... -o FILE`") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{path}: not a vgbench reference-statistics file (no metadata)")
    if meta.get("format") == "vgbench-refstats/1":
        raise ConfigError(f"{path}: made by an older vgbench without a checksum, so it cannot be verified; rebuild it "
                          "with `vgbench refstats build DIR --metric ... -o FILE`")
    if meta.get("format") != REFSTATS_FORMAT:
        raise ConfigError(f"{path}: unknown reference-statistics format {meta.get('format')!r}")
    consistent = (feats.ndim == 2 and feats.dtype == np.float32 and len(offsets) == len(keys) + 1
                  and len(set(keys)) == len(keys) and _keys_digest(keys) == meta.get("keys_sha256")
                  and _meta_digest(meta) == meta.get("meta_sha256")
                  and int(offsets[0]) == 0 and int(offsets[-1]) == len(feats) and bool(np.all(np.diff(offsets) >= 0))
                  and len(feats) == meta.get("n_rows"))
    if not consistent or digest(np.ascontiguousarray(feats)) != meta.get("features_sha256") \
            or digest(np.ascontiguousarray(offsets)) != meta.get("offsets_sha256"):
        raise ConfigError(f"{path}: the reference statistics are damaged (their checksum or layout does not match "
                          "what was written); rebuild the file with `vgbench refstats build`")
    return meta, {k: feats[offsets[i]:offsets[i + 1]] for i, k in enumerate(keys)}


def build_refstats(videos: str | Path, metric_spec: str, out: str | Path, cache_root: str | Path | None = None,
                   progress: bool = True, allow_random_weights: bool | None = None, weights=None) -> dict[str, Any]:
    """Extract the reference features that ``metric_spec`` needs from every video under ``videos`` into ``out``
    (``weights``: user-supplied weights files, as :func:`vgbench.bench.evaluate.evaluate` takes them)."""
    from vgbench.bench.progress import progress as progress_of

    from vgbench.bench import provenance
    from vgbench.bench.sources import load_source
    from vgbench.metrics.base import MetricKind
    from vgbench.metrics.registry import create_metric

    metric = create_metric(metric_spec)
    if metric.kind != MetricKind.DISTRIBUTION:
        raise ConfigError(f"{metric_spec} is not a distribution metric: reference statistics are for FVD, KVD, "
                          "FVMD, FID and KID")
    if not metric.needs_reference:
        raise ConfigError(f"{metric_spec} compares with no reference set: it needs no reference statistics")
    from vgbench.metrics.backbones.registry import UserWeights

    extractor = metric.extractor
    user_weights = UserWeights(weights)
    user_weights.check_needed([metric])
    extractor.load(allow_random=allow_random_weights, weights=user_weights)
    src = load_source(videos)
    cache = FeatureStore(Path(cache_root) if cache_root else Path("vgbench-out") / "features")
    keys, feats, failed = [], [], {}
    for it in progress_of(src.items, desc="reference features", enabled=progress):
        if it.error:
            failed[it.key] = it.error
            continue
        sha = provenance.file_sha256(it.path)  # the content now, not the hash recorded at generation
        got = cache.collect([extractor], sha, "reference", lambda: read_video(it.path))[extractor.name]
        if isinstance(got, Exception):
            failed[it.key] = f"{type(got).__name__}: {got}"
            continue
        keys.append(it.key)
        feats.append(got)
    path = save_refstats(out, extractor, keys, feats, str(src.root), failed)
    return {"file": str(path), "extractor": extractor.name, "cache_key": extractor.cache_key(),
            "n_videos": len(keys), "failed": failed, **cache.stats()}
