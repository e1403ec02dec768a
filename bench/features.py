"""One feature layer: every value computed from a video (or a network loaded to compute it) that something else may
reuse, behind one key scheme. It replaces four caches that grew apart (the on-disk ``FeatureCache``, the VBench
``shared`` memo, the distribution ``FeatureCollector`` and the backbone ``_CACHE``).

Keys: a value is named by ``(namespace, detail)`` for one video: ``namespace`` says what computed it, with everything
that changes the numbers (an extractor's :meth:`cache_key` carries backbone, weights SHA-256, preprocessing, clip
sampling and decoding revision; a VBench memo key names network and transform), ``detail`` any extra part (the clip
role, the frame pairs). The video is identified by its decoded object in memory and by its file's SHA-256 on disk.

Tiers:

* **memo** (in memory, one pass): :func:`memo` computes a value once per decoded video; the metrics scoring the same
  video in one pass share it (VBench's dimensions share RAFT flow maps, ViCLIP embeddings, CLIP features, sampled
  frames and detections, only where their recipes coincide exactly, so sharing never changes a number). It holds one
  video at a time, so memory stays bounded; the harness calls :func:`release` when an evaluation ends.
* **store** (on disk, across evaluations): :class:`FeatureStore` keeps per-video feature arrays at
  ``<root>/<namespace>/<sha[:2]>/<video sha256>.<detail>.npz`` with the SHA-256 of the array's bytes beside it in the
  same file, written atomically (concurrent evaluations may share the store); :meth:`FeatureStore.collect` gets every
  extractor's features for one video, from the store or by extracting. An entry is used only if it reads back whole,
  its checksum matches and its shape is the extractor's (rows × feature dimension); anything else is recomputed,
  counted (``features_rejected``) and replaced, never used.
* **models** (in memory, process lifetime): :func:`cached_model` builds a loaded network once per key (name, weights
  file and hash, random-init permission, device); :func:`clear_models` drops them.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from vgbench.bench.errors import MetricError, VideoError

if TYPE_CHECKING:
    import numpy as np

    from vgbench.bench.video import Video

# ---- memo: one decoded video's shared intermediate values ------------------------------------------------------
# one slot per thread: the local executor scores several videos at once, each in its own thread
_local = threading.local()
_counts = {"hits": 0, "misses": 0}


def _slot():
    slot = getattr(_local, "slot", None)
    if slot is None:
        slot = _local.slot = {"video": None, "values": {}}
    return slot


def memo(video: Any, key: tuple, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per (decoded ``video`` object, ``key``); later calls for the same video return the stored
    value. A new video object drops the previous one's values (per thread)."""
    slot = _slot()
    if slot["video"] is not video:
        slot["video"], slot["values"] = video, {}
    values = slot["values"]
    if key in values:
        _counts["hits"] += 1
        return values[key]
    _counts["misses"] += 1
    values[key] = value = compute()
    return value


def stats() -> dict[str, int]:
    """How often a memo value was reused (``hits``) or computed (``misses``) in this process."""
    return dict(_counts)


def release() -> None:
    """Drop this thread's memo video and values (the harness calls it when a unit or an evaluation ends)."""
    _slot().update(video=None, values={})


clear = release  # the memo's former name


# ---- models: loaded networks ------------------------------------------------------------------------------------
_models: dict[tuple, Any] = {}


def cached_model(key: tuple, build: Callable[[], Any]) -> Any:
    """The loaded network for ``key``, built by ``build()`` on first use in this process."""
    if key not in _models:
        _models[key] = build()
    return _models[key]


def clear_models() -> None:
    """Forget every loaded network (tests; a long-lived process that changes weights files)."""
    _models.clear()


# ---- store: per-video feature arrays on disk ---------------------------------------------------------------------
class FeatureStore:
    """Per-video feature arrays on disk (see the module docstring); ``hits``/``extracted`` count what one evaluation
    did ("evaluating a run again extracts nothing")."""

    #: on-disk format; entries of another format are recomputed
    FORMAT = 2

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.hits = 0
        self.extracted = 0
        self.rejected = 0
        self._namespaces: dict[int, str] = {}  # extractor object → its cache key (computed once, after loading)

    def _path(self, namespace: str, video_sha256: str, detail: str) -> Path:
        return self.root / namespace / video_sha256[:2] / f"{video_sha256}.{detail}.npz"

    def get(self, namespace: str, video_sha256: str, detail: str, dim: int | None = None) -> "np.ndarray | None":
        """The stored ``[rows, dim]`` float32 array, or None when absent; an entry that does not read back whole,
        fails its checksum or has another shape is counted in ``rejected`` and None is returned (recompute it)."""
        import numpy as np

        p = self._path(namespace, video_sha256, detail)
        if not p.is_file():
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                arr, stored, fmt = z["features"], str(z["sha256"]), int(z["format"])
            ok = (fmt == self.FORMAT and arr.dtype == np.float32 and arr.ndim == 2 and len(arr) > 0
                  and (dim is None or dim <= 0 or arr.shape[1] == dim) and digest(arr) == stored)
        except Exception:  # noqa: BLE001 - any damage (zip, header, missing key) means: recompute
            ok = False
        if not ok:
            self.rejected += 1
            return None
        self.hits += 1
        return arr

    def put(self, namespace: str, video_sha256: str, detail: str, feats: "np.ndarray") -> None:
        """Store ``feats`` (as a 2-D float32 array) with its checksum, atomically."""
        import numpy as np

        arr = np.ascontiguousarray(np.asarray(feats, dtype=np.float32))
        if arr.ndim == 1:
            arr = arr[None]
        from vgbench.bench.fileio import atomic_path

        with atomic_path(self._path(namespace, video_sha256, detail)) as tmp, open(tmp, "wb") as f:
            np.savez(f, features=arr, sha256=np.array(digest(arr)), format=np.array(self.FORMAT))
        self.extracted += 1

    def key_for(self, extractor: Any, role: str) -> tuple[str, str]:
        """``(namespace, detail)`` of ``extractor``'s features of a ``role`` video (its cache key, computed once)."""
        namespace = self._namespaces.get(id(extractor))
        if namespace is None:
            namespace = self._namespaces[id(extractor)] = extractor.cache_key()
        return namespace, extractor.sampling.cache_role(role)

    def lookup(self, extractor: Any, video_sha256: str, role: str) -> "np.ndarray | None":
        """The stored features of ``extractor`` for a ``role`` video, verified (see :meth:`get`), or None."""
        namespace, detail = self.key_for(extractor, role)
        return self.get(namespace, video_sha256, detail, getattr(extractor, "feature_dim", None))

    def store(self, extractor: Any, video_sha256: str, role: str, feats: "np.ndarray") -> None:
        """Store features ``extractor`` computed for a ``role`` video (see :meth:`put`)."""
        namespace, detail = self.key_for(extractor, role)
        self.put(namespace, video_sha256, detail, feats)

    def collect(self, extractors: Iterable, video_sha256: str, role: str,
                decode: Callable[[], "Video"]) -> "dict[str, np.ndarray | Exception]":
        """Every extractor's features of one video (extractor name → array, or the error that item failed with):
        from the store, or extracted from ``decode()`` (called at most once, by the caller's memo) and stored.

        An extractor has ``name``, ``cache_key()`` (its namespace), ``sampling.cache_role(role)`` (its detail) and
        ``extract(video, role, sha256)`` (:class:`~vgbench.metrics.distribution.extractors.FeatureExtractor`).
        """
        out: dict[str, Any] = {}
        for ex in extractors:
            namespace, detail = self.key_for(ex, role)
            hit = self.get(namespace, video_sha256, detail, getattr(ex, "feature_dim", None))
            if hit is not None:
                out[ex.name] = hit
                continue
            try:
                feats = ex.extract(decode(), role, video_sha256)
            except (VideoError, MetricError, ValueError, RuntimeError) as e:
                out[ex.name] = e
                continue
            self.put(namespace, video_sha256, detail, feats)
            out[ex.name] = feats
        return out

    def stats(self) -> dict[str, int]:
        return {"features_cached": self.hits, "features_extracted": self.extracted,
                **({"features_rejected": self.rejected} if self.rejected else {})}


def digest(arr: "np.ndarray") -> str:
    """SHA-256 of an array's dtype, shape and bytes."""
    import hashlib

    h = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(memoryview(arr).cast("B"))
    return h.hexdigest()
