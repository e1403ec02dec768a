"""The Ray executor (``--executor ray``, extra ``vgbench[ray]``): units run in Ray actors; so does generation (`vgbench run --executor ray`).

Each actor builds its :class:`~vgbench.bench.engine.units.UnitRunner` from the driver's
:class:`~vgbench.bench.engine.units.RunnerSpec`, so it loads the weights once, then decodes, scores and extracts the
units it is sent (one GPU per actor when the cluster has GPUs, else one CPU). Units stream to the actors (at most
``per_worker`` in flight each); results stream back to the driver, which writes them to its store as they arrive, in
unit order. A unit whose actor dies (killed, out of memory, node lost) is sent to another actor, and a new actor
replaces the dead one; a killed driver resumes from its store without redoing stored units. Generation works the same
way with generator actors (one per GPU, or per ``gpus_per_worker`` GPUs for models that need several) that load the
model once and write the videos into the run folder (on a file system the nodes share); the driver writes the
sidecars and the store, so a resumed run skips every finished item.

The cluster: ``address`` (default: the ``RAY_ADDRESS`` environment variable, else a local Ray started in this
process). The actors import vgbench, so the cluster's nodes need it installed (the same version as the driver).
"""
from __future__ import annotations

import os
import socket
from typing import Iterator

from vgbench.bench.engine.units import RunnerSpec, UnitResult, UnitRunner, WorkUnit, mark_worker
from vgbench.bench.errors import ConfigError


class _Worker:
    """The actor: one loaded runner."""

    def __init__(self, spec: RunnerSpec):
        self.runner = UnitRunner.from_spec(spec)
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def pid(self) -> int:
        return os.getpid()

    def run(self, unit: WorkUnit) -> UnitResult:
        return mark_worker(self.runner.run(unit), self.name)


class _GeneratorWorker:
    """The generation actor: one planned run with its generator loaded."""

    def __init__(self, config_dict: dict):
        from vgbench.bench.config import RunConfig
        from vgbench.bench.runs import plan_run

        self.plan = plan_run(RunConfig.from_dict(config_dict, "ray driver"))
        self.items = {it.item_id: it for it in self.plan.items}

    def pid(self) -> int:
        return os.getpid()

    def produce(self, item_id: str) -> dict:
        from vgbench.bench.errors import VgbenchError
        from vgbench.bench.runs import produce_item

        try:
            return produce_item(self.plan, self.items[item_id])
        except (VgbenchError, ValueError, RuntimeError, OSError) as e:
            return {"item_id": item_id, "status": "error", "error": f"{type(e).__name__}: {e}"}


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
                 max_retries: int = 3, gpus_per_worker: float | None = None):
        self.workers, self.address, self.per_worker, self.max_retries = workers, address, per_worker, max_retries
        self.gpus_per_worker = gpus_per_worker
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

    def run(self, units: list[WorkUnit], runner: UnitRunner, spec: RunnerSpec | None = None
            ) -> Iterator[tuple[WorkUnit, UnitResult]]:
        """Yield ``(unit, result)`` for every unit, in order (see the module docstring)."""
        if not units:
            return
        if spec is None:
            raise ConfigError("the ray executor needs the runner's spec (metric specs and weights)")
        yield from self._stream(units, lambda ray, gpus: self._actor(ray, _Worker, gpus, spec),
                                lambda actor, unit: actor.run.remote(unit), lambda unit: unit.path)

    def generate(self, config_dict: dict, item_ids: list[str]) -> Iterator[tuple[str, dict]]:
        """Generate the items ``item_ids`` of the run ``config_dict`` (a :class:`~vgbench.bench.config.RunConfig`
        as a dict) on generator actors (each loads the model once; ``gpus_per_worker`` GPUs each when the cluster
        has GPUs); yield ``(item_id, sidecar)`` in order, a failed item's sidecar carrying its ``error``. The videos
        are written by the actors into the run folder, which must be on a file system the workers share."""
        if not item_ids:
            return
        yield from self._stream(item_ids, lambda ray, gpus: self._actor(ray, _GeneratorWorker, gpus, config_dict),
                                lambda actor, item_id: actor.produce.remote(item_id), lambda item_id: item_id)

    def _actor(self, ray, cls, gpus: float, arg):
        return ray.remote(num_cpus=0 if gpus else 1, num_gpus=gpus)(cls).remote(arg)

    def _stream(self, tasks: list, new_actor, call, name) -> Iterator[tuple]:
        """Send ``tasks`` to actors (``call(actor, task)``), at most ``per_worker`` in flight each; yield
        ``(task, result)`` in task order; a task whose actor died goes to a new actor (``max_retries`` times)."""
        ray = self._connect()
        from ray.exceptions import RayActorError, WorkerCrashedError

        try:
            from ray.exceptions import ActorDiedError, ActorUnavailableError
            lost: tuple = (RayActorError, WorkerCrashedError, ActorDiedError, ActorUnavailableError)
        except ImportError:  # older Ray
            lost = (RayActorError, WorkerCrashedError)
        resources = ray.cluster_resources()
        gpus = float(self.gpus_per_worker or 1) if resources.get("GPU", 0) >= 1 else 0.0
        n = self.workers or int(resources.get("GPU", 0) // (gpus or 1) or resources.get("CPU", 1))
        n = max(1, min(n, len(tasks)))
        self.actors = [new_actor(ray, gpus) for _ in range(n)]
        load = {i: 0 for i in range(n)}
        in_flight: dict = {}  # ref → (position, actor slot, actor)
        attempts: dict[int, int] = {}
        queue = list(reversed(range(len(tasks))))  # pop() gives the next position
        done: dict[int, object] = {}
        nxt = 0

        def submit(pos: int) -> None:
            slot = min(load, key=load.get)
            load[slot] += 1
            actor = self.actors[slot]
            in_flight[call(actor, tasks[pos])] = (pos, slot, actor)

        try:
            while nxt < len(tasks):
                window = n * self.per_worker
                while queue and len(in_flight) < window and len(done) < 2 * window:
                    submit(queue.pop())
                if nxt in done:
                    yield tasks[nxt], done.pop(nxt)
                    nxt += 1
                    continue
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in ready:
                    pos, slot, actor = in_flight.pop(ref)
                    load[slot] -= 1
                    try:
                        done[pos] = ray.get(ref)
                    except lost as e:
                        attempts[pos] = attempts.get(pos, 0) + 1
                        if attempts[pos] > self.max_retries:
                            raise ConfigError(f"{name(tasks[pos])}: its Ray worker died {attempts[pos]} times "
                                              f"(last: {type(e).__name__}: {e}); see the Ray logs") from e
                        self.retried += 1
                        if self.actors[slot] is actor:  # replace the dead actor (once)
                            self.actors[slot] = new_actor(ray, gpus)
                        queue.append(pos)
        finally:
            for a in self.actors:
                try:
                    ray.kill(a)
                except Exception:  # noqa: BLE001 - already gone
                    pass
