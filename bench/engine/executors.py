"""Executors by name: ``local`` (threads in this process: GPU work, where one loaded model serves every video),
``processes`` (worker processes of this machine: CPU-bound metrics, no shared GIL) and ``ray`` (Ray actors); third-party executors register
through the ``vgbench.executors`` entry-point group. An executor is a class ``(workers, **options)`` with
``run(units, runner, spec) -> Iterator[(unit, result)]`` in unit order, ``describe()`` and a ``retried`` count."""
from __future__ import annotations

from typing import Any

from vgbench.bench.registry import Registry

EXECUTORS: Registry[Any] = Registry("executor", group="vgbench.executors", listing="vgbench evaluate --help")
EXECUTORS.add("local", "vgbench.bench.engine.local:LocalExecutor")
EXECUTORS.add("processes", "vgbench.bench.engine.processes:ProcessExecutor")
EXECUTORS.add("ray", "vgbench.bench.engine.ray_executor:RayExecutor")


def create_executor(name: str = "local", workers: int | None = None, **options: Any):
    """The executor ``name`` with ``workers`` (None: the executor's default: 1 local thread; one Ray actor per GPU,
    else per CPU). Raises ConfigError for an unknown name (listing the known ones)."""
    cls = EXECUTORS.get(name)
    if workers is None:
        return cls(**options)
    return cls(workers=workers, **options)
