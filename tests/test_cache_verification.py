"""Content-verified caches: a cached score, feature or reference statistic is reused only if the content it was
computed from still matches; a changed video, a garbled feature file and a garbled statistics file are recomputed or
refused, counted and reported, never used (the engine issue's findings)."""
from __future__ import annotations

import numpy as np
import pytest

from vgbench.bench.config import EvalConfig, RunConfig
from vgbench.bench.errors import ConfigError
from vgbench.bench.evaluate import evaluate
from vgbench.bench.runs import execute_run, plan_run
from tests.conftest import write_clip


def _folder(root, n, seed, frames=6, size=40):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        base = rng.uniform(0, 255, size=(1, size, size, 3))
        write_clip(root / f"v{i}.mp4", np.clip(base + np.linspace(0, 30, frames)[:, None, None, None], 0, 255)
                   .astype(np.uint8))
    return root


def test_a_video_edited_after_generation_is_rescored(tmp_path):
    plan = plan_run(RunConfig(model="shapes", suite="smoke", out=str(tmp_path), samples=1, frames=6))
    execute_run(plan, progress=False)
    first = evaluate(EvalConfig(videos=plan.run_dir, metrics=["temporal_flickering"], db=plan.db_path,
                                progress=False))
    video = sorted((plan.run_dir / "videos").glob("*.mp4"))[0]
    rng = np.random.default_rng(0)  # replaced by noise: another content under the same name
    write_clip(video, rng.integers(0, 256, (6, 128, 128, 3), dtype=np.uint8))
    again = evaluate(EvalConfig(videos=plan.run_dir, metrics=["temporal_flickering"], db=plan.db_path,
                                progress=False))
    assert again.scores_computed == 1 and again.scores_cached == first.items_total - 1
    assert again.files_changed == [str(video)]
    item = next(k for k, v in again.results["temporal_flickering"].per_item.items()
                if v != first.results["temporal_flickering"].per_item[k])
    assert again.results["temporal_flickering"].per_item[item] < 0.9  # noise flickers


def test_a_garbled_feature_file_is_recomputed_not_used(tmp_path):
    gen, ref = _folder(tmp_path / "gen", 4, 1), _folder(tmp_path / "ref", 4, 2)
    cfg = EvalConfig(videos=gen, metrics=["fid/efficientnet-lite0"], reference=ref, db=tmp_path / "db.sqlite",
                     feature_cache=tmp_path / "fc", progress=False)
    first = evaluate(cfg)
    entries = sorted((tmp_path / "fc").rglob("*.npz"))
    assert len(entries) == 8
    raw = bytearray(entries[0].read_bytes())  # flip bytes in the array data: the zip still opens
    raw[-200:-150] = bytes(b ^ 0x5A for b in raw[-200:-150])
    entries[0].write_bytes(bytes(raw))
    entries[1].write_bytes(b"not a feature file")
    again = evaluate(cfg)
    stats = again.feature_cache.stats()
    assert stats["features_rejected"] == 2 and stats["features_extracted"] == 2 and stats["features_cached"] == 6
    assert again.results["fid/efficientnet-lite0"].value == first.results["fid/efficientnet-lite0"].value


def test_a_garbled_statistics_file_is_refused(tmp_path, cli):
    ref = _folder(tmp_path / "ref", 3, 5)
    stats = tmp_path / "ref.npz"
    code, _, err = cli("refstats", "build", ref, "--metric", "fid/efficientnet-lite0", "-o", stats,
                       "--feature-cache", tmp_path / "fc", "--no-progress")
    assert code == 0, err
    with np.load(stats) as z:
        parts = dict(z)
    parts["features"] = parts["features"].copy()
    parts["features"][0, 0] += 1.0  # one number changed, the file otherwise valid
    np.savez(stats, **parts)
    from vgbench.bench.distribution_eval import load_refstats

    with pytest.raises(ConfigError, match="damaged"):
        load_refstats(stats)
    code, _, err = cli("evaluate", ref, "--metrics", "fid/efficientnet-lite0", "--reference", stats,
                       "--db", tmp_path / "db.sqlite", "--no-progress")
    assert code == 3 and "ref.npz" in err and "rebuild" in err


def test_truncated_or_rekeyed_statistics_files_are_refused(tmp_path, cli):
    ref = _folder(tmp_path / "ref", 3, 6)
    stats = tmp_path / "ref.npz"
    code, _, err = cli("refstats", "build", ref, "--metric", "fid/efficientnet-lite0", "-o", stats,
                       "--feature-cache", tmp_path / "fc", "--no-progress")
    assert code == 0, err
    good = stats.read_bytes()
    stats.write_bytes(good[: len(good) // 2])  # truncated: not even a zip any more
    code, _, err = cli("refstats", "show", stats)
    assert code == 3 and "ref.npz" in err and "internal error" not in err
    stats.write_bytes(good)
    with np.load(stats) as z:
        parts = dict(z)
    parts["keys"] = np.array([parts["keys"][0]] * len(parts["keys"]))  # every video under one key
    np.savez(stats, **parts)
    code, _, err = cli("refstats", "show", stats)
    assert code == 3 and "damaged" in err
