"""The engine's one store writer: rows from every unit go to the results store in batched transactions."""
from __future__ import annotations

import time
from typing import Any

from vgbench.bench.store import ResultsStore


class StoreWriter:
    """Buffer item rows and write them in one transaction per ``batch`` units or every ``seconds`` seconds,
    whichever comes first (and on :meth:`flush`/exit). A killed process loses at most the unflushed units' values,
    which the next evaluation computes again; nothing written is ever redone."""

    def __init__(self, store: ResultsStore, batch: int = 16, seconds: float = 2.0):
        self.store, self.batch, self.seconds = store, max(1, batch), seconds
        self._rows: list[dict[str, Any]] = []
        self._units = 0
        self._last = time.monotonic()
        self.transactions = 0

    def add(self, rows: list[dict[str, Any]]) -> None:
        self._rows.extend(rows)
        self._units += 1
        if self._units >= self.batch or time.monotonic() - self._last >= self.seconds:
            self.flush()

    def flush(self) -> None:
        if self._rows:
            self.store.put_item_metrics(self._rows)
            self.transactions += 1
        self._rows, self._units, self._last = [], 0, time.monotonic()

    def __enter__(self) -> "StoreWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.flush()  # what was computed before an error or Ctrl-C is kept
