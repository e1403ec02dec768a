"""Leaderboards: the VBench scheme against published rows, bootstrap coverage, the paired test and Holm, the
regression gate on real runs (shapes vs noisy shapes vs another seed), and the static site (escaping, exports,
headless Chromium when installed)."""
from __future__ import annotations

import json
import math
import shutil
import sqlite3

import numpy as np
import pytest

from conftest import shared_path
from vgbench.bench.runs import RunConfig, execute_run, plan_run
from vgbench.bench.config import EvalConfig
from vgbench.bench.evaluate import evaluate


# ---- schemes and published rows -------------------------------------------------------------------------------------
def test_vbench_scheme_reproduces_published_totals():
    from vgbench.leaderboards.published import load_published

    rows = load_published(shared_path("data", "vbench", "published_scores.csv"))
    assert len(rows) >= 16
    for r in rows:
        for k in ("total", "quality", "semantic"):
            assert abs(r.recomputed[k] - r.published[k]) <= 0.01 + 1e-9, (r.model, k)
        assert r.consistent, (r.model, r.inconsistent)


def test_inconsistent_published_row_is_flagged(tmp_path):
    from vgbench.leaderboards.published import load_published
    from vgbench.leaderboards.schemes import VBENCH

    dims = {d: 50.0 for d in VBENCH.dimension_names()}
    agg = VBENCH.aggregate({d: v / 100 for d, v in dims.items()})
    header = ["model", "source", "total", "quality", "semantic", *dims]
    good = ["ok-model", "", f"{100 * agg['total']:.2f}", f"{100 * agg['quality']:.2f}",
            f"{100 * agg['semantic']:.2f}", *(f"{v:.2f}" for v in dims.values())]
    bad = ["typo-model", "paper", f"{100 * agg['total'] + 1.5:.2f}", *good[3:]]
    (tmp_path / "p.csv").write_text("\n".join(",".join(x) for x in (header, good, bad)) + "\n")
    rows = load_published(tmp_path / "p.csv")
    assert rows[0].consistent and not rows[1].consistent
    assert rows[1].inconsistent[0].startswith("total: published")


def test_vbench_i2v_scheme_reproduces_the_published_leaderboard_rows():
    """The VBench-I2V leaderboard's rows (shipped table; the scheme itself equals VBench's cal_i2v_final_score in
    test_i2v's golden test): every published Total, I2V and Quality score recomputes within 0.01."""
    from vgbench.leaderboards.published import load_published
    from vgbench.leaderboards.schemes import VBENCH_I2V

    rows = load_published("vbench-i2v", VBENCH_I2V)
    assert len(rows) == 11  # the leaderboard's CogVideoX1.5-5B-I2V row is left out: its quality columns are shifted
    checked = 0
    for r in rows:
        assert r.consistent, (r.model, r.inconsistent)
        for k, v in r.published.items():
            assert abs(r.recomputed[k] - v) <= 0.01 + 1e-9, (r.model, k)
            checked += 1
    assert checked == 9 * 3 + 2  # SVD publishes Quality only (no text, so no camera motion, I2V score or Total)
    magi = next(r for r in rows if r.model == "Magi-1")
    assert magi.published == {"total": 89.28, "i2v": 96.12, "quality": 82.44}


def test_i2v_score_of_a_run_with_the_three_i2v_dimensions_only():
    """A run evaluated on i2v_subject, i2v_background and camera_motion gets its I2V score (VBench's formula on those
    three) but no Quality and no Total (their dimensions are missing, and VBench would count them as 0)."""
    from vgbench.leaderboards.schemes import VBENCH_I2V
    from vgbench.leaderboards.site import _scheme_scores

    vals = {"i2v_subject": 0.97, "i2v_background": 0.95, "camera_motion": 0.4}
    run = {"columns": {f"{d}/vbench": {"protocol": f"{d}/vbench", "metric": d, "value": v, "fidelity": "vbench-exact"}
                       for d, v in vals.items()}}
    assert _scheme_scores([run], VBENCH_I2V) == sorted(vals)
    i2v = ((0.97 - 0.1462) / (1 - 0.1462) + (0.95 - 0.2615) / (1 - 0.2615) + 0.1 * 0.4) / 2.1  # cal_i2v_final_score
    assert run["scheme"]["i2v"] == pytest.approx(i2v, abs=1e-12)
    assert run["scheme_complete"] == {"total": False, "i2v": True, "quality": False}
    assert run["scheme_notes"]["i2v"] == {"not_exact": [], "flagged": []} and not run["scheme_choices"]
    # a second camera_motion result (the weightless tracker, flagged): the exact one is used whatever the column
    # order, and the choice is said
    lk = {"protocol": "camera_motion/vbench@tracker=lk", "metric": "camera_motion", "value": 1.0,
          "fidelity": "vbench-style", "flags": ["random weights"]}
    for order in (("lk", "exact"), ("exact", "lk")):
        cols = {"a/" + o: lk if o == "lk" else run["columns"]["camera_motion/vbench"] for o in order}
        twin = {"columns": {**{k: v for k, v in run["columns"].items() if "camera" not in k}, **cols}}
        _scheme_scores([twin], VBENCH_I2V)
        assert twin["scheme"]["i2v"] == pytest.approx(i2v, abs=1e-12), order
        assert twin["scheme_choices"] == ["camera_motion uses a/exact, not a/lk"]
    lk_only = {"columns": {**{k: v for k, v in run["columns"].items() if "camera" not in k}, "lk": lk}}
    _scheme_scores([lk_only], VBENCH_I2V)
    assert lk_only["scheme_notes"]["i2v"] == {"not_exact": ["camera_motion"], "flagged": ["camera_motion"]}
    assert lk_only["scheme_notes"]["quality"] == {"not_exact": [], "flagged": []}


def test_published_cells_percent_signs_and_absent_values(tmp_path):
    """"97.36%" reads as 97.36; empty / nan / - are not published; a missing dimension flags a row only when a
    published score needs it."""
    from vgbench.bench.errors import ConfigError
    from vgbench.leaderboards.published import load_published
    from vgbench.leaderboards.schemes import VBENCH_I2V

    dims = {d: 90.0 for d in VBENCH_I2V.dimension_names()}
    agg = VBENCH_I2V.aggregate({d: v / 100 for d, v in dims.items()})
    header = ["model", "source", "total", "i2v", "quality", *dims]
    full = ["full", "", f"{100 * agg['total']:.2f}%", f"{100 * agg['i2v']:.2f}%", f"{100 * agg['quality']:.2f}%",
            *(f"{v:.2f}%" for v in dims.values())]
    no_cam = ["no-camera", "", "nan", "-", full[4], "", *full[6:]]
    claims_total = ["claims-total", "", full[2], "", "", "nan", *full[6:]]
    (tmp_path / "p.csv").write_text("\n".join(",".join(x) for x in (header, full, no_cam, claims_total)) + "\n")
    rows = load_published(tmp_path / "p.csv", VBENCH_I2V)
    assert rows[0].consistent and rows[0].published["total"] == round(100 * agg["total"], 2)
    assert rows[1].consistent and rows[1].published == {"quality": float(full[4].rstrip("%"))}
    assert "camera_motion" not in rows[1].dimensions
    assert rows[2].consistent and rows[2].unchecked == ["total: not checked, missing dimensions camera_motion"]
    # a spreadsheet's "CSV UTF-8" (a BOM before the header) reads the same
    (tmp_path / "bom.csv").write_bytes("\ufeff".encode() + (tmp_path / "p.csv").read_bytes())
    assert [r.published for r in load_published(tmp_path / "bom.csv", VBENCH_I2V)] == [r.published for r in rows]
    for bad in ("n.a.", "inf"):
        (tmp_path / "bad.csv").write_text(",".join(header) + "\n" + ",".join([*full[:6], bad, *full[7:]]) + "\n")
        with pytest.raises(ConfigError, match=r"bad.csv:2: not a number"):
            load_published(tmp_path / "bad.csv", VBENCH_I2V)
    cases = {"total twice": ([*header, "total"], [*full, full[2]], "names total twice"),
             "extra cell": (header, [*full, "1"], "more cells than the header"),
             "short row": (header, full[:-1], "fewer cells than the header"),
             "fractions": (header, [*full[:5], *(f"{v / 100:.4f}" for v in dims.values())], "look like fractions")}
    for name, (h, row, msg) in cases.items():
        (tmp_path / "bad.csv").write_text(",".join(h) + "\n" + ",".join(row) + "\n")
        with pytest.raises(ConfigError, match=msg):
            load_published(tmp_path / "bad.csv", VBENCH_I2V)
    (tmp_path / "names.csv").write_text("model,Video-Text Camera Motion\nx,50\n")
    with pytest.raises(ConfigError, match=r"the header is: model, source, total, i2v, quality, camera_motion"):
        load_published(tmp_path / "names.csv", VBENCH_I2V)


def test_vbench_weights_and_user_scheme(tmp_path):
    from vgbench.leaderboards.schemes import VBENCH, load_scheme

    ones = VBENCH.aggregate({d.name: d.max for d in VBENCH.dimensions})
    assert ones["quality"] == pytest.approx(1.0) and ones["semantic"] == pytest.approx(1.0)
    half_dyn = VBENCH.aggregate({**{d.name: d.max for d in VBENCH.dimensions}, "dynamic_degree": 0.0})
    assert half_dyn["quality"] == pytest.approx(6.0 / 6.5)  # dynamic degree weighs 0.5 of Σw = 6.5
    assert half_dyn["total"] == pytest.approx((4 * 6.0 / 6.5 + 1) / 5)
    (tmp_path / "s.yaml").write_text("name: mine\ngroups: {q: 3, a: 1}\ndimensions:\n"
                                     "  temporal_flickering/vbench: {group: q, min: 0.5, max: 1.0}\n"
                                     "  clip_score/clipsim: {group: a, weight: 2}\n")
    s = load_scheme(tmp_path / "s.yaml")
    out = s.aggregate({"temporal_flickering/vbench": 0.75, "clip_score/clipsim": 0.3})
    assert out["q"] == pytest.approx(0.5) and out["a"] == pytest.approx(0.3)
    assert out["total"] == pytest.approx((3 * 0.5 + 0.3) / 4)


# ---- statistics ----------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_bootstrap_interval_covers_true_mean_at_nominal_rate():
    """Synthetic per-item scores (prompt effect + seed noise, true mean 0.5): 1000 seeded repetitions."""
    from vgbench.leaderboards.statistics import bootstrap_interval

    hits = 0
    for rep in range(1000):
        rng = np.random.default_rng(rep)
        n_prompts, n_seeds = 40, 3
        vals = (0.5 + rng.normal(0, 0.1, n_prompts)[:, None] + rng.normal(0, 0.05, (n_prompts, n_seeds))).ravel()
        iv = bootstrap_interval(vals, np.repeat(np.arange(n_prompts), n_seeds), n_boot=1000, seed=rep)
        hits += iv.low <= 0.5 <= iv.high
    assert 930 <= hits <= 970, hits


def test_sign_flip_p_values_and_holm():
    from vgbench.leaderboards.statistics import holm, paired_comparison, sign_flip_p_value

    assert sign_flip_p_value(np.ones(8)) == pytest.approx(2 / 256)  # exact: only all-+ and all-− are as extreme
    assert sign_flip_p_value(np.zeros(5)) == 1.0
    d = np.array([1.0, -1.0, 2.0, -2.0])
    assert sign_flip_p_value(d) == 1.0
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(holm([math.nan, 0.02])[0]) and holm([math.nan, 0.02])[1] == pytest.approx(0.02)
    c = paired_comparison([1, 1, 2, 2], ["a", "a", "b", "b"], [2, 2, 4, 4], ["a", "a", "b", "b"])
    assert c.delta == pytest.approx(1.5) and c.n_prompts == 2 and c.base_mean == pytest.approx(1.5)


# ---- runs for the gate and the site ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scored_runs(tmp_path_factory):
    """shapes (seed 0), shapes (seed 100), noisy-shapes:8, and static (seed 50) as the paired reference, unrelated
    to both seeds; all on the shapes
    suite with 2 samples per prompt, scored with temporal_flickering and psnr/ssim vs the static run."""
    out = tmp_path_factory.mktemp("lb") / "out"
    plans = {}
    for key, model, seed in (("base", "shapes", 0), ("seed", "shapes", 100), ("noisy", "noisy-shapes:8", 0),
                             ("ref", "static", 50)):
        plan = plan_run(RunConfig(model=model, suite="shapes", out=str(out), samples=2, seed=seed))
        execute_run(plan, progress=False)
        plans[key] = plan
    for key in ("base", "seed", "noisy"):
        evaluate(EvalConfig(videos=plans[key].run_dir, metrics=["temporal_flickering", "psnr", "ssim"],
                            reference=plans["ref"].run_dir, db=plans[key].db_path, progress=False))
    return out, {k: p.run_id for k, p in plans.items()}


def test_gate_fails_on_noisy_checkpoint_and_passes_on_other_seed(scored_runs, cli):
    out, ids = scored_runs
    db = out / "vgbench.sqlite"
    code, stdout, err = cli("compare", ids["base"], ids["noisy"], "--db", db, "--fail-on-regression", "--json")
    doc = json.loads(stdout)
    assert code == 6 and not doc["passed"]
    assert set(doc["regressions"]) == {"temporal_flickering/vbench", "psnr/common_metrics", "ssim/common_metrics"}
    tf = next(m for m in doc["metrics"] if m["protocol"] == "temporal_flickering/vbench")
    assert tf["delta"] < 0 and tf["ci95"][1] < 0 and tf["p_holm"] < 0.05 and tf["effect_size_dz"] < -1
    code, stdout, _ = cli("compare", ids["base"], ids["seed"], "--db", db, "--fail-on-regression", "--json")
    assert code == 0 and json.loads(stdout)["passed"]
    # a tolerance larger than the damage lets the gate pass for that metric
    code, stdout, _ = cli("compare", ids["base"], ids["noisy"], "--db", db, "--fail-on-regression", "--json",
                          "--metrics", "temporal_flickering", "--tolerance", "temporal_flickering=0.1")
    assert code == 0 and json.loads(stdout)["regressions"] == []
    code, stdout, _ = cli("compare", ids["base"], ids["noisy"], "--db", db)
    assert "REGRESSION" in stdout and "gate: FAIL" in stdout


def test_compare_refuses_other_suites_protocols_and_weights(scored_runs, tmp_path, cli):
    out, ids = scored_runs
    db = tmp_path / "copy.sqlite"
    shutil.copyfile(out / "vgbench.sqlite", db)
    con = sqlite3.connect(db)
    con.execute("UPDATE item_metrics SET weights_sha256='abc' WHERE run_id=? AND protocol='ssim/common_metrics'",
                (ids["noisy"],))
    con.commit()
    code, _, err = cli("compare", ids["base"], ids["noisy"], "--db", db, "--metrics", "ssim")
    assert code == 3 and "different weights" in err
    code, _, err = cli("compare", ids["base"], ids["noisy"], "--db", db, "--metrics", "psnr/pooled_mse")
    assert code == 3 and "no scores" in err
    con.execute("UPDATE runs SET suite_sha256='0000', suite='other' WHERE run_id=?", (ids["noisy"],))
    con.commit()
    con.close()
    code, _, err = cli("compare", ids["base"], ids["noisy"], "--db", db)
    assert code == 3 and "different prompt suites" in err


# ---- the site ------------------------------------------------------------------------------------------------------
def test_leaderboard_build_shows_the_shipped_i2v_table(scored_runs, tmp_path, cli):
    """`--published vbench-i2v` picks its scheme; another --scheme with it is refused with the fix."""
    out, _ = scored_runs
    code, stdout, err = cli("leaderboard", "build", "--db", out / "vgbench.sqlite", "--out", tmp_path / "site",
                            "--published", "vbench-i2v", "--no-gallery", "--json")
    assert code == 0, err
    res = json.loads(stdout)
    assert res["published_rows"] == 11
    page = (tmp_path / "site" / "index.html").read_text()
    assert "DynamiCrafter-1024" in page and "huggingface.co/spaces/Vchitect/VBench_Leaderboard" in page
    md = (tmp_path / "site" / "leaderboard.md").read_text()
    assert "| Magi-1 |" in md and "89.28" in md
    code, _, err = cli("leaderboard", "build", "--db", out / "vgbench.sqlite", "--out", tmp_path / "s2",
                       "--scheme", "vbench", "--published", "vbench-i2v")
    assert code != 0 and "--scheme vbench-i2v" in err


def test_leaderboard_site_escapes_exports_and_renders(scored_runs, tmp_path, cli):
    out, ids = scored_runs
    db = tmp_path / "lb.sqlite"
    shutil.copyfile(out / "vgbench.sqlite", db)
    con = sqlite3.connect(db)
    evil = "<script>alert(1)</script>"
    con.execute("UPDATE runs SET model=?, config_json=json_set(config_json, '$.label', ?) WHERE run_id=?",
                    (evil, evil, ids["noisy"]))  # a hostile label and model name
    con.execute("DELETE FROM set_metrics WHERE run_id=?", (ids["ref"],))  # the reference run is not a contestant
    con.commit()
    con.close()
    site = tmp_path / "site"
    published = shared_path("data", "vbench", "published_scores.csv")
    code, stdout, err = cli("leaderboard", "build", "--db", db, "--out", site, "--scheme", "vbench",
                            "--published", published, "--json")
    assert code == 0, err
    res = json.loads(stdout)
    assert res["rows"] == 3 and res["published_rows"] >= 16
    assert "temporal_flickering/vbench" in res["columns"]
    page = (site / "index.html").read_text()
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('<tr data-run="') == 3 and 'class="badge pub">published' in page
    drill = (site / "runs" / f"{ids['noisy']}.html").read_text()
    assert evil not in drill and "a red circle moving left on a blue background" in drill
    assert len(list((site / "media" / ids["base"]).glob("*.gif"))) == 16
    csv_text = (site / "leaderboard.csv").read_text()
    assert csv_text.count("measured") == 3 and "published" in csv_text
    md = (site / "leaderboard.md").read_text()
    assert "&lt;script&gt;" in md and evil not in md

    from vgbench.leaderboards.check_site import check_site, find_chromium

    if find_chromium() is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium): rendering not checked here; "
                    "`python -m leaderboards.check_site SITE` does it")
    r = check_site(site)
    assert r["rows"] == 3 and r["rows_expected"] == 3 and r["radar_drawn"] == r["radar_expected"]
    assert r["charts_drawn"] == r["charts_expected"] > 0
    assert r["js_errors"] == 0 and r["console_errors"] == [] and not r["alerted"]
    assert r["screenshot"] and (site / "screenshot.png").stat().st_size > 10_000


def test_leaderboard_refuses_mixed_suites(scored_runs, tmp_path, cli):
    out, ids = scored_runs
    db = tmp_path / "mixed.sqlite"
    shutil.copyfile(out / "vgbench.sqlite", db)
    con = sqlite3.connect(db)
    con.execute("UPDATE runs SET suite='other' WHERE run_id=?", (ids["seed"],))
    con.commit()
    con.close()
    code, _, err = cli("leaderboard", "build", "--db", db, "--out", tmp_path / "s")
    assert code == 3 and "several suites" in err
    code, _, err = cli("leaderboard", "build", "--db", db, "--out", tmp_path / "s", "--suite", "other", "--json")
    assert code == 0


def test_aggregation_tables_per_run_prompt_category(scored_runs, cli):
    out, ids = scored_runs
    db = out / "vgbench.sqlite"
    code, stdout, _ = cli("leaderboard", "table", "--db", db, "--by", "run", "--run", ids["base"], "--json")
    rows = json.loads(stdout)
    tf = next(r for r in rows if r["protocol"] == "temporal_flickering/vbench")
    assert code == 0 and tf["n_prompts"] == 8 and tf["n_items"] == 16 and tf["ci_low"] < tf["value"] < tf["ci_high"]
    code, stdout, _ = cli("leaderboard", "table", "--db", db, "--by", "prompt", "--run", ids["base"], "--json")
    assert len(json.loads(stdout)) == 8
    code, stdout, _ = cli("leaderboard", "table", "--db", db, "--by", "category", "--run", ids["noisy"], "--json")
    cats = {r["category"]: r for r in json.loads(stdout)}
    assert {"motion", "static"} <= set(cats)  # the shapes suite's prompt tags
    assert cats["static"]["temporal_flickering/vbench"] < 1.0  # noise flickers even on still shapes
