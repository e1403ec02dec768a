"""Runs: planning (model × suite × samples × settings → items) and resumable execution.

Every item (one video) has an id derived from what defines its content: the model id and adapter settings, the
prompt text and conditioning image, the seed, frames, fps, size and encoding preset. Outputs are written
atomically under that id (``videos/<item_id>.mp4`` then ``videos/<item_id>.json``), so

* a killed run, started again, skips every item whose video and sidecar are complete and redoes nothing else;
* file names never depend on prompt text (VBench's prompt-as-filename breaks past 255 bytes);
* changing one setting regenerates exactly the items it affects.

The run folder ``<out>/<model>__<suite>__<run_id>/`` holds ``run.json`` (configuration, plan, provenance) and
``videos/``; the results database ``<out>/vgbench.sqlite`` holds the run and its items.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from vgbench.bench import provenance
from vgbench.bench.config import RunConfig  # noqa: F401  (re-exported: the run's typed configuration)
from vgbench.bench.errors import ConfigError, GenerationError, VgbenchError
from vgbench.bench.store import ResultsStore
from vgbench.bench.video import read_video, write_video
from vgbench.reference_models.base import (BindsRun, Capabilities, CopiesFiles, DescribesItems, GenerationRequest,
                                              Generator)

ITEM_ID_SCHEMA = 1
DB_NAME = "vgbench.sqlite"


@dataclass(frozen=True)
class PlannedItem:
    item_id: str
    request: GenerationRequest

    @property
    def key(self) -> str:
        return self.item_id


@dataclass
class RunPlan:
    run_id: str
    run_dir: Path
    config: RunConfig
    generator: Any
    suite: Any
    settings: dict[str, Any]
    items: list[PlannedItem]

    @property
    def db_path(self) -> Path:
        shard = self.config.shard_index()
        if shard:  # shards never share one SQLite file (they may run on different machines)
            return Path(self.config.out) / f"vgbench.shard-{shard[0]}-of-{shard[1]}.sqlite"
        return Path(self.config.out) / DB_NAME

    def video_path(self, item: PlannedItem) -> Path:
        return self.run_dir / "videos" / f"{item.item_id}.mp4"

    def sidecar_path(self, item: PlannedItem) -> Path:
        return self.run_dir / "videos" / f"{item.item_id}.json"


@dataclass
class RunReport:
    run_id: str
    run_dir: str
    generated: int = 0
    skipped: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.generated + self.skipped + len(self.failed)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:48] or "model"


def item_id_for(model_id: str, settings: dict, request: GenerationRequest, quality: str) -> str:
    image_sha = provenance.file_sha256(request.image) if request.image else None
    return provenance.stable_hash({
        "schema": ITEM_ID_SCHEMA, "model": model_id, "settings": settings, "prompt": request.prompt,
        "image_sha256": image_sha, "seed": request.seed, "frames": request.num_frames, "fps": request.fps,
        "size": [request.width, request.height], "encoding": quality}, length=20)


def plan_run(config: RunConfig) -> RunPlan:
    """Resolve the generator and suite and list every item of the run (nothing is generated)."""
    from vgbench.prompts import load_suite
    from vgbench.reference_models.registry import create_generator

    generator = create_generator(config.model, **config.model_args)
    if not isinstance(generator, Generator) or not isinstance(generator.capabilities, Capabilities):
        lacks = [a for a in ("model_id", "capabilities", "settings", "generate") if not hasattr(generator, a)]
        raise ConfigError(f"model {config.model!r} is not a generator: it lacks {', '.join(lacks) or 'a Capabilities'} "
                          "(see vgbench.reference_models.base.Generator)")
    suite = load_suite(config.suite)
    caps = generator.capabilities
    frames = config.frames or caps.default_frames
    fps = float(config.fps or caps.default_fps)
    width = config.width or caps.default_width
    height = config.height or caps.default_height
    try:
        caps.check_frames(frames)
    except ValueError as e:
        raise ConfigError(f"model {generator.model_id}: {e}") from None
    gen_settings = generator.settings()
    items: list[PlannedItem] = []
    made_by: dict[str, Any] = {}  # item id → the prompt whose video it is
    for prompt in suite.prompts:
        if prompt.image and not Path(prompt.image).is_file():
            raise ConfigError(f"prompt {prompt.id!r}: its conditioning image {prompt.image} does not exist (paths in a "
                              "suite are relative to the suite file)")
        if prompt.image and "i2v" not in caps.tasks:
            raise ConfigError(f"prompt {prompt.id!r} has a conditioning image but {generator.model_id} does no i2v")
        for i in range(suite.samples_for(prompt, config.samples)):
            req = GenerationRequest(prompt.id, prompt.text, config.seed + i, frames, fps, width, height, prompt.image,
                                    i, prompt.aux)
            item_id = item_id_for(generator.model_id, gen_settings, req, config.quality)
            first = made_by.setdefault(item_id, prompt)
            if first is not prompt and (first.aux != prompt.aux or tuple(first.dimensions) != tuple(prompt.dimensions)):
                raise ConfigError(
                    f"prompts {first.id!r} and {prompt.id!r} have the same text, image and seed, so they would share "
                    "one video, but they ask for different dimensions or aux info (e.g. two camera labels); one of "
                    "the two scores would be lost. Make their texts differ (VBench-I2V's camera prompts name the "
                    "motion, '..., camera pans left') or merge them")
            items.append(PlannedItem(item_id, req))
    settings = {"model_id": generator.model_id, "adapter_settings": gen_settings, "frames": frames, "fps": fps,
                "width": width, "height": height, "encoding": config.quality, "seed": config.seed,
                "samples": config.samples, "suite": suite.name, "suite_version": suite.version,
                "suite_sha256": suite.sha256}
    run_id = provenance.stable_hash(settings, length=12)
    run_dir = Path(config.out) / f"{_slug(generator.model_id)}__{_slug(suite.name)}__{run_id}"
    return RunPlan(run_id, run_dir, config, generator, suite, settings, items)


def _atomic_write_text(path: Path, text: str) -> None:
    from vgbench.bench.fileio import atomic_write_text

    atomic_write_text(path, text)


def read_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def item_is_done(plan: RunPlan, item: PlannedItem) -> dict[str, Any] | None:
    """The sidecar of a finished item (video present, recorded size matches), or None."""
    side = read_sidecar(plan.sidecar_path(item))
    video = plan.video_path(item)
    if not side or side.get("status") != "ok" or not video.exists():
        return None
    if side.get("bytes") is not None and video.stat().st_size != side["bytes"]:
        return None
    return side


def _item_row(item: PlannedItem, side: dict[str, Any]) -> dict[str, Any]:
    r = item.request
    return {"item_key": item.item_id, "item_id": item.item_id, "prompt_id": r.prompt_id, "prompt": r.prompt,
            "sample_index": r.sample_index, "seed": r.seed, "video_path": side.get("file"),
            "video_sha256": side.get("sha256"), "status": side.get("status"), "error": side.get("error"),
            "num_frames": side.get("num_frames"), "fps": side.get("fps"), "width": side.get("width"),
            "height": side.get("height"), "gen_seconds": side.get("gen_seconds")}


def write_run_manifest(plan: RunPlan, status: str, report: RunReport | None = None) -> None:
    dims = {p.id: list(p.dimensions) for p in plan.suite.prompts if p.dimensions}
    # the conditioning images travel to the evaluation (image-to-video dimensions), with their hash at generation
    image_sha = {img: provenance.file_sha256(img) for img in {it.request.image for it in plan.items if it.request.image}}
    doc = {
        "vgbench_run": 1, "run_id": plan.run_id, "status": status, "config": asdict(plan.config),
        "settings": plan.settings, "suite": {"name": plan.suite.name, "version": plan.suite.version,
                                             "sha256": plan.suite.sha256, "source": plan.suite.source},
        "provenance": provenance.collect(),
        "items": [{"item_id": it.item_id, "prompt_id": it.request.prompt_id, "prompt": it.request.prompt,
                   "sample_index": it.request.sample_index, "seed": it.request.seed,
                   "file": f"videos/{it.item_id}.mp4", **({"aux": it.request.aux} if it.request.aux else {}),
                   **({"image": str(Path(it.request.image).resolve()), "image_sha256": image_sha[it.request.image]}
                      if it.request.image else {}),
                   **({"dimensions": dims[it.request.prompt_id]} if it.request.prompt_id in dims else {})}
                  for it in plan.items],
    }
    if report is not None:
        doc["last_execution"] = {"generated": report.generated, "skipped": report.skipped,
                                 "failed": len(report.failed), "seconds": round(report.seconds, 3)}
    _atomic_write_text(plan.run_dir / "run.json", json.dumps(doc, indent=1, ensure_ascii=False))


def produce_item(plan: RunPlan, item: PlannedItem) -> dict[str, Any]:
    """Generate (or copy) one item's video atomically; returns its sidecar. Raises on failure."""
    req = item.request
    dest = plan.video_path(item)
    t0 = time.perf_counter()
    source_file = plan.generator.source_file if isinstance(plan.generator, CopiesFiles) else None
    if source_file is not None:
        src = Path(source_file(req))
        video = read_video(src)  # full decode: corrupt or truncated files fail here
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=".tmp", dir=dest.parent)
        os.close(fd)
        shutil.copyfile(src, tmp)
        from vgbench.bench.fileio import FILE_MODE

        os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600
        os.replace(tmp, dest)
        origin = str(src)
    else:
        video = plan.generator.generate(req)
        origin = None
    if (video.height, video.width) != (req.height, req.width) or video.num_frames != req.num_frames:
        if dest.exists() and source_file is not None:
            dest.unlink()
        raise GenerationError(f"expected {req.num_frames} frames of {req.width}x{req.height}, got "
                              f"{video.num_frames} frames of {video.width}x{video.height}")
    if abs(video.fps - req.fps) > 0.01:
        if source_file is not None:
            dest.unlink(missing_ok=True)
        raise GenerationError(f"expected {req.fps} fps, got {video.fps}")
    if source_file is None:
        write_video(dest, video.frames, req.fps, plan.config.quality)
    seconds = time.perf_counter() - t0
    side = {"item_id": item.item_id, "status": "ok", "error": None, "file": str(dest.resolve()),
            "bytes": dest.stat().st_size, "sha256": provenance.file_sha256(dest), "prompt_id": req.prompt_id,
            "prompt": req.prompt, "sample_index": req.sample_index, "seed": req.seed, "num_frames": video.num_frames,
            "fps": req.fps, "width": video.width, "height": video.height, "gen_seconds": round(seconds, 4),
            "source_file": origin}
    if isinstance(plan.generator, DescribesItems):
        side["generator_attributes"] = plan.generator.attributes(req)
    return side


def execute_run(plan: RunPlan, store: ResultsStore | None = None, progress: bool = True,
                on_item: Callable[[PlannedItem, dict], None] | None = None, executor: Any = None) -> RunReport:
    """Generate every item of ``plan`` that is not finished yet; record them in the store as they complete.

    A failing item (generator error, corrupt source file, wrong frame count) is recorded as failed with its error
    and the run goes on; running again retries failed items only. ``executor``: an executor with ``generate``
    (the Ray executor: generator actors), default ``plan.config.executor`` (``local``: this process).
    """
    from vgbench.bench.config import shard_of
    from vgbench.bench.fileio import folder_lock

    t0 = time.perf_counter()
    report = RunReport(plan.run_id, str(plan.run_dir))
    plan.run_dir.mkdir(parents=True, exist_ok=True)
    shard = plan.config.shard_index()
    mine = [it for it in plan.items if shard is None or shard_of(it.item_id, shard[1]) == shard[0] - 1]
    lock_name = ".vgbench.lock" if shard is None else f".vgbench.shard-{shard[0]}-of-{shard[1]}.lock"
    with folder_lock(plan.run_dir.parent, lock_name):  # a second `run` on this folder stops with a message
        own = {it.item_id for it in mine}
        for stale in (plan.run_dir / "videos").glob(".*.tmp*") if (plan.run_dir / "videos").exists() else ():
            if stale.name[1:].split(".")[0] in own:  # partial writes of a killed run (never another shard's)
                stale.unlink(missing_ok=True)
        return _execute_locked(plan, store, progress, on_item, executor, report, shard, mine, t0)


def _execute_locked(plan, store, progress, on_item, executor, report, shard, mine, t0) -> RunReport:
    """:func:`execute_run` once the output folder's lock is held."""
    from vgbench.bench.progress import progress as progress_of

    own_store = store is None
    store = store or ResultsStore(plan.db_path)
    try:
        store.upsert_run(plan.run_id, "generation", plan.settings["model_id"], plan.suite.name, plan.suite.sha256,
                         str(plan.run_dir.resolve()), asdict(plan.config) | {"settings": plan.settings},
                         provenance.collect())
        write_run_manifest(plan, "running")
        if isinstance(plan.generator, BindsRun):  # e.g. the HTTP adapter journals job ids (no double billing)
            plan.generator.bind_run(plan.run_dir)
        done_rows = []
        pending = []
        for item in mine:
            side = item_is_done(plan, item)
            if side:
                report.skipped += 1
                done_rows.append(_item_row(item, side))
            else:
                pending.append(item)
        store.upsert_items(plan.run_id, done_rows)
        if executor is None and plan.config.executor != "local":
            from vgbench.bench.engine.executors import create_executor

            executor = create_executor(plan.config.executor, plan.config.workers)
        if executor is not None and hasattr(executor, "generate"):
            by_id = {it.item_id: it for it in pending}
            produced = ((by_id[i], side) for i, side in
                        executor.generate(asdict(plan.config), [it.item_id for it in pending]))
        else:
            produced = ((item, None) for item in pending)
        bar = progress_of(produced, total=len(pending), desc=f"generating {plan.settings['model_id']}",
                          enabled=progress)
        for item, side in bar:
            if side is None:  # this process generates
                try:
                    side = produce_item(plan, item)
                except (VgbenchError, ValueError, RuntimeError, OSError) as e:
                    side = {"status": "error", "error": f"{type(e).__name__}: {e}"}
            if side.get("status") == "error":
                side = {"item_id": item.item_id, "status": "error", "error": side["error"],
                        "prompt_id": item.request.prompt_id, "sample_index": item.request.sample_index}
                report.failed.append({"item": item.item_id, "prompt_id": item.request.prompt_id,
                                      "sample_index": str(item.request.sample_index), "error": side["error"]})
            else:
                report.generated += 1
            _atomic_write_text(plan.sidecar_path(item), json.dumps(side, indent=1, ensure_ascii=False))
            store.upsert_items(plan.run_id, [_item_row(item, side)])
            if on_item:
                on_item(item, side)
        report.seconds = time.perf_counter() - t0
        if shard is not None:  # complete only when every shard's items are done, whichever shard ends last
            all_done = all((item_is_done(plan, it) or {}).get("status") == "ok" for it in plan.items)
            write_run_manifest(plan, "complete" if all_done else "incomplete", report)
        else:
            write_run_manifest(plan, "complete" if not report.failed else "incomplete", report)
    finally:
        if own_store:
            store.close()
    return report
