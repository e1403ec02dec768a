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


def _ordered(pool: ThreadPoolExecutor, fn, units: Iterable[WorkUnit], window: int) -> Iterator[tuple]:
    """``(unit, fn(unit))`` in unit order with at most ``window`` calls submitted and not yet yielded."""
    it = iter(units)
    pending: deque = deque()
    for u in it:
        pending.append((u, pool.submit(fn, u)))
        if len(pending) >= window:
            break
    while pending:
        u, fut = pending.popleft()
        result = fut.result()
        nxt = next(it, None)
        if nxt is not None:
            pending.append((nxt, pool.submit(fn, nxt)))
        yield u, result


class LocalExecutor:
    """Run units on ``workers`` threads with at most ``prefetch`` decoded videos in flight (default ``2·workers``)."""

    name = "local"

    def __init__(self, workers: int = 1, prefetch: int | None = None):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, not {workers}")
        self.workers = workers
        self.prefetch = max(1, prefetch or 2 * workers)
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
                    for u, decoded in _ordered(pool, runner.decode, units, self.prefetch):
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
