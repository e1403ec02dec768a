"""The local executor: the engine's stages on threads of this process.

``workers == 1``: one decode thread prefetches the next videos (at most ``prefetch`` decoded videos wait) while the
calling thread scores; decoding (PyAV, torchcodec) and the metrics' math (NumPy, OpenCV, torch) release the GIL, so
the two overlap. ``workers > 1``: ``workers`` threads each run whole units (decode, score, extract) with at most
``prefetch`` units in flight. torch keeps its intra-op thread count: a backbone's features depend (in the last
bits) on how many threads split its convolutions, so changing it per worker count would change the numbers.
Results come back in unit order in both cases, so everything downstream is deterministic.
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Iterator

from vgbench.bench.engine.units import RunnerSpec, UnitResult, UnitRunner, WorkUnit


def _nbytes(decoded) -> int:
    """Bytes of decoded frames held by a decode result (a unit's ``(video, reference)`` or a group's list)."""
    if isinstance(decoded, list):
        return sum(_nbytes(d) for d in decoded)
    if isinstance(decoded, tuple):
        return sum(_nbytes(d) for d in decoded)
    frames = getattr(decoded, "frames", None)
    return int(getattr(frames, "nbytes", 0) or 0)


def _ordered(pool: ThreadPoolExecutor, fn, units: Iterable[WorkUnit], window: int,
             budget_bytes: float | None = None) -> Iterator[tuple]:
    """``(unit, fn(unit))`` in unit order with at most ``window`` calls submitted and not yet yielded. With
    ``budget_bytes``, a call is submitted only while the results waiting (finished ones by their size, running ones
    by the largest size seen so far) leave room for one more of that size; one call is always allowed."""
    it = iter(units)
    pending: deque = deque()
    exhausted = False
    largest: list[int] = []  # the largest result size seen (none yet: one call at a time until one is known)

    def projected() -> float:
        total = 0
        for _, f in pending:
            if f.done() and not f.exception():
                size = _nbytes(f.result())
                largest[:] = [max(largest[0], size)] if largest else [size]
                total += size
            else:
                total += largest[0] if largest else float("inf")
        return total + (largest[0] if largest else 0)

    def fill() -> None:
        nonlocal exhausted
        while not exhausted and len(pending) < window and (budget_bytes is None or not pending
                                                           or projected() <= budget_bytes):
            u = next(it, None)
            if u is None:
                exhausted = True
                return
            pending.append((u, pool.submit(fn, u)))

    fill()
    while pending:
        u, fut = pending.popleft()
        result = fut.result()
        if budget_bytes is not None:
            size = _nbytes(result)
            largest[:] = [max(largest[0], size)] if largest else [size]
        fill()
        yield u, result


class LocalExecutor:
    """Run units on ``workers`` threads with at most ``prefetch`` decoded videos in flight (default ``2·workers``);
    with one worker, the decode thread also pauses while decoded frames waiting to be scored exceed ``decoded_mb``
    (``VGBENCH_DECODED_MB``, default 2048): long or large videos do not pile up in memory. The budget counts units
    or groups (``--batch``): one group of N videos is always allowed, so with batch N at least 2·N decoded videos can
    be alive (the group being scored and the next)."""

    name = "local"

    def __init__(self, workers: int = 1, prefetch: int | None = None, decoded_mb: float | None = None):
        from vgbench.bench import settings

        if workers < 1:
            raise ValueError(f"workers must be >= 1, not {workers}")
        self.workers = workers
        self.prefetch = max(1, prefetch or 2 * workers)
        self.decoded_mb = decoded_mb or settings.decoded_budget_mb()
        self.retried = 0

    def describe(self) -> dict:
        return {"executor": self.name, "workers": self.workers, "prefetch": self.prefetch}

    def run(self, units: list[WorkUnit], runner: UnitRunner, spec: RunnerSpec | None = None
            ) -> Iterator[tuple[WorkUnit, UnitResult]]:
        """Yield ``(unit, result)`` for every unit, in order."""
        from vgbench.bench import features

        if not units:
            return
        if self.workers == 1:
            with ThreadPoolExecutor(1, thread_name_prefix="vgbench-decode") as pool:
                try:
                    for u, decoded in _ordered(pool, runner.decode, units, self.prefetch,
                                               self.decoded_mb * 2**20):
                        try:
                            yield u, runner.score(u, decoded)
                        finally:
                            del decoded
                            features.release()
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
            return
        with ThreadPoolExecutor(min(self.workers, len(units)), thread_name_prefix="vgbench-unit") as pool:
            try:
                yield from _ordered(pool, runner.run, units, max(self.prefetch, self.workers))
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
