"""Sharded evaluation: N shards (`evaluate --shard I/N`) merged with `vgbench merge` give the per-item values and
aggregates of one process bit for bit; failed items stay in the denominator; a missing shard is an error, and merging
computes nothing."""
from __future__ import annotations

import json

import numpy as np
import pytest

from vgbench.bench.store import ResultsStore
from tests.conftest import write_clip

METRICS = "psnr,ssim,temporal_flickering,fid/efficientnet-lite0"


def _folders(tmp_path):
    rng = np.random.default_rng(3)
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    for root in (gen, ref):
        root.mkdir()
    for i in range(7):
        base = rng.uniform(0, 255, size=(1, 40, 40, 3))
        clip = np.clip(base + np.linspace(0, 30, 6)[:, None, None, None], 0, 255).astype(np.uint8)
        write_clip(ref / f"v{i}.mp4", clip)
        write_clip(gen / f"v{i}.mp4", np.clip(clip.astype(int) + rng.integers(-9, 10, clip.shape), 0, 255)
                   .astype(np.uint8))
    (gen / "v7.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")  # fails its item everywhere
    write_clip(ref / "v7.mp4", clip)
    return gen, ref


def _values(db):
    with ResultsStore(db) as s:
        items = {(r["item_key"], r["protocol"]): (r["status"], r["value"], r["weight"]) for r in
                 s.query("SELECT * FROM item_metrics")}
        sets = {r["protocol"]: (r["value"], r["ci_low"], r["ci_high"], r["n_items"], r["n_failed"]) for r in
                s.query("SELECT * FROM set_metrics")}
    return items, sets


def test_two_shards_merged_equal_one_process(tmp_path, cli):
    gen, ref = _folders(tmp_path)
    fc = tmp_path / "features"
    code, out, err = cli("evaluate", gen, "--metrics", METRICS, "--reference", ref, "--db", tmp_path / "one.sqlite",
                         "--feature-cache", tmp_path / "fc-one", "--json", "--no-progress")
    assert code == 4, err  # the broken video fails its item
    one = json.loads(out)
    shards = []
    for i in (1, 2):
        db = tmp_path / f"shard{i}.sqlite"
        code, out, err = cli("evaluate", gen, "--metrics", METRICS, "--reference", ref, "--db", db,
                             "--feature-cache", fc, "--shard", f"{i}/2", "--json", "--no-progress")
        assert code in (0, 4), err
        part = json.loads(out)
        assert part["shard"] == f"{i}/2" and part["metrics"] == {}  # set-level values wait for the merge
        shards.append((db, part["items"]))
    assert sum(n for _, n in shards) == 8 and all(n > 0 for _, n in shards)
    code, out, err = cli("merge", *[db for db, _ in shards], "--db", tmp_path / "merged.sqlite", "--json",
                         "--no-progress")
    assert code == 4, err
    merged = json.loads(out)["evaluations"][0]
    assert merged["scores_computed"] == 0 and merged.get("features_extracted", 0) == 0
    items_one, sets_one = _values(tmp_path / "one.sqlite")
    items_merged, sets_merged = _values(tmp_path / "merged.sqlite")
    assert items_merged == items_one
    assert sets_merged == sets_one
    for spec, r in one["metrics"].items():
        assert merged["metrics"][spec]["value"] == r["value"] and merged["metrics"][spec]["n_failed"] == r["n_failed"]
    assert one["metrics"]["psnr"]["n_failed"] == 1


def test_a_missing_shard_is_named_and_merge_computes_nothing(tmp_path, cli):
    gen, ref = _folders(tmp_path)
    db = tmp_path / "shard1.sqlite"
    code, _, err = cli("evaluate", gen, "--metrics", "psnr", "--reference", ref, "--db", db, "--shard", "1/3",
                       "--no-progress")
    assert code in (0, 4), err
    code, _, err = cli("merge", db, "--db", tmp_path / "merged.sqlite", "--no-progress")
    assert code == 3 and "2/3, 3/3" in err and "--shard I/3" in err
    code, _, err = cli("evaluate", gen, "--metrics", "psnr", "--shard", "4/3")
    assert code == 3 and "1 <= I <= N" in err


@pytest.mark.slow
def test_merge_refuses_unshared_feature_caches_and_keeps_evaluations_apart(tmp_path, cli, monkeypatch):
    gen, ref = _folders(tmp_path)
    other_ref = tmp_path / "ref2"
    other_ref.mkdir()
    for f in sorted(ref.glob("*.mp4"))[:-1]:
        (other_ref / f.name).write_bytes(f.read_bytes())
    for i in (1, 2):  # FID shards with their own feature caches: the merge cannot see every feature
        code, _, err = cli("evaluate", gen, "--metrics", "fid/efficientnet-lite0", "--reference", ref, "--db",
                           tmp_path / f"fid{i}.sqlite", "--feature-cache", tmp_path / f"fc{i}", "--shard", f"{i}/2",
                           "--no-progress")
        assert code in (0, 4), err
    code, _, err = cli("merge", tmp_path / "fid1.sqlite", tmp_path / "fid2.sqlite", "--db", tmp_path / "m1.sqlite")
    assert code == 3 and "different feature caches" in err
    assert not (tmp_path / "m1.sqlite").exists()  # checked before anything is written
    # two evaluations that differ only in their reference stay two, each with its own value
    dbs = []
    for name, r in (("a", ref), ("b", other_ref)):
        for i in (1, 2):
            db = tmp_path / f"p{name}{i}.sqlite"
            code, _, err = cli("evaluate", gen, "--metrics", "psnr", "--reference", r, "--db", db, "--shard",
                               f"{i}/2", "--no-progress")
            assert code in (0, 4), err
            dbs.append(db)
    monkeypatch.chdir(tmp_path / "ref")  # recorded paths are absolute: merge from anywhere
    code, out, err = cli("merge", *dbs, "--db", tmp_path / "m2.sqlite", "--json", "--no-progress")
    assert code == 4, err
    evals = json.loads(out)["evaluations"]
    assert len(evals) == 2 and len({e["reference"] for e in evals}) == 2
    singles = []
    for r in (ref, other_ref):
        code, out, err = cli("evaluate", gen, "--metrics", "psnr", "--reference", r, "--db",
                             tmp_path / f"single-{r.name}.sqlite", "--json", "--no-progress")
        singles.append(json.loads(out)["metrics"]["psnr"]["value"])
    assert sorted(e["metrics"]["psnr"]["value"] for e in evals) == sorted(singles)
    code, _, err = cli("evaluate", gen, "--metrics", "psnr", "--shard", "1_0/2")
    assert code == 2 and "--shard takes I/N" in err


@pytest.mark.slow
def test_sharded_generation_and_run_merge_to_one_run(tmp_path, cli):
    single = tmp_path / "single"
    code, out, err = cli("run", "--model", "shapes", "--suite", "shapes", "--samples", "2", "--frames", "6",
                         "--out", single, "--metrics", "temporal_flickering", "--json", "--no-progress")
    assert code == 0, err
    whole = json.loads(out)
    shared = tmp_path / "shared"
    parts = []
    for i in (1, 2, 3):
        code, out, err = cli("run", "--model", "shapes", "--suite", "shapes", "--samples", "2", "--frames", "6",
                             "--out", shared, "--metrics", "temporal_flickering", "--shard", f"{i}/3", "--json",
                             "--no-progress")
        assert code == 0, err
        parts.append(json.loads(out))
    assert sum(p["generated"] for p in parts) == whole["generated"] and all(p["generated"] for p in parts)
    assert {p["run_id"] for p in parts} == {whole["run_id"]}  # one run folder, shared
    run_json = json.loads((shared / next(shared.glob("shapes__*")).name / "run.json").read_text())
    assert run_json["status"] == "complete"
    code, out, err = cli("merge", *sorted(shared.glob("vgbench.shard-*-of-3.sqlite")), "--db",
                         shared / "vgbench.sqlite", "--json", "--no-progress")
    assert code == 0, err
    merged = json.loads(out)["evaluations"][0]["metrics"]["temporal_flickering"]
    assert merged["value"] == whole["metrics"]["temporal_flickering"]["value"]
    assert merged["per_item"] == whole["metrics"]["temporal_flickering"]["per_item"]
