"""Alignment and quality metrics through `vgbench evaluate`: prompts from .txt files, paired LPIPS/VMAF with
--reference, options in the protocol id, fail-fast without weights, caching keyed by the weights hash."""
import json

import numpy as np

from vgbench.bench.config import EvalConfig
from vgbench.bench.evaluate import evaluate
from vgbench.bench.store import ResultsStore
from tests.conftest import write_clip


def _folder(root, n, seed, prompts=True, frames=6, size=64):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        base = rng.uniform(0, 255, size=(1, size, size, 3))
        drift = np.linspace(0, 30, frames)[:, None, None, None]
        write_clip(root / f"v{i}.mp4", np.clip(base + drift, 0, 255).astype(np.uint8))
        if prompts:
            (root / f"v{i}.txt").write_text(f"a drifting colour field number {i}\n")
    return root


def test_evaluate_cli_alignment_and_paired_metrics(tmp_path, cli):
    gen = _folder(tmp_path / "gen", 2, 1)
    ref = _folder(tmp_path / "ref", 2, 2, prompts=False)
    db = tmp_path / "out" / "vgbench.sqlite"
    specs = "clip_score/clipsim@frames=uniform:2,lpips,vmaf"
    code, out, err = cli("evaluate", gen, "--metrics", specs, "--reference", ref, "--db", db,
                         "--allow-random-weights", "--json", "--no-progress")
    assert code == 0, err
    doc = json.loads(out)
    m = doc["metrics"]
    assert m["clip_score/clipsim@frames=uniform:2"]["protocol"] == "clip_score/clipsim@frames=uniform:2"
    assert m["clip_score/clipsim@frames=uniform:2"]["n_items"] == 2
    assert "random weights — not comparable" in m["clip_score/clipsim@frames=uniform:2"]["flags"]
    assert m["lpips"]["value"] > 0 and m["lpips"]["protocol"] == "lpips/alex"
    assert 0 <= m["vmaf"]["value"] < 100 and m["vmaf"]["flags"] == []
    assert doc["scores_computed"] == 6 and not doc["failed_items"]

    code, out, _ = cli("evaluate", gen, "--metrics", specs, "--reference", ref, "--db", db,
                       "--allow-random-weights", "--json", "--no-progress")
    again = json.loads(out)
    assert again["scores_cached"] == 6 and again["scores_computed"] == 0
    assert again["metrics"]["lpips"]["value"] == m["lpips"]["value"]
    with ResultsStore(db) as store:
        rows = store.query("SELECT weights_sha256, extra_json FROM item_metrics WHERE protocol=?",
                           ("clip_score/clipsim@frames=uniform:2",))
    assert {r["weights_sha256"] for r in rows} == {"random-init-seed0"}
    assert json.loads(rows[0]["extra_json"])["frames"] == [0, 5]


def test_cached_scores_are_not_reused_across_weights(tmp_path):
    """A score stored with other weights (here: a fake hash) is recomputed, not reused."""
    gen = _folder(tmp_path / "gen", 1, 3)
    db = tmp_path / "vgbench.sqlite"
    first = evaluate(EvalConfig(videos=gen, metrics=["clip_score/clipsim@frames=uniform:2"], db=db, progress=False,
                                allow_random_weights=True))
    assert first.scores_computed == 1
    with ResultsStore(db) as store:
        store._conn.execute("UPDATE item_metrics SET weights_sha256='0' || weights_sha256")
        store._conn.commit()
    second = evaluate(EvalConfig(videos=gen, metrics=["clip_score/clipsim@frames=uniform:2"], db=db, progress=False,
                                 allow_random_weights=True))
    assert second.scores_computed == 1 and second.scores_cached == 0


def test_missing_prompt_fails_the_item_not_the_run(tmp_path):
    gen = _folder(tmp_path / "gen", 2, 4)
    (gen / "v1.txt").unlink()
    report = evaluate(EvalConfig(videos=gen, metrics=["clip_score/clipsim@frames=uniform:2"],
                                 db=tmp_path / "db.sqlite", progress=False, allow_random_weights=True))
    r = report.results["clip_score/clipsim@frames=uniform:2"]
    assert r.n_items == 1 and r.n_failed == 1
    assert "prompt" in report.failures[0]["errors"][0]


def test_model_metric_without_weights_fails_fast_with_instructions(tmp_path, cli):
    gen = _folder(tmp_path / "gen", 1, 5)
    code, out, err = cli("evaluate", gen, "--metrics", "dover", "--db", tmp_path / "db.sqlite", "--no-progress")
    assert code != 0
    assert "DOVER.pth" in err and "VGBENCH_WEIGHTS_DOVER" in err and "offline" in err.lower()
