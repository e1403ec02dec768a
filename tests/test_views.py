"""What a user sees of runs in every view (issue 18): runs told apart by label and id, numerical noise reported as a
tie, one interval method in every view."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from vgbench.bench.store import ResultsStore
from vgbench.metrics.base import MetricResult


@pytest.fixture(scope="module")
def two_noise_runs(tmp_path_factory):
    """Two runs of one model with different arguments, and a third with a human label (one output folder)."""
    from vgbench.bench.cli import main

    out = tmp_path_factory.mktemp("views") / "out"
    common = ["--suite", "smoke", "--samples", "1", "--frames", "4", "--size", "16x16", "--out", str(out),
              "--metrics", "temporal_flickering", "--no-progress"]
    for args in (["--model", "noisy-shapes:2"], ["--model", "noisy-shapes:8"],
                 ["--model", "shapes", "--label", "baseline renderer"]):
        assert main(["run", *args, *common]) == 0
    with ResultsStore(out / "vgbench.sqlite") as s:
        ids = [r["run_id"] for r in s.runs()]
    return out, ids


def test_runs_of_one_model_with_different_arguments_are_told_apart(two_noise_runs, cli, tmp_path):
    out, (a, b, c) = two_noise_runs
    db = out / "vgbench.sqlite"
    code, _, err = cli("leaderboard", "build", "--db", db, "--out", tmp_path / "site")
    assert code == 0, err
    md = (tmp_path / "site" / "leaderboard.md").read_text()
    assert md.splitlines()[0].startswith("| model | run | source |")
    for label, rid in (("noisy-shapes:2", a), ("noisy-shapes:8", b), ("baseline renderer", c)):
        assert f"| {label} | {rid} | measured |" in md
    rows = list(csv.DictReader(open(tmp_path / "site" / "leaderboard.csv")))
    assert {(r["model"], r["run_id"]) for r in rows} == {("noisy-shapes:2", a), ("noisy-shapes:8", b),
                                                        ("baseline renderer", c)}
    assert "noisy-shapes:8" in (tmp_path / "site" / "index.html").read_text()
    code, _, err = cli("results", "export", "--db", db, "--out", tmp_path / "items.csv")
    assert code == 0, err
    labels = {r["label"] for r in csv.DictReader(open(tmp_path / "items.csv"))}
    assert labels == {"noisy-shapes:2", "noisy-shapes:8", "baseline renderer"}
    code, out_text, _ = cli("compare", a, b, "--db", db)
    assert out_text.startswith(f"base noisy-shapes:2 ({a}) vs candidate noisy-shapes:8 ({b})")
    code, out_text, _ = cli("compare", "baseline renderer", "noisy-shapes:8", "--db", db)  # runs named by label
    assert out_text.startswith(f"base baseline renderer ({c})")


def test_every_view_shows_the_same_interval_and_names_its_method(two_noise_runs, cli, tmp_path):
    out, (a, _, _) = two_noise_runs
    db = out / "vgbench.sqlite"
    run_dir = next(p for p in out.iterdir() if p.is_dir() and p.name.endswith(a))
    code, js, err = cli("evaluate", run_dir, "--metrics", "temporal_flickering", "--json", "--no-progress")
    assert code == 0, err
    result = json.loads(js)["metrics"]["temporal_flickering"]
    lo, hi = result["ci95"]
    assert result["ci_method"].startswith("nested bootstrap over prompts")
    from vgbench.leaderboards.summary import format_value

    shown = format_value(result["value"], [lo, hi])
    cli("leaderboard", "build", "--db", db, "--out", tmp_path / "site")
    md = (tmp_path / "site" / "leaderboard.md").read_text()
    row = next(line for line in md.splitlines() if f"| {a} |" in line)
    assert shown in row and "nested bootstrap over prompts" in md
    assert "nested bootstrap over prompts" in (tmp_path / "site" / "index.html").read_text()
    from vgbench.leaderboards.aggregate import per_run
    from vgbench.leaderboards.summary import format_summary, summary_rows

    with ResultsStore(db) as s:
        text = format_summary(summary_rows(s, [a]))
        pr = per_run(s, [a]).iloc[0]
    assert format_value(result["value"], [lo, hi], compact=True) in text and "nested bootstrap over prompts" in text
    assert (pr["ci_low"], pr["ci_high"]) == (lo, hi) and pr["ci_method"] == result["ci_method"]


def _store_run(store, run_id, values, prompts):
    store.upsert_run(run_id, "evaluation", "m", "suite", "abc", None, {"model": run_id}, {})
    store.upsert_items(run_id, [{"item_key": f"i{k}", "prompt_id": p, "status": "ok"} for k, p in enumerate(prompts)])
    store.put_item_metrics([{"run_id": run_id, "item_key": f"i{k}", "metric": "ssim", "protocol": "ssim/x",
                             "video_sha256": f"{run_id}{k}", "value": v, "weight": 1.0, "status": "ok"}
                            for k, v in enumerate(values)])
    store.put_set_metric(run_id, "", MetricResult("ssim", "ssim/x", float(np.mean(values)), True, "per_item",
                                                  n_items=len(values)))


def test_floating_point_noise_is_a_tie_not_an_effect(tmp_path, cli):
    """Found: byte-identical videos compared as delta +1.388e-17, d_z +0.35, and one of two tied rows bolded."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0.98, 1.0, 12)
    noisy = base.copy()
    noisy[::3] = np.nextafter(noisy[::3], 2.0)  # a last-bit difference, as a reordered sum gives
    prompts = [f"p{k // 2}" for k in range(12)]
    db = tmp_path / "db.sqlite"
    with ResultsStore(db) as s:
        _store_run(s, "base", base, prompts)
        _store_run(s, "cand", noisy, prompts)
        _store_run(s, "worse", base - 0.01, prompts)
    from vgbench.leaderboards.compare import compare_runs, format_report

    with ResultsStore(db) as s:
        report = compare_runs(s, "base", "cand")
        (m,) = report.metrics
        assert m.comparison.delta != 0 and m.tie and not m.regression and not m.improvement
        assert m.to_dict()["effect_size_dz"] is None and m.to_dict()["tie"] is True
        assert 0 < m.comparison.p_value <= 1 and m.to_dict()["p_value"] == m.comparison.p_value  # still reported
        assert m.comparison.low <= m.comparison.delta <= m.comparison.high  # and the interval of the delta
        text = format_report(report)
        assert "tie (|delta| <= numerical resolution" in text and "+0.35" not in text
        real = compare_runs(s, "base", "worse").metrics[0]
        assert not real.tie and real.regression  # a real difference is not swallowed
    code, _, err = cli("leaderboard", "build", "--db", db, "--out", tmp_path / "site")
    assert code == 0, err
    assert 'class="best"' not in (tmp_path / "site" / "index.html").read_text()  # two tied best rows: no bold
    code, _, err = cli("leaderboard", "build", "--db", db, "--out", tmp_path / "site2", "--run", "base", "--run", "worse")
    assert code == 0, err
    assert 'class="best"' in (tmp_path / "site2" / "index.html").read_text()


# ---- units and inference said out loud -----------------------------------------------------------------------------
def test_a_noise_level_that_rounds_away_is_a_warning_and_units_are_documented(tmp_path, cli):
    code, _, err = cli("generate", "--model", "noisy-shapes:0.05", "--suite", "smoke", "--samples", "1",
                       "--frames", "4", "--size", "32x32", "--out", tmp_path / "o", "--no-progress")
    assert code == 0 and "warning: noisy-shapes:0.05: SIGMA is in 0–255 pixel units" in err
    assert "noisy-shapes:12.75" in err  # what the user probably meant
    code, _, err = cli("generate", "--model", "noisy-shapes:8", "--suite", "smoke", "--samples", "1",
                       "--frames", "4", "--size", "32x32", "--out", tmp_path / "o", "--no-progress")
    assert code == 0 and "warning" not in err
    code, out, _ = cli("models", "show", "noisy-shapes")
    assert code == 0 and "sigma (default 8.0): SIGMA: standard deviation of the added noise in 0–255 pixel units" \
        in " ".join(out.split())
    code, out, _ = cli("models", "show", "noisy-shapes", "--json")
    assert json.loads(out)["parameters"][0]["name"] == "sigma"


def test_check_says_which_expectations_it_inferred(tmp_path, cli):
    from tests.conftest import write_clip

    (tmp_path / "v").mkdir()
    for i in range(3):
        write_clip(tmp_path / "v" / f"a{i}.mp4", np.full((8, 32, 32, 3), 40 * i, np.uint8))
    write_clip(tmp_path / "v" / "short.mp4", np.zeros((6, 32, 32, 3), np.uint8))
    code, out, _ = cli("check", tmp_path / "v", "--no-progress")
    assert code == 5
    assert "expected frames 8  (inferred: the majority, 3 of 4 videos)" in out
    assert "short.mp4: 6 frames, expected 8 (inferred: the majority, 3 of 4 videos)" in out
    code, out, _ = cli("check", tmp_path / "v", "--no-progress", "--frames", "6", "--json")
    rep = json.loads(out)
    assert rep["expected_source"]["frames"] == "given" and rep["expected_source"]["size"].startswith("inferred")


def test_a_scheme_over_a_subset_of_its_dimensions_warns(two_noise_runs, cli, tmp_path):
    out, (a, _, _) = two_noise_runs
    code, _, err = cli("leaderboard", "build", "--db", out / "vgbench.sqlite", "--out", tmp_path / "s",
                       "--scheme", "vbench", "--run", a)
    assert code == 0
    assert f"warning: noisy-shapes:2 ({a}): scheme vbench uses 16 dimensions, this run has 1" in err


# ---- charts for looking --------------------------------------------------------------------------------------------
def _runs(values: dict[str, list[float]], hib: bool = True) -> list[dict]:
    """Leaderboard rows (as collect_runs makes them) with one column per metric."""
    names = list(values)
    n = len(next(iter(values.values())))
    return [{"run_id": f"run{i:08d}", "model": f"a-rather-long-model-name-{i}:with-arguments",
             "columns": {m: {"value": values[m][i], "ci": [values[m][i] - 0.001, values[m][i] + 0.001],
                             "higher_is_better": hib} for m in names}} for i in range(n)]


def test_radar_needs_three_metrics_and_charts_zoom_to_the_data():
    from vgbench.leaderboards.site import interval_charts, radar_traces

    one = _runs({"temporal_flickering/vbench": [0.96, 0.99]})
    assert radar_traces(one, ["temporal_flickering/vbench"]) == []  # one spoke means nothing
    three = _runs({"a": [0.1, 0.2], "b": [0.3, 0.1], "c": [0.5, 0.6]})
    assert len(radar_traces(three, ["a", "b", "c"])) == 2
    (chart,) = interval_charts(one, ["temporal_flickering/vbench"])
    lo, hi = chart["range"]
    assert 0.9 < lo < 0.959 and 0.991 < hi < 1.0 and not chart["zero_in_range"]  # 0.96 vs 0.99 visibly apart
    assert chart["baseline"] == 0.96 and chart["baseline_label"].startswith("baseline: a-rather-long-model-name-0")
    assert all("<br>" in x for x in chart["x"])  # long labels wrapped, not cut off
    for i, x in enumerate(chart["x"]):  # nothing cut: the whole label and run id, only broken into lines
        assert x.replace("<br>", "").replace(" ", "") == f"a-rather-long-model-name-{i}:with-arguments(run0000000{i})"


def test_the_category_table_is_a_category_by_run_grid(tmp_path, cli):
    out = tmp_path / "out"
    for model in ("shapes", "noisy-shapes:8"):
        code, _, err = cli("run", "--model", model, "--suite", "shapes", "--samples", "1", "--frames", "8",
                           "--size", "32x32", "--out", out, "--metrics", "temporal_flickering", "--no-progress")
        assert code == 0, err
    code, _, err = cli("leaderboard", "build", "--db", out / "vgbench.sqlite", "--out", tmp_path / "site")
    assert code == 0, err
    page = (tmp_path / "site" / "index.html").read_text()
    grid = page[page.index('<table class="sortable heatgrid">'):]
    grid = grid[:grid.index("</table>")]
    head = grid[:grid.index("</thead>")]
    assert head.count("</th>") == 3 and "noisy-shapes:8" in head and "shapes" in head  # category + one column per run
    assert grid.count("<tr>") >= 3 and 'class="heat"' in grid  # one row per category, shaded cells


# ---- docs kept true ------------------------------------------------------------------------------------------------
def test_readme_tour_names_every_built_in_suite():
    import re
    from pathlib import Path

    from vgbench.prompts import list_builtin_suites

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    listed = re.search(r"vgbench prompts list\s+# built-in suites: ([\w, -]+)", readme).group(1)
    assert sorted(x.strip() for x in listed.split(",")) == list_builtin_suites()


def test_weights_list_names_a_user_for_every_file_and_aligns(cli):
    code, out, _ = cli("weights", "list")
    assert code == 0 and "used by -;" not in out and "used by ;" not in out
    rows = [ln for ln in out.splitlines()[1:] if ln and not ln.startswith(" ") and not ln.startswith("which")]
    starts = {ln.index(ln.split()[1]) for ln in rows}  # the file-name column starts at one place
    assert len(starts) == 1, starts


# ---- found by a new user trying the above --------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--model", "noisy-shapes:8", "--model-arg", "sigma=2"], "sigma is given twice"),
    (["--model", "noisy-shapes:8", "--model-arg", "sigm=2"], "did you mean 'sigma'"),
    (["--model", "shapes", "--model-arg", "foo=1"], "model 'shapes' takes no --model-arg"),
])
def test_bad_model_args_are_usage_errors_not_crashes(tmp_path, cli, args, message):
    code, _, err = cli("generate", *args, "--suite", "smoke", "--out", tmp_path / "o", "--no-progress")
    assert code == 2 and message in err and "internal error" not in err


def test_model_arg_can_give_the_colon_argument(tmp_path, cli):
    code, _, err = cli("generate", "--model", "noisy-shapes", "--model-arg", "sigma=2", "--suite", "smoke",
                       "--samples", "1", "--frames", "4", "--size", "16x16", "--out", tmp_path / "o", "--no-progress")
    assert code == 0, err


def test_the_gate_warns_when_too_few_prompts_can_never_fail(tmp_path, cli):
    db = tmp_path / "db.sqlite"
    prompts = [f"p{k}" for k in range(5)]
    with ResultsStore(db) as s:
        _store_run(s, "base", np.full(5, 0.99), prompts)
        _store_run(s, "worse", np.full(5, 0.95) + np.arange(5) * 1e-3, prompts)
    code, out, err = cli("compare", "base", "worse", "--db", db, "--fail-on-regression")
    assert code == 0 and "smallest p-value a sign-flip test can give is 2/2^5 = 0.0625 > alpha 0.05" in out
    assert "at least 6 prompts" in out
    for bad in ("nan", "inf", "-0.1"):
        code, _, err = cli("compare", "base", "worse", "--db", db, "--tolerance", f"ssim={bad}")
        assert code == 2 and "finite number >= 0" in err


def test_lopsided_intervals_are_shown_as_brackets():
    from vgbench.leaderboards.summary import format_value

    assert format_value(1.6475, [1.9386, 55.73]) == "1.6475 [1.9386, 55.7300]"  # the value outside its interval
    assert format_value(97.04, [91.98, 157.33]) == "97.04 [91.98, 157.33]"
    assert format_value(0.9938, [0.9896, 0.998]) == "0.9938 ± 0.0042"
    assert format_value(42.06, [42.0567, 42.0633]) == "42.0600 ± 0.0033"  # not "± 0.00"


def test_best_needs_two_runs_scored_on_the_same_items(tmp_path, cli):
    db = tmp_path / "db.sqlite"
    prompts = [f"p{k}" for k in range(4)]
    with ResultsStore(db) as s:
        _store_run(s, "full", np.full(4, 0.95), prompts)
        _store_run(s, "partial", np.full(3, 0.99), prompts[:3])  # one prompt not scored
    code, _, err = cli("leaderboard", "build", "--db", db, "--out", tmp_path / "a")
    assert code == 0, err
    assert 'class="best"' not in (tmp_path / "a" / "index.html").read_text()  # partial is not "best" of one
    code, _, err = cli("leaderboard", "build", "--db", db, "--out", tmp_path / "b", "--run", "full")
    assert 'class="best"' not in (tmp_path / "b" / "index.html").read_text()  # a single run is not "best"


def test_labels_in_every_table_and_kept_when_a_run_is_resumed(two_noise_runs, cli, tmp_path):
    out, (a, b, c) = two_noise_runs
    db = out / "vgbench.sqlite"
    from vgbench.leaderboards.aggregate import per_prompt

    with ResultsStore(db) as s:
        assert set(per_prompt(s)["model"]) == {"noisy-shapes:2", "noisy-shapes:8", "baseline renderer"}
    # resuming the labelled run without --label keeps its label
    code, _, err = cli("run", "--model", "shapes", "--suite", "smoke", "--samples", "1", "--frames", "4", "--size",
                       "16x16", "--out", out, "--metrics", "temporal_flickering", "--no-progress")
    assert code == 0, err
    with ResultsStore(db) as s:
        assert s.labels()[c] == "baseline renderer"
    code, _, err = cli("results", "export", "--db", db, "--out", tmp_path / "x.csv", "--run", "doesnotexist")
    assert code == 2 and "unknown run 'doesnotexist'" in err
    code, _, err = cli("results", "export", "--db", db, "--out", tmp_path / "x.csv", "--run", "noisy-shapes:8")
    assert code == 0 and {r["run_id"] for r in csv.DictReader(open(tmp_path / "x.csv"))} == {b}


def test_chart_labels_are_escaped_for_plotly():
    from vgbench.leaderboards.site import interval_charts, radar_traces

    runs = _runs({"a": [0.1, 0.2], "b": [0.3, 0.1], "c": [0.5, 0.6]})
    runs[0]["model"] = "<b>x</b> & co"
    blob = json.dumps([interval_charts(runs, ["a"]), radar_traces(runs, ["a", "b", "c"])])
    assert "<b>x</b>" not in blob and "&lt;b&gt;x&lt;/b&gt; &amp; co" in blob


def test_more_typos_get_suggestions(tmp_path, cli):
    code, _, err = cli("evaluate", tmp_path, "--metrics", "psnr/common_metric")
    assert code == 2 and "did you mean psnr/common_metrics" in err
    code, _, err = cli("evaluate", tmp_path, "--dimensions", "al")
    assert code == 2 and "did you mean 'all'" in err
    code, _, err = cli("run", "--model", "shapes", "--suite", "smok", "--out", tmp_path / "o")
    assert "did you mean 'smoke'" in err


def test_small_sayings(tmp_path, cli):
    code, _, err = cli("generate", "--model", "noisy-shapes:0", "--suite", "smoke", "--samples", "1", "--frames", "4",
                       "--size", "16x16", "--out", tmp_path / "o", "--no-progress")
    assert "noisy-shapes:0 adds no noise" in err and "all but 0" not in err
    code, out, _ = cli("models", "show", "noisy-shapes:8")
    assert code == 0 and "0–255 units" in out
    from tests.conftest import write_clip

    (tmp_path / "v").mkdir()
    for i, n in enumerate((8, 8, 6, 6)):
        write_clip(tmp_path / "v" / f"c{i}.mp4", np.zeros((n, 16, 16, 3), np.uint8))
    code, out, _ = cli("check", tmp_path / "v", "--no-progress")
    assert "the most common value (no majority), 2 of 4 videos" in out


def test_empty_label_and_zero_batch_are_usage_errors(tmp_path, cli):
    code, _, err = cli("evaluate", tmp_path, "--metrics", "psnr", "--label", "")
    assert code == 2 and "label must be a short non-empty name" in err
    code, _, err = cli("evaluate", tmp_path, "--metrics", "psnr", "--batch", "0")
    assert code == 2 and "batch must be at least 1" in err
