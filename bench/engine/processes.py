"""The process executor (``--executor processes``): units run in ``workers`` worker processes of this machine.

Each worker builds its :class:`~vgbench.bench.engine.units.UnitRunner` once from the driver's
:class:`~vgbench.bench.engine.units.RunnerSpec` (so it loads the weights once) and runs whole units (decode, score,
extract); only the unit (a few fields) goes to the worker and only its result (scores, feature rows) comes back, never
frames. Unlike the threads of the ``local`` executor, the workers do not share Python's GIL, so CPU-bound metric
mixes on small frames scale with the cores. A worker that dies (killed, out of memory) breaks the pool: a new pool
is started and the units that were in flight are run again (``max_retries`` times). Results come back in unit order.
"""
from __future__ import annotations

import multiprocessing
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Iterator

from vgbench.bench.engine.units import RunnerSpec, UnitResult, UnitRunner, WorkUnit, mark_worker
from vgbench.bench.errors import ConfigError

_runner: UnitRunner | None = None


def _init(spec: RunnerSpec, parent: int) -> None:
    global _runner
    _exit_with_parent(parent)
    _runner = UnitRunner.from_spec(spec)


def _exit_with_parent(parent: int) -> None:
    """A worker whose driver is gone (kill -9, a Slurm job killed) exits within a second instead of living on."""
    import os
    import threading
    import time

    def watch():
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(1.0)

    threading.Thread(target=watch, daemon=True, name="vgbench-parent-watch").start()


def _run(unit: WorkUnit) -> UnitResult:
    import os

    return mark_worker(_runner.run(unit), f"pid {os.getpid()}")


class ProcessExecutor:
    """Run units in ``workers`` processes (default: the machine's cores), at most ``prefetch`` units in flight
    (default ``2·workers``)."""

    name = "processes"

    def __init__(self, workers: int | None = None, prefetch: int | None = None, max_retries: int = 2):
        import os

        self.workers = workers or os.cpu_count() or 1
        self.prefetch = max(self.workers, prefetch or 2 * self.workers)
        self.max_retries = max_retries
        self.retried = 0

    def describe(self) -> dict:
        return {"executor": self.name, "workers": self.workers, "prefetch": self.prefetch}

    def _pool(self, spec: RunnerSpec) -> ProcessPoolExecutor:
        import os

        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init, initargs=(spec, os.getpid()))

    def run(self, units: list[WorkUnit], runner: UnitRunner, spec: RunnerSpec | None = None
            ) -> Iterator[tuple[WorkUnit, UnitResult]]:
        """Yield ``(unit, result)`` for every unit, in order."""
        if not units:
            return
        if spec is None:
            raise ConfigError("the process executor needs the runner's spec (metric specs and weights)")
        self.workers = min(self.workers, len(units))  # no more processes than units
        self.prefetch = max(self.workers, min(self.prefetch, 2 * self.workers))
        pool = self._pool(spec)
        pending: deque = deque()
        attempts: dict[int, int] = {}
        nxt = 0
        try:
            while nxt < len(units) or pending:
                while nxt < len(units) and len(pending) < self.prefetch:
                    pending.append((units[nxt], pool.submit(_run, units[nxt])))
                    nxt += 1
                unit, fut = pending.popleft()
                try:
                    result = fut.result()
                except BrokenProcessPool as e:  # a worker died: run everything in flight again on a new pool
                    attempts[unit.index] = attempts.get(unit.index, 0) + 1
                    if attempts[unit.index] > self.max_retries:
                        raise ConfigError(f"{unit.path}: a worker process died {attempts[unit.index]} times while "
                                          "running it (out of memory?)") from e
                    self.retried += 1 + len(pending)
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = self._pool(spec)
                    again = [unit, *(u for u, _ in pending)]
                    pending = deque((u, pool.submit(_run, u)) for u in again)
                    continue
                yield unit, result
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
