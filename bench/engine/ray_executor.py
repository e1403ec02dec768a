"""The Ray executor (``--executor ray``, extra ``vgbench[ray]``): units run in Ray actors.

Each actor builds its :class:`~vgbench.bench.engine.units.UnitRunner` from the driver's
:class:`~vgbench.bench.engine.units.RunnerSpec`, so it loads the weights once, then decodes, scores and extracts the
units it is sent (one GPU per actor when the cluster has GPUs, else one CPU). Units stream to the actors (at most
``per_worker`` in flight each); results stream back to the driver, which writes them to its store as they arrive, in
unit order. A unit whose actor dies (killed, out of memory, node lost) is sent to another actor, and a new actor
replaces the dead one; a killed driver resumes from its store without redoing stored units.

The cluster: ``address`` (default: the ``RAY_ADDRESS`` environment variable, else a local Ray started in this
process). The actors import vgbench, so the cluster's nodes need it installed (the same version as the driver).
"""
from __future__ import annotations

import os
import socket
from typing import Iterator

from vgbench.bench.engine.units import RunnerSpec, UnitResult, UnitRunner, WorkUnit
from vgbench.bench.errors import ConfigError


class _Worker:
    """The actor: one loaded runner."""

    def __init__(self, spec: RunnerSpec):
        self.runner = UnitRunner.from_spec(spec)
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def pid(self) -> int:
        return os.getpid()

    def run(self, unit: WorkUnit) -> UnitResult:
        result = self.runner.run(unit)
        result.worker = self.name
        return result


def _ray():
    try:
        import ray
    except ImportError as e:
        raise ConfigError("--executor ray needs Ray: pip install 'vgbench[ray]' (or pip install ray)") from e
    return ray


class RayExecutor:
    """Run units on ``workers`` Ray actors (default: one per GPU, else one per CPU of the cluster)."""

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None, per_worker: int = 2,
                 max_retries: int = 3):
        self.workers, self.address, self.per_worker, self.max_retries = workers, address, per_worker, max_retries
        self.actors: list = []
        self.retried = 0
        self.started_ray = False

    def describe(self) -> dict:
        return {"executor": self.name, "workers": len(self.actors) or self.workers,
                "address": self.address or os.environ.get("RAY_ADDRESS") or "local"}

    def _connect(self):
        ray = _ray()
        if not ray.is_initialized():
            address = self.address or os.environ.get("RAY_ADDRESS") or None
            kw = {} if address else {"num_cpus": self.workers or os.cpu_count() or 1, "include_dashboard": False}
            ray.init(address=address, log_to_driver=False, configure_logging=False, **kw)
            self.started_ray = True
        return ray

    def _new_actor(self, ray, spec: RunnerSpec, gpus: float):
        cls = ray.remote(num_cpus=0 if gpus else 1, num_gpus=gpus)(_Worker)
        return cls.remote(spec)

    def run(self, units: list[WorkUnit], runner: UnitRunner, spec: RunnerSpec | None = None
            ) -> Iterator[tuple[WorkUnit, UnitResult]]:
        """Yield ``(unit, result)`` for every unit, in order (see the module docstring)."""
        if not units:
            return
        if spec is None:
            raise ConfigError("the ray executor needs the runner's spec (metric specs and weights)")
        ray = self._connect()
        from ray.exceptions import RayActorError, WorkerCrashedError

        try:
            from ray.exceptions import ActorDiedError, ActorUnavailableError
            lost = (RayActorError, WorkerCrashedError, ActorDiedError, ActorUnavailableError)
        except ImportError:  # older Ray
            lost = (RayActorError, WorkerCrashedError)
        resources = ray.cluster_resources()
        gpus = 1.0 if resources.get("GPU", 0) >= 1 else 0.0
        n = self.workers or int(resources.get("GPU", 0) or resources.get("CPU", 1))
        n = max(1, min(n, len(units)))
        self.actors = [self._new_actor(ray, spec, gpus) for _ in range(n)]
        load = {i: 0 for i in range(n)}
        in_flight: dict = {}  # ref → (unit, actor slot)
        attempts: dict[int, int] = {}
        queue = list(reversed(units))  # pop() takes the next unit
        done: dict[int, tuple[WorkUnit, UnitResult]] = {}
        order = [u.index for u in units]
        nxt = 0

        def submit(unit: WorkUnit) -> None:
            slot = min(load, key=load.get)
            load[slot] += 1
            actor = self.actors[slot]
            in_flight[actor.run.remote(unit)] = (unit, slot, actor)

        try:
            while nxt < len(order):
                window = n * self.per_worker
                while queue and len(in_flight) < window and len(done) < 2 * window:
                    submit(queue.pop())
                if order[nxt] in done:
                    yield done.pop(order[nxt])
                    nxt += 1
                    continue
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in ready:
                    unit, slot, actor = in_flight.pop(ref)
                    load[slot] -= 1
                    try:
                        done[unit.index] = (unit, ray.get(ref))
                    except lost as e:
                        attempts[unit.index] = attempts.get(unit.index, 0) + 1
                        if attempts[unit.index] > self.max_retries:
                            raise ConfigError(f"{unit.path}: its Ray worker died {attempts[unit.index]} times "
                                              f"(last: {type(e).__name__}); see the Ray logs") from e
                        self.retried += 1
                        if self.actors[slot] is actor:  # replace the dead actor (once)
                            self.actors[slot] = self._new_actor(ray, spec, gpus)
                        queue.append(unit)
        finally:
            for a in self.actors:
                try:
                    ray.kill(a)
                except Exception:  # noqa: BLE001 - already gone
                    pass
