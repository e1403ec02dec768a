"""Runs: item ids, resumability (including kill -9 of a real subprocess), failures, the results store."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from vgbench.bench.config import EvalConfig
from vgbench.bench.evaluate import evaluate
from vgbench.bench.runs import RunConfig, execute_run, plan_run
from vgbench.bench.store import ResultsStore
from tests.conftest import REPO, run_cli_subprocess, write_clip


def small(out, **kw):
    base = dict(model="shapes", suite="shapes", out=str(out), samples=1, frames=6, width=32, height=32)
    base.update(kw)
    return RunConfig(**base)


def test_item_ids_depend_on_content_defining_inputs_only(tmp_path):
    a = plan_run(small(tmp_path))
    assert len({it.item_id for it in a.items}) == len(a.items) == 8
    assert [it.item_id for it in plan_run(small(tmp_path / "elsewhere")).items] == [it.item_id for it in a.items]
    for change in ({"seed": 1}, {"frames": 7}, {"fps": 4.0}, {"width": 48}, {"quality": "near_lossless"},
                   {"model": "static"}):
        b = plan_run(small(tmp_path, **change))
        assert not {it.item_id for it in b.items} & {it.item_id for it in a.items}, change
        assert b.run_id != a.run_id
    more = plan_run(small(tmp_path, samples=2))  # more samples: the first sample's items are the same videos
    assert {it.item_id for it in a.items} <= {it.item_id for it in more.items}


def test_file_names_never_contain_prompt_text(tmp_path):
    plan = plan_run(small(tmp_path, suite="smoke"))
    execute_run(plan, progress=False)
    names = [p.name for p in (plan.run_dir / "videos").iterdir()]
    assert names and all(n.split(".")[0] in {it.item_id for it in plan.items} for n in names)


def test_run_resumes_and_records_provenance(tmp_path):
    plan = plan_run(small(tmp_path))
    first = execute_run(plan, progress=False)
    assert (first.generated, first.skipped, first.failed) == (8, 0, [])
    mtimes = {p: p.stat().st_mtime_ns for p in (plan.run_dir / "videos").glob("*.mp4")}
    again = execute_run(plan_run(small(tmp_path)), progress=False)
    assert (again.generated, again.skipped) == (0, 8)
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    doc = json.loads((plan.run_dir / "run.json").read_text())
    assert doc["status"] == "complete" and len(doc["items"]) == 8
    prov = doc["provenance"]
    assert prov["packages"]["torch"] and prov["python"] and "torchvision_compat" in prov
    assert doc["settings"]["suite_sha256"] and doc["settings"]["seed"] == 0
    with ResultsStore(plan.db_path) as store:
        assert store.query("SELECT COUNT(*) AS n FROM items WHERE run_id=? AND status='ok'", (plan.run_id,))[0]["n"] == 8
    # a deleted video is regenerated, nothing else
    victim = next(iter(mtimes))
    victim.unlink()
    third = execute_run(plan_run(small(tmp_path)), progress=False)
    assert (third.generated, third.skipped) == (1, 7)


def test_failing_item_fails_alone_and_is_retried(tmp_path, monkeypatch):
    plan = plan_run(small(tmp_path))
    real = plan.generator.generate
    bad = plan.items[3].request

    def flaky(request):
        if request == bad:
            raise RuntimeError("GPU fell off the bus")
        return real(request)

    monkeypatch.setattr(plan.generator, "generate", flaky)
    rep = execute_run(plan, progress=False)
    assert rep.generated == 7 and len(rep.failed) == 1 and "GPU fell off" in rep.failed[0]["error"]
    ev = evaluate(EvalConfig(videos=plan.run_dir, metrics=["temporal_flickering"], db=plan.db_path, progress=False))
    assert ev.results["temporal_flickering"].n_items == 7 and ev.results["temporal_flickering"].n_failed == 1
    assert ev.failures[0]["item"] == plan.items[3].item_id
    rep2 = execute_run(plan_run(small(tmp_path)), progress=False)  # the failed item is retried, nothing else
    assert (rep2.generated, rep2.skipped, rep2.failed) == (1, 7, [])


def _sidecars(run_dir: Path) -> dict[str, dict]:
    out = {}
    for p in (run_dir / "videos").glob("*.json"):
        try:
            d = json.loads(p.read_text())
        except json.JSONDecodeError:
            continue
        if d.get("status") == "ok":
            out[d["item_id"]] = d
    return out


@pytest.mark.slow
def test_kill_9_then_resume_equals_uninterrupted_run(tmp_path):
    """Acceptance: kill -9 during a run, run the same command again: it completes, redoes no finished item,
    and its results equal those of an uninterrupted run."""
    args = ["run", "--model", "shapes", "--suite", "shapes", "--samples", "12", "--frames", "24", "--size", "96x96",
            "--no-progress"]
    killed_out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "vgbench", *args, "--out", str(killed_out)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    run_dir = None
    while time.time() < deadline:
        dirs = list(killed_out.glob("shapes__shapes__*")) if killed_out.exists() else []
        if dirs and len(_sidecars(dirs[0])) >= 5:
            run_dir = dirs[0]
            break
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert run_dir is not None, "the run finished or failed before it could be killed"
    finished = _sidecars(run_dir)
    assert 5 <= len(finished) < 96, "kill landed mid-run"
    before = {i: (run_dir / "videos" / f"{i}.mp4").stat().st_mtime_ns for i in finished}

    resumed = run_cli_subprocess(*args, "--out", killed_out, "--json", cwd=REPO)
    assert resumed.returncode == 0, resumed.stderr
    res = json.loads(resumed.stdout)
    assert res["skipped"] >= len(finished) and res["generated"] + res["skipped"] == 96
    assert {i: (run_dir / "videos" / f"{i}.mp4").stat().st_mtime_ns for i in finished} == before

    clean = run_cli_subprocess(*args, "--out", tmp_path / "clean", "--json", cwd=REPO)
    assert clean.returncode == 0, clean.stderr
    ref = json.loads(clean.stdout)
    assert ref["generated"] == 96
    assert res["metrics"]["temporal_flickering"]["value"] == ref["metrics"]["temporal_flickering"]["value"]
    assert res["metrics"]["temporal_flickering"]["per_item"] == ref["metrics"]["temporal_flickering"]["per_item"]
    clean_dir = next((tmp_path / "clean").glob("shapes__shapes__*"))
    assert {k: v["sha256"] for k, v in _sidecars(run_dir).items()} == \
        {k: v["sha256"] for k, v in _sidecars(clean_dir).items()}
    assert not list((run_dir / "videos").glob(".*tmp*")), "partial files of the killed run were cleaned up"


def test_corrupt_file_fails_only_its_item(tmp_path, rng, cli):
    folder = tmp_path / "videos"
    for k in range(3):
        write_clip(folder / f"ok{k}.mp4", rng.integers(0, 256, (5, 24, 24, 3), dtype=np.uint8))
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(500))
    good = (folder / "ok0.mp4").read_bytes()
    (folder / "cut.mp4").write_bytes(good[: len(good) // 3])
    db = tmp_path / "db.sqlite"
    code, out, err = cli("evaluate", folder, "--metrics", "temporal_flickering", "--json", "--no-progress", "--db", db)
    assert code == 4  # completed, some items failed
    res = json.loads(out)
    tf = res["metrics"]["temporal_flickering"]
    assert tf["n_items"] == 3 and tf["n_failed"] == 2 and 0 < tf["value"] < 1
    failed = {Path(f["path"]).name for f in res["failed_items"]}
    assert failed == {"broken.mp4", "cut.mp4"}
    assert "broken.mp4" in err and "cut.mp4" in err
    with ResultsStore(db) as store:
        rows = store.query("SELECT item_key, status, error FROM item_metrics WHERE status='error'")
        assert {r["item_key"] for r in rows} == {"broken.mp4", "cut.mp4"} and all(r["error"] for r in rows)


def test_evaluating_again_recomputes_nothing(tmp_path, rng):
    folder = tmp_path / "v"
    for k in range(3):
        write_clip(folder / f"{k}.mp4", rng.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8))
    db = tmp_path / "db.sqlite"
    a = evaluate(EvalConfig(videos=folder, metrics=["temporal_flickering"], db=db, progress=False))
    b = evaluate(EvalConfig(videos=folder, metrics=["temporal_flickering"], db=db, progress=False))
    assert (a.scores_computed, b.scores_computed, b.scores_cached, b.items_decoded) == (3, 0, 3, 0)
    assert a.results["temporal_flickering"].value == b.results["temporal_flickering"].value


def _writer(db: str, worker: int, n: int) -> None:
    with ResultsStore(db) as store:
        for k in range(n):
            store.put_item_metrics([{"run_id": f"r{worker}", "item_key": f"i{k}", "metric": "m", "protocol": "m/p",
                                     "value": float(k), "weight": 1.0, "status": "ok", "video_sha256": f"{worker}-{k}"}])


@pytest.mark.slow
def test_store_is_safe_under_concurrent_writers(tmp_path):
    db = tmp_path / "shared.sqlite"
    ResultsStore(db).close()
    code = ("import sys; sys.path.insert(0, %r); from tests.test_runs import _writer; _writer(%r, int(sys.argv[1]), 150)"
            % (str(REPO), str(db)))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(w)], cwd=REPO) for w in range(4)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM item_metrics").fetchone()[0] == 600


def test_export_csv_json_parquet(tmp_path, cli):
    import pandas as pd

    plan = plan_run(small(tmp_path))
    execute_run(plan, progress=False)
    evaluate(EvalConfig(videos=plan.run_dir, metrics=["temporal_flickering"], db=plan.db_path, progress=False))
    frames = {}
    for ext in ("csv", "json", "parquet"):
        dest = tmp_path / f"out.{ext}"
        code, _, err = cli("results", "export", "--db", plan.db_path, "-o", dest)
        assert code == 0 and "8 rows" in err
        frames[ext] = {"csv": pd.read_csv, "json": pd.read_json, "parquet": pd.read_parquet}[ext](dest)
    for df in frames.values():
        assert len(df) == 8 and set(df["protocol"]) == {"temporal_flickering/vbench"}
        assert {"prompt_id", "seed", "model", "value"} <= set(df.columns)
    code, _, _ = cli("results", "export", "--db", plan.db_path, "-o", tmp_path / "sets.csv", "--table", "set_metrics")
    assert code == 0 and len(pd.read_csv(tmp_path / "sets.csv")) == 1


def test_run_folder_evaluated_into_another_database_records_its_items(tmp_path):
    plan = plan_run(small(tmp_path))
    execute_run(plan, progress=False)
    other = tmp_path / "elsewhere.sqlite"
    evaluate(EvalConfig(videos=plan.run_dir, metrics=["temporal_flickering"], db=other, progress=False))
    with ResultsStore(other) as store:
        assert store.query("SELECT kind FROM runs WHERE run_id=?", (plan.run_id,))[0]["kind"] == "generation"
        assert store.query("SELECT COUNT(*) AS n FROM items WHERE run_id=? AND status='ok'",
                           (plan.run_id,))[0]["n"] == 8


def test_run_with_an_empty_metric_list_generates_only(tmp_path, cli):
    """`vgbench run --metrics ""` generates and scores nothing (the default metric is for an absent --metrics)."""
    import json

    code, out, err = cli("run", "--model", "static", "--suite", "smoke", "--frames", "3", "--size", "16x16",
                         "--metrics", "", "--out", tmp_path / "out", "--json", "--no-progress")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["generated"] == 5 and doc["metrics"] == {} and doc["scores_computed"] == 0
