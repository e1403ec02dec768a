"""The execution engine: an evaluation is a list of work units run through one pipeline.

A **work unit** (:class:`~vgbench.bench.engine.units.WorkUnit`) is one video (a generated item, or a reference video
of a distribution metric) with everything that must still be computed from it: the per-item, paired and dimension
metrics whose values are not cached, and the feature extractors whose features are not in the feature store. What
is cached never becomes work: planning (:mod:`vgbench.bench.engine.plan`) reads it from the store.

Every unit goes through the same stages, whatever its metrics' kinds:

    decode (parallel workers, bounded prefetch) → score and extract (per-item metrics, backbones) → one writer

An **executor** runs the stages: ``local`` (threads in this process; ``workers`` units in flight, at most
``prefetch`` decoded videos in memory, so memory is bounded by the queue, not by the number of videos),
``processes`` (worker processes that each load the weights once: CPU-bound metrics scale with the cores) or ``ray``
(decode and score in Ray actors that load the weights once; :mod:`vgbench.bench.engine.ray_executor`). Both hand
results back in unit order to one :class:`~vgbench.bench.engine.writer.StoreWriter` in the driver, which writes them
in batched transactions; the set-level values are then recomputed from the store, so the numbers do not depend on
the executor or the number of workers (tests/test_engine.py checks it bit for bit).
"""
from __future__ import annotations

from vgbench.bench.engine.units import UnitResult, UnitRunner, WorkUnit  # noqa: F401

__all__ = ["WorkUnit", "UnitResult", "UnitRunner"]
