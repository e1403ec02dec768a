"""Progress of long work, wherever it runs: a tqdm bar on a terminal; periodic plain log lines when stderr is not a
terminal (CI, Slurm and Ray logs, ``2> file``), so a long evaluation never runs in silence::

    evaluating: 120/4730 videos (2.5 %), 1.31 videos/s, elapsed 1m32s, ETA 58m40s

Lines come every ``VGBENCH_PROGRESS_INTERVAL`` seconds (default 30; 0 prints every item) and once at the end.
``--no-progress`` (``enabled=False``) silences both.
"""
from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, TypeVar

from vgbench.bench import settings

T = TypeVar("T")


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


class LogProgress:
    """Plain progress lines on ``stream`` every ``interval`` seconds (and at the end) over ``iterable``."""

    def __init__(self, iterable: Iterable[T], total: int | None, desc: str, unit: str, interval: float,
                 stream=None):
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.interval = interval
        self.stream = stream or sys.stderr
        self.n = 0

    def line(self, start: float) -> str:
        elapsed = time.monotonic() - start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        of = f"/{self.total}" if self.total else ""
        pct = f" ({100.0 * self.n / self.total:.1f} %)" if self.total else ""
        eta = (f", ETA {_duration((self.total - self.n) / rate)}" if self.total and rate > 0 and self.n < self.total
               else "")
        return (f"{self.desc}: {self.n}{of} {self.unit}s{pct}, {rate:.3g} {self.unit}s/s, elapsed "
                f"{_duration(elapsed)}{eta}")

    def __iter__(self) -> Iterator[T]:
        start = last = time.monotonic()
        printed = 0
        try:
            for x in self.iterable:
                yield x
                self.n += 1
                now = time.monotonic()
                if now - last >= self.interval:
                    print(self.line(start), file=self.stream, flush=True)
                    last, printed = now, self.n
        finally:
            if self.n and printed != self.n:
                print(self.line(start), file=self.stream, flush=True)


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str, unit: str = "video",
             enabled: bool = True) -> Iterable[T]:
    """Wrap ``iterable`` with the right progress display (see the module docstring)."""
    if not enabled:
        return iterable
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False)
    return LogProgress(iterable, total, desc, unit, settings.progress_interval())
