"""Protocol revisions: a protocol whose computation changed to match its reference carries its revision in its id,
so values from before the fix never share a cache entry, a comparison or a leaderboard total with values after it."""
from __future__ import annotations

import json

import pytest

from vgbench.bench.errors import ConfigError
from vgbench.bench.store import ResultsStore
from vgbench.metrics.base import MetricResult


def test_revised_protocols_carry_their_revision_in_the_id():
    from vgbench.metrics.registry import create_metric, revision_status

    assert create_metric("fvd/videogpt").protocol_id == "fvd/videogpt@rev=2"
    assert create_metric("subject_consistency").protocol_id == "subject_consistency/vbench@rev=2"
    assert create_metric("temporal_flickering").protocol_id == "temporal_flickering/vbench"  # unchanged: revision 1
    assert create_metric("fvd/videogpt@rev=2").protocol_id == "fvd/videogpt@rev=2"  # a stored id is a valid spec
    with pytest.raises(ConfigError, match=r"only revision 2 .*input \[-1,1\]"):
        create_metric("fvd/videogpt@rev=1")
    assert revision_status("fvd/videogpt") == (1, 2, create_metric("fvd/videogpt").revision_note())
    assert revision_status("temporal_flickering/vbench")[:2] == (1, 1)


def _run(store: ResultsStore, run_id: str, protocol: str, values: list[float]) -> None:
    store.upsert_run(run_id, "evaluation", f"model-{run_id}", "suite", "abc", None, {}, {})
    store.upsert_items(run_id, [{"item_key": f"p{i}", "prompt_id": f"p{i}", "status": "ok"} for i in range(len(values))])
    store.put_item_metrics([{"run_id": run_id, "item_key": f"p{i}", "metric": protocol.split("/")[0],
                             "protocol": protocol, "video_sha256": f"{run_id}{i}", "value": v, "weight": 1.0,
                             "status": "ok", "backbone": "dino_vitb16", "weights_sha256": "w"}
                            for i, v in enumerate(values)])
    store.put_set_metric(run_id, "", MetricResult(
        protocol.split("/")[0], protocol, sum(values) / len(values), True, "per_item", n_items=len(values),
        details={"fidelity": "vbench-exact"}, backbone="dino_vitb16", weights_sha256="w"))


def test_compare_never_mixes_revisions_and_says_so(tmp_path):
    from vgbench.leaderboards.compare import compare_runs, format_report

    with ResultsStore(tmp_path / "db.sqlite") as store:
        _run(store, "base", "subject_consistency/vbench", [0.9] * 6)
        _run(store, "cand", "subject_consistency/vbench@rev=2", [0.8] * 6)
        for run in ("base", "cand"):  # a protocol both have in the same revision
            store.put_item_metrics([{"run_id": run, "item_key": f"p{i}", "metric": "temporal_flickering",
                                     "protocol": "temporal_flickering/vbench", "video_sha256": f"{run}{i}",
                                     "value": 0.95 + 0.001 * i, "weight": 1.0, "status": "ok"} for i in range(6)])
        with pytest.raises(ConfigError, match=r"subject_consistency/vbench: base was scored with revision 1, "
                                              r"candidate with revision 2.*never compared.*re-evaluate"):
            compare_runs(store, "base", "cand", metrics=["subject_consistency"])
        report = compare_runs(store, "base", "cand")
        assert [m.protocol for m in report.metrics] == ["temporal_flickering/vbench"]
        assert report.not_compared and report.not_compared[0].startswith("subject_consistency/vbench: base was scored")
        assert "not compared: subject_consistency/vbench" in format_report(report)
        assert report.to_dict()["not_compared"] == report.not_compared


def test_leaderboard_keeps_an_old_revision_apart_and_out_of_the_total(tmp_path):
    from vgbench.leaderboards.site import _scheme_scores, collect_runs
    from vgbench.leaderboards.schemes import VBENCH

    with ResultsStore(tmp_path / "db.sqlite") as store:
        _run(store, "old", "subject_consistency/vbench", [0.9] * 4)
        _run(store, "new", "subject_consistency/vbench@rev=2", [0.9] * 4)
    runs = collect_runs([tmp_path / "db.sqlite"])
    by_id = {r["run_id"]: r for r in runs}
    old_col = by_id["old"]["columns"]["subject_consistency/vbench"]
    assert old_col["stale_revision"] and any("revision 1 of subject_consistency/vbench" in f and "re-evaluate" in f
                                             for f in old_col["flags"])
    assert "subject_consistency/vbench@rev=2" in by_id["new"]["columns"]
    found = _scheme_scores(runs, VBENCH)
    assert found == ["subject_consistency"]
    assert "subject_consistency" in by_id["old"]["scheme_missing"]  # left out of the old run's total
    assert "subject_consistency" not in by_id["new"]["scheme_missing"]


def test_cached_score_of_an_old_revision_is_never_reused(tmp_path, monkeypatch):
    """A score stored under the revision-1 id (same video, same weights) is not taken for revision 2."""
    from vgbench.bench.config import EvalConfig
    from vgbench.bench.evaluate import evaluate
    from tests.conftest import write_clip
    import numpy as np

    frames = np.random.default_rng(0).integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)
    write_clip(tmp_path / "v" / "a.mp4", frames)
    db = tmp_path / "db.sqlite"
    r1 = evaluate(EvalConfig(videos=tmp_path / "v", metrics=["temporal_flickering"], db=db, progress=False))
    assert r1.scores_computed == 1
    with ResultsStore(db) as store:  # pretend an older vgbench stored it under another revision of the protocol
        store._conn.execute("UPDATE item_metrics SET protocol='temporal_flickering/vbench@rev=7'")
    r2 = evaluate(EvalConfig(videos=tmp_path / "v", metrics=["temporal_flickering"], db=db, progress=False))
    assert r2.scores_computed == 1 and r2.scores_cached == 0
    assert json.loads(json.dumps(r2.to_dict()))["metrics"]["temporal_flickering"]["protocol"] == \
        "temporal_flickering/vbench"


@pytest.mark.parametrize("spec,message", [
    ("fvd/tats@rev=2", r"fvd/tats has no revision 2: its current revision is 1"),
    ("fvd/videogpt@rev=abc", r"a revision is a whole number"),
    ("fvd/videogpt@rev=", r"a revision is a whole number"),
])
def test_revision_in_a_spec_is_checked(spec, message):
    from vgbench.metrics.registry import create_metric

    with pytest.raises(ConfigError, match=message):
        create_metric(spec)
    assert create_metric("fvd/videogpt@rev=02").protocol_id == "fvd/videogpt@rev=2"


def test_compare_by_explicit_revision_id_and_warns_when_both_runs_predate_a_fix(tmp_path):
    from vgbench.leaderboards.compare import compare_runs, format_report

    with ResultsStore(tmp_path / "db.sqlite") as store:
        _run(store, "base", "subject_consistency/vbench", [0.9] * 6)
        _run(store, "cand", "subject_consistency/vbench@rev=2", [0.8] * 6)
        _run(store, "old2", "subject_consistency/vbench", [0.85] * 6)
        with pytest.raises(ConfigError, match="base was scored with revision 1, candidate with revision 2"):
            compare_runs(store, "base", "cand", metrics=["subject_consistency/vbench@rev=2"])
        report = compare_runs(store, "base", "old2")
        assert report.warnings and "both runs were scored with revision 1" in report.warnings[0]
        assert "warning: subject_consistency/vbench: both runs" in format_report(report)


def test_leaderboard_exports_carry_the_flags(tmp_path):
    """leaderboard.csv has a flags field per column and leaderboard.md marks flagged cells [!] with footnotes."""
    import pandas as pd

    from vgbench.leaderboards.site import build_site

    with ResultsStore(tmp_path / "db.sqlite") as store:
        _run(store, "old", "subject_consistency/vbench", [0.9] * 4)
        _run(store, "new", "subject_consistency/vbench@rev=2", [0.9] * 4)
    build_site([tmp_path / "db.sqlite"], tmp_path / "site", scheme="vbench", gallery=False)
    csv = pd.read_csv(tmp_path / "site" / "leaderboard.csv")
    flags = csv["subject_consistency/vbench flags"].dropna().tolist()
    assert flags and "computed before a fix" in flags[0]
    md = (tmp_path / "site" / "leaderboard.md").read_text()
    assert "[!]" in md and "computed before a fix" in md
