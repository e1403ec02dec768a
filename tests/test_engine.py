"""The execution engine (vgbench.bench.engine): one loop for every metric kind, whatever the executor.

The same evaluation (per-item, paired and distribution metrics, one undecodable video) run with 1 and 3 local
workers, and on a local Ray cluster with 2 workers, stores byte-identical per-item values and set values; a Ray
worker killed mid-run (SIGKILL) loses nothing: its units are retried on a new worker.
"""
from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from tests.test_shards import _folders, _values

METRICS = "psnr,ssim,temporal_flickering,fid/efficientnet-lite0"


def _evaluate(tmp_path, gen, ref, name, executor=None, **kw):
    from vgbench import EvalConfig, evaluate

    config = EvalConfig(videos=str(gen), metrics=METRICS, reference=str(ref), db=str(tmp_path / f"{name}.sqlite"),
                        feature_cache=str(tmp_path / f"fc-{name}"), progress=False, **kw)
    return evaluate(config, executor=executor), _values(tmp_path / f"{name}.sqlite")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The folders and one evaluation with the default executor (one thread), shared by the tests below."""
    root = tmp_path_factory.mktemp("engine")
    gen, ref = _folders(root)
    report, values = _evaluate(root, gen, ref, "one")
    return root, gen, ref, report, values


def test_work_units_cover_only_what_is_not_cached(baseline):
    from vgbench import EvalConfig
    from vgbench.bench.evaluate import _plan, _prepare

    root, gen, ref, report, _ = baseline
    assert report.scores_computed == 7 * 3 and report.items_decoded == 7 + 8  # generated + reference videos
    config = EvalConfig(videos=str(gen), metrics=METRICS, reference=str(ref), db=str(root / "one.sqlite"),
                        feature_cache=str(root / "fc-one"), progress=False)
    ev, _ = _prepare(config, None)
    try:
        units = _plan(ev, {})  # everything scored is cached; only the failed item is tried again
        assert [(u.key, len(u.scores), u.extract) for u in units] == [("v7.mp4", 3, ["efficientnet-frames"])]
    finally:
        ev.store.close()


def test_local_workers_give_identical_results(tmp_path, baseline):
    _, gen, ref, one, values_one = baseline
    three, values_three = _evaluate(tmp_path, gen, ref, "three", workers=3)
    assert three.executor == {"executor": "local", "workers": 3, "prefetch": 6, "batch": 1}
    assert values_three == values_one
    assert [f["item"] for f in three.failures] == [f["item"] for f in one.failures] == ["v7.mp4"]
    assert {k: r.value for k, r in three.results.items()} == {k: r.value for k, r in one.results.items()}


@pytest.mark.slow  # (the default run keeps the Ray tests; this one costs ~15-25 s)
def test_process_workers_give_identical_results_and_survive_a_killed_worker(tmp_path, baseline):
    """``--executor processes``: the same stored values as one thread; a worker process killed mid-run (SIGKILL)
    breaks the pool, and the units in flight run again on a new one."""
    from vgbench.bench.engine.processes import ProcessExecutor

    class KillOnce(ProcessExecutor):  # kills one worker process after the first result
        def run(self, units, runner, spec=None):
            killed = False
            for unit, result in super().run(units, runner, spec):
                if not killed:
                    killed = True
                    os.kill(int(result.worker.split()[-1]), signal.SIGKILL)
                yield unit, result

    _, gen, ref, _, values_one = baseline
    executor = KillOnce(workers=2)
    report, values_two = _evaluate(tmp_path, gen, ref, "two", executor=executor)
    assert values_two == values_one
    assert executor.retried >= 1 and report.executor["workers"] == 2


def test_memo_is_per_thread():
    from vgbench.bench import features

    a, b, seen = object(), object(), {}

    def work(video, name):
        seen[name] = features.memo(video, ("k",), lambda: name)
        time.sleep(0.05)
        seen[name + "2"] = features.memo(video, ("k",), lambda: "recomputed")

    threads = [threading.Thread(target=work, args=(v, n)) for v, n in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"a": "a", "a2": "a", "b": "b", "b2": "b"}  # neither thread evicted the other's video


ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster with 2 CPU workers, started inside the test session."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_ray_executor_equals_local_and_survives_a_killed_worker(tmp_path, ray_cluster, baseline):
    from vgbench.bench.engine.ray_executor import RayExecutor

    _, gen, ref, local, values_local = baseline
    executor = RayExecutor(workers=2)
    out: dict = {}
    t = threading.Thread(target=lambda: out.update(r=_evaluate(tmp_path, gen, ref, "ray", executor=executor)))
    t.start()
    deadline = time.monotonic() + 120
    while not executor.actors and time.monotonic() < deadline:
        time.sleep(0.05)
    assert executor.actors, "the Ray executor started no actor"
    pid = ray.get(executor.actors[0].pid.remote())
    os.kill(pid, signal.SIGKILL)  # a worker dies mid-run (as kill -9, or the OOM killer, would do)
    t.join(timeout=300)
    assert not t.is_alive()
    report, values_ray = out["r"]
    assert executor.retried >= 1 and report.executor["retried"] == executor.retried
    assert values_ray == values_local  # nothing lost, nothing different
    assert {k: r.value for k, r in report.results.items()} == {k: r.value for k, r in local.results.items()}


@pytest.mark.slow  # (the default run keeps the Ray tests; this one costs ~15-25 s)
def test_ray_from_the_command_line(tmp_path, ray_cluster, cli, baseline):
    import json

    _, gen, ref, _, values_local = baseline
    code, out, err = cli("evaluate", gen, "--metrics", METRICS, "--reference", ref, "--db", tmp_path / "ray.sqlite",
                         "--feature-cache", tmp_path / "fc-ray", "--executor", "ray", "--workers", "2", "--json",
                         "--no-progress")
    assert code == 4, err  # the broken video fails its item
    assert json.loads(out)["executor"]["executor"] == "ray"
    assert _values(tmp_path / "ray.sqlite") == values_local


def test_unknown_executor_is_named(tmp_path, cli):
    gen, ref = _folders(tmp_path)
    code, _, err = cli("evaluate", gen, "--metrics", "psnr", "--reference", ref, "--db", tmp_path / "x.sqlite",
                       "--executor", "dask", "--no-progress")
    assert code == 2 and "unknown executor 'dask'" in err and "local, processes, ray" in err


@pytest.mark.slow  # (the default run keeps the Ray tests; this one costs ~15-25 s)
def test_submit_local_shards_and_merge_equal_one_process(tmp_path, cli, baseline):
    pytest.importorskip("submitit")
    import json

    _, gen, ref, _, values_one = baseline
    merged = tmp_path / "merged.sqlite"
    code, out, err = cli("submit", "--local", "--shards", "2", "--logs", tmp_path / "jobs", "--json", "evaluate", gen,
                         "--metrics", METRICS, "--reference", ref, "--feature-cache", tmp_path / "fc-shared",
                         "--db", merged)
    assert code == 4, err  # the merge job's code: the broken video failed its item
    doc = json.loads(out)
    assert len(doc["shards"]) == 2 and doc["merge"]["db"] == str(merged)
    assert all((tmp_path / f"merged.shard-{i}-of-2.sqlite").is_file() for i in (1, 2))
    assert _values(merged) == values_one


@pytest.mark.slow  # ~8 s; the default run keeps the Ray evaluation with a killed worker
def test_ray_generation_equals_local(tmp_path, ray_cluster, cli):
    """`vgbench run --executor ray`: generator actors write the same videos and records as one process."""
    import json

    from vgbench.bench.store import ResultsStore

    runs = {}
    for name, extra in (("local", []), ("ray", ["--executor", "ray", "--workers", "2"])):
        code, out, err = cli("run", "--model", "shapes", "--suite", "shapes", "--samples", "2", "--frames", "8",
                             "--size", "64x64", "--out", tmp_path / name, "--json", "--no-progress", *extra)
        assert code == 0, err
        doc = json.loads(out)
        with ResultsStore(tmp_path / name / "vgbench.sqlite") as s:
            items = {r["item_id"]: r["video_sha256"] for r in s.query("SELECT * FROM items")}
        runs[name] = (doc["metrics"]["temporal_flickering"]["value"], items)
    assert runs["ray"] == runs["local"] and len(runs["local"][1]) >= 4


@pytest.mark.slow  # ~12 s: starts its own Ray in the killed subprocess
def test_killed_ray_driver_resumes_without_redoing_stored_units(tmp_path):
    """kill -9 of a `vgbench evaluate --executor ray` driver mid-run: what it stored stays, and the next evaluation
    computes exactly the rest."""
    import subprocess
    import sys

    from vgbench import EvalConfig, evaluate
    from vgbench.bench.store import ResultsStore
    from tests.conftest import write_clip

    gen = tmp_path / "gen"
    gen.mkdir()
    rng = np.random.default_rng(5)
    for i in range(40):
        write_clip(gen / f"v{i:02d}.mp4", rng.integers(0, 255, (6, 48, 48, 3), dtype=np.uint8))
    db = tmp_path / "db.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "vgbench", "evaluate", str(gen), "--metrics",
                             "temporal_flickering",
                             "--db", str(db), "--executor", "ray", "--workers", "1", "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)

    def stored() -> int:
        if not db.exists():
            return 0
        try:
            with ResultsStore(db) as s:
                return s.query("SELECT COUNT(*) AS n FROM item_metrics WHERE status='ok'")[0]["n"]
        except Exception:  # noqa: BLE001 - the database may be mid-creation
            return 0

    deadline = time.monotonic() + 120
    while stored() == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and everything it started
    proc.wait()
    before = stored()
    assert 0 < before < 40, proc.stderr.read().decode()[-2000:]
    report = evaluate(EvalConfig(videos=str(gen), metrics="temporal_flickering", db=str(db), progress=False))
    assert report.scores_cached == before and report.scores_computed == 40 - before
    assert report.results["temporal_flickering"].n_items == 40 and not report.failures


@pytest.mark.parametrize("name", ["i3d-styleganv", "i3d-tf", "efficientnet-frames"])
def test_extractors_run_on_the_configured_device(monkeypatch, name):
    """CUDA logic without a GPU: the backbone is placed on ``$VGBENCH_DEVICE`` (here the ``meta`` device) and a
    forward's input tensors follow the model there as uint8 (the copy to the device is of the 1-byte frames)."""
    from vgbench.metrics.backbones.registry import clear_cache
    from vgbench.metrics.distribution import extractors as ex

    monkeypatch.setenv("VGBENCH_DEVICE", "meta")
    clear_cache()
    try:
        e = ex.create_extractor(name)
        loaded = e.load(allow_random=True)
        assert e.device == "meta" and e.describe()["device"] == "meta"
        assert {p.device.type for p in loaded.model.parameters()} == {"meta"}
        x = ex._uint8_thwc(np.zeros((2, 8, 8, 3), np.uint8), loaded.model)
        assert x.device.type == "meta" and str(x.dtype) == "torch.uint8"
        assert ex._frames_tchw01(np.zeros((2, 8, 8, 3), np.uint8), loaded.model).device.type == "meta"
    finally:
        clear_cache()


def test_fvmd_flag_names_the_tracker():
    from vgbench.metrics.distribution.extractors import create_extractor

    (flag,) = create_extractor("fvmd-lk").flags
    assert "Lucas–Kanade" in flag and "(none)" not in flag


# ---- cross-video batches ---------------------------------------------------------------------------------------------
def _tiny_extractor():
    """A batchable extractor with a small seeded Conv3d network (the real ones are I3D/VideoMAE: same code path)."""
    import torch

    from vgbench.metrics.distribution.extractors import ClipSampling, FeatureExtractor, _clip_forward

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv3d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool3d(1),
                              torch.nn.Flatten()).eval()

    def prepare(model, frames):
        return torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2)[None].float() / 255.0

    def network(model, x):
        return model(x)

    e = FeatureExtractor("tiny", "tiny", ClipSampling(4, "first", "first", 4), {}, _clip_forward(prepare, network), 8,
                         prepare=prepare, network=network)
    e.loaded = type("Loaded", (), {"model": net, "flags": [], "weights_sha256": "tiny"})()
    return e


def _video(seed: int, n: int = 6, size: int = 12):
    from vgbench.bench.video import Video

    return Video.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8), 8.0)


def test_cross_video_batches_equal_one_by_one_and_fail_only_the_bad_clip():
    e = _tiny_extractor()
    clips = [(_video(0), "generated", ""), (_video(1, size=16), "generated", ""), (_video(2, n=2), "generated", ""),
             (_video(3), "generated", "")]
    batched = e.extract_many(clips)
    assert isinstance(batched[2], Exception) and "at least 4 frames" in str(batched[2])  # too short: only it fails
    for (video, role, sha), got in zip(clips, batched):
        if not isinstance(got, Exception):
            np.testing.assert_allclose(got, e.extract(video, role, sha), rtol=1e-5, atol=1e-7)
            assert got.shape == (1, 8) and got.dtype == np.float32


def test_groups_run_on_every_executor_and_give_member_results_in_order():
    """The engine's grouping: results per member, in plan order, equal for 1 and 3 local workers (the groups depend
    on the plan only)."""
    from vgbench.bench.engine import WorkUnit
    from vgbench.bench.engine.local import LocalExecutor
    from vgbench.bench.engine.units import UnitGroup, UnitRunner, group_units

    e = _tiny_extractor()
    runner = UnitRunner([], {"tiny": e})
    videos = {f"v{i}": _video(10 + i, n=6 if i != 3 else 2) for i in range(7)}
    runner.decode_one = lambda unit: (videos[unit.key], None)  # decoded in memory
    units = [WorkUnit(i, f"v{i}", "generated", f"v{i}.mp4", "", extract=["tiny"]) for i in range(7)]
    groups = group_units(units, 3)
    assert [len(g.members) for g in groups] == [3, 3, 1] and all(isinstance(g, UnitGroup) for g in groups)
    assert group_units(units, 1) == units
    outs = []
    for workers in (1, 3):
        got = [(u, r) for g, res in LocalExecutor(workers).run(groups, runner) for u, r in zip(g.members, res)]
        assert [u.key for u, _ in got] == [u.key for u in units]
        outs.append([r.features["tiny"] for _, r in got])
    for a, b in zip(*outs):
        assert (a == b) if isinstance(a, str) else np.array_equal(a, b)
    assert isinstance(outs[0][3], str) and "at least 4 frames" in outs[0][3]
    for u, f in zip(units, outs[0]):
        if not isinstance(f, str):
            np.testing.assert_allclose(f, e.extract(videos[u.key], "generated", ""), rtol=1e-5, atol=1e-7)


def test_batch_option_defaults_to_one_and_batched_features_are_cached_apart(tmp_path):
    from vgbench.bench.config import EvalConfig
    from vgbench.bench.errors import ConfigError
    from vgbench.metrics.distribution.extractors import create_extractor

    assert EvalConfig(videos=str(tmp_path), metrics=["psnr"]).batch_size() == 1
    e = create_extractor("i3d-videogpt")
    e.load(allow_random=True)
    one = e.cache_key()
    e.batch = 3
    assert e.cache_key() != one and e.describe()["batch"] == 3  # batch-3 features never answer a batch-1 run
    f = create_extractor("efficientnet-frames")
    f.load(allow_random=True)
    key = f.cache_key()
    f.batch = 3
    assert f.cache_key() == key  # not batchable: unchanged
    assert EvalConfig(videos=str(tmp_path), metrics=["psnr"], batch=4).batch_size() == 4
    with pytest.raises(ConfigError, match="batch must be at least 1"):
        EvalConfig(videos=str(tmp_path), metrics=["psnr"], batch=0)


def test_the_decode_thread_pauses_at_the_decoded_frames_budget():
    """Large decoded videos do not pile up: with a 1 MB budget and 2 MB per video, at most one decoded video waits
    while another is scored (the window of 6 would otherwise let 6 wait)."""
    from types import SimpleNamespace

    from vgbench.bench.engine import WorkUnit
    from vgbench.bench.engine.local import LocalExecutor
    from vgbench.bench.engine.units import UnitResult

    state = {"decoded": 0, "scored": 0, "most_waiting": 0}

    class Runner:
        def decode(self, unit):
            state["decoded"] += 1
            return SimpleNamespace(frames=np.zeros(2 * 2**20, np.uint8)), None

        def score(self, unit, decoded):
            state["most_waiting"] = max(state["most_waiting"], state["decoded"] - state["scored"] - 1)
            time.sleep(0.05)  # scoring is slower than decoding: an unbounded decoder would run ahead
            state["scored"] += 1
            return UnitResult(unit.index)

    units = [WorkUnit(i, f"v{i}", "generated", f"v{i}.mp4", "") for i in range(8)]
    got = [u.index for u, _ in LocalExecutor(1, prefetch=6, decoded_mb=1).run(units, Runner())]
    assert got == list(range(8)) and state["most_waiting"] <= 1
    state.update(decoded=0, scored=0, most_waiting=0)
    list(LocalExecutor(1, prefetch=6, decoded_mb=1024).run(units, Runner()))
    assert state["most_waiting"] >= 3  # without the budget the window lets the decoder run ahead


def test_worker_marks_reach_every_member_of_a_group():
    """Process and Ray workers mark a group's member results (found: they set ``.worker`` on the group's list and
    crashed); the real executors run groups in the slow test of test_distribution_eval.py."""
    from vgbench.bench.engine import WorkUnit
    from vgbench.bench.engine.units import UnitGroup, mark_worker
    from vgbench.bench.engine.units import UnitResult

    group = UnitGroup(0, [WorkUnit(i, f"v{i}", "generated", f"v{i}.mp4", "") for i in range(3)])
    results = mark_worker([UnitResult(i) for i in range(3)], "pid 1")
    assert [r.worker for r in results] == ["pid 1"] * 3 and mark_worker(UnitResult(0), "w").worker == "w"
    assert len(group.members) == 3 and "v0.mp4" in group.path
