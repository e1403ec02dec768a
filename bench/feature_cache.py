"""Per-video feature cache, outside the model code.

Features are stored as ``<root>/<extractor cache key>/<sha[:2]>/<video sha256>.<role>.npy`` where the extractor key
already encodes the backbone, the SHA-256 of the weights used, the preprocessing and the clip sampling (see
:meth:`vgbench.metrics.distribution.extractors.FeatureExtractor.cache_key`). ``role`` matters only for extractors whose clip
sampling differs between generated and reference videos. Writes are atomic, so concurrent evaluations can share a
cache. ``hits``/``extracted`` count what one evaluation did ("evaluating a run again extracts nothing").
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


class FeatureCache:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.hits = 0
        self.extracted = 0

    def _path(self, extractor_key: str, video_sha256: str, role: str) -> Path:
        return self.root / extractor_key / video_sha256[:2] / f"{video_sha256}.{role}.npy"

    def get(self, extractor_key: str, video_sha256: str, role: str) -> np.ndarray | None:
        p = self._path(extractor_key, video_sha256, role)
        if not p.is_file():
            return None
        try:
            arr = np.load(p, allow_pickle=False)
        except (OSError, ValueError):
            return None  # a damaged entry is recomputed
        self.hits += 1
        return arr

    def put(self, extractor_key: str, video_sha256: str, role: str, feats: np.ndarray) -> None:
        p = self._path(extractor_key, video_sha256, role)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".tmp-", suffix=".npy")
        with os.fdopen(fd, "wb") as f:
            np.save(f, np.asarray(feats, dtype=np.float32), allow_pickle=False)
        os.replace(tmp, p)
        self.extracted += 1

    def stats(self) -> dict[str, int]:
        return {"features_cached": self.hits, "features_extracted": self.extracted}
