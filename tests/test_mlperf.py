"""MLPerf Inference's text-to-video accuracy preset: the settings it plans, its prompts, the scoring rule against
MLPerf's own ``parse_results`` (``tests/golden/mlperf/t2v``), and a run end to end with a tiny Wan2.2 pipeline."""
from __future__ import annotations

import hashlib
import json

import pytest

from golden import reference

REF = None


def _ref() -> dict:
    global REF
    REF = REF or reference("mlperf/t2v")
    return REF


@pytest.mark.parametrize("case", ["pass", "edge", "fail", "five"])
def test_accuracy_rule_equals_mlperf_parse_results(case):
    from vgbench.leaderboards.mlperf import DIMENSIONS, verdict

    rec = _ref()["scoring_cases"][case]
    v = verdict(rec["values"], {d: "vbench-exact" for d in DIMENSIONS})
    if case == "five":  # MLPerf averages what it finds; vgbench refuses a mean over five dimensions
        assert v.accuracy is None and v.passed is None and v.missing == ["scene"]
        mean5 = sum(rec["values"].values()) / 5
        assert f"{mean5:6.4f}" == f"{rec['overall_average']:6.4f}"
        return
    assert f"{v.accuracy / 100:6.4f}" == f"{rec['overall_average']:6.4f}"
    for d in DIMENSIONS:  # each dimension line as MLPerf prints it
        assert f"  {d:30s}: {rec['values'][d]:6.4f}" in rec["printed"]
    assert v.threshold == pytest.approx(_ref()["reference"]["readme_accuracy"]["threshold_99"], abs=1e-9)
    assert v.passed is {"pass": True, "edge": True, "fail": False}[case]
    assert not v.not_exact


def test_a_substitute_dimension_marks_the_verdict_indicative():
    from vgbench.leaderboards.mlperf import format_verdict, verdict

    rec = _ref()["scoring_cases"]["pass"]
    fid = {d: "vbench-exact" for d in rec["values"]} | {"scene": "vbench-style"}
    text = format_verdict(verdict(rec["values"], fid))
    assert "PASS" in text and "not MLPerf's number: scene" in text


def test_suite_is_mlperf_prompt_file():
    from vgbench.prompts.schema import load_suite

    suite = load_suite("mlperf-t2v")
    lines = [p.text for p in suite.prompts]
    assert len(lines) == _ref()["prompts"]["count"] == 248
    assert hashlib.sha256("\n".join(lines).encode()).hexdigest() == _ref()["prompts"]["lines_sha256"]
    assert all(suite.samples_for(p) == 1 for p in suite.prompts)
    counts = {}
    for p in suite.prompts:
        counts[tuple(p.dimensions)] = counts.get(tuple(p.dimensions), 0) + 1
    assert counts == {("subject_consistency", "dynamic_degree", "motion_smoothness"): 72, ("appearance_style",): 90,
                      ("scene", "background_consistency"): 86}


def test_preset_plans_exactly_mlperf_settings(tmp_path):
    import torch

    from vgbench.bench.config import RunConfig, preset_path
    from vgbench.bench.runs import plan_run
    from vgbench.leaderboards.mlperf import DIMENSIONS

    cfg_ref = _ref()["inference_config"]
    latents = tmp_path / "fixed_latent.pt"
    torch.save(torch.zeros(1, 16, 21, 90, 160), latents)
    cfg = RunConfig.from_file(preset_path("mlperf-t2v"), model_args={"latents": str(latents)}, out=str(tmp_path))
    plan = plan_run(cfg)
    s, a = plan.settings, plan.settings["adapter_settings"]
    assert (s["width"], s["height"], s["frames"], s["fps"], s["seed"], s["samples"]) == (
        cfg_ref["width"], cfg_ref["height"], cfg_ref["num_frames"], cfg_ref["fps"], cfg_ref["seed"], 1)
    assert a["checkpoint"] == "Wan-AI/Wan2.2-T2V-A14B-Diffusers" and a["pipeline"] == "WanPipeline"
    assert a["steps"] == cfg_ref["sample_steps"] and a["guidance"] == cfg_ref["guidance_scale"]
    assert a["call"] == {"guidance_scale_2": cfg_ref["guidance_scale_2"]}
    assert a["load"] == {"boundary_ratio": cfg_ref["boundary_ratio"]}
    assert a["negative_prompt"] == cfg_ref["negative_prompt"]
    assert a["dtype"] == "bfloat16" and a["vae_fp32"] is True
    assert a["latents_sha256"] == hashlib.sha256(latents.read_bytes()).hexdigest()
    assert sorted(m.split("/")[0] for m in cfg.metrics) == sorted(DIMENSIONS)
    kw = plan.generator.call_kwargs(plan.items[0].request)
    assert kw["guidance_scale_2"] == 3.0 and kw["num_inference_steps"] == 20 and kw["latents"].shape[2] == 21
    assert kw["num_frames"] == 81 and (kw["height"], kw["width"]) == (720, 1280)
    assert kw["generator"].initial_seed() == 42


@pytest.mark.slow
def test_preset_runs_end_to_end_offline_with_a_tiny_wan22(tmp_path, cli, monkeypatch, tiny_tag2text):
    """`vgbench run --preset mlperf-t2v` with a tiny random Wan2.2 pipeline (two experts), three of MLPerf's prompts
    (one per dimension group), 5 frames at 128×128 and seeded random metric weights: it generates, scores the six
    dimensions and prints them, their mean and the verdict (marked indicative: random weights, not MLPerf's settings)."""
    import torch

    from tests.test_diffusers_adapters import build_wan22
    from vgbench.prompts.schema import dump_suite_yaml, load_suite, suite_from_prompts

    folder = tmp_path / "pipe"
    build_wan22().save_pretrained(folder)
    full = load_suite("mlperf-t2v")
    picks = [full.prompts[0], full.prompts[72], full.prompts[162]]
    suite = tmp_path / "mlperf-3.yaml"
    suite.write_text(dump_suite_yaml(suite_from_prompts("mlperf-t2v-3", picks)))
    latents = tmp_path / "fixed_latent.pt"
    torch.save(torch.randn(1, 16, 2, 16, 16, generator=torch.Generator().manual_seed(0)), latents)
    from vgbench.bench import settings

    for name, path in tiny_tag2text.items():
        monkeypatch.setenv(settings.weights_variable(name), str(path))
    monkeypatch.setenv("VGBENCH_ALLOW_RANDOM_WEIGHTS", "1")
    args = ["run", "--preset", "mlperf-t2v", "--suite", suite, "--frames", "5", "--size", "128x128",
            "--model-arg", f"checkpoint={folder}", "--model-arg", "steps=2", "--model-arg", "dtype=float32",
            "--model-arg", "device=cpu", "--model-arg", f"latents={latents}", "--out", tmp_path / "out",
            "--no-progress"]
    code, out, err = cli(*args)
    assert code in (0, 6), err  # 6: the gate failed (a tiny random model)
    assert "MLPerf text-to-video accuracy" in out and "accuracy (mean ×100)" in out
    assert ("PASS" in out) != ("FAIL" in out) and "not MLPerf's number" in out and "(indicative)" in out
    assert code == (0 if "PASS" in out else 6)
    assert "not MLPerf's settings: frames 5 (MLPerf: 81); width 128 (MLPerf: 1280)" in out
    code, out, err = cli(*args[:-1], "--json", "--no-progress")
    doc = json.loads(out)
    gate = doc["mlperf"]
    assert gate["missing"] == [] and gate["accuracy"] == pytest.approx(
        100 * sum(gate["dimensions"].values()) / 6) and gate["passed"] == (gate["accuracy"] >= 69.7752)
    run = json.loads(next((tmp_path / "out").glob("*/run.json")).read_text())
    assert run["settings"]["adapter_settings"]["steps"] == 2 and run["settings"]["fps"] == 16
    code, out, err = cli("leaderboard", "mlperf", "--db", tmp_path / "out" / "vgbench.sqlite", "--json")
    assert json.loads(out)[0]["accuracy"] == pytest.approx(gate["accuracy"])


def _store_with_run(tmp_path, settings, rows):
    from vgbench.bench.store import ResultsStore
    from vgbench.metrics.base import MetricResult
    from vgbench.prompts.schema import load_suite

    store = ResultsStore(tmp_path / "db.sqlite")
    store.upsert_run("r1", "generation", "diffusers/wan2.2-t2v-a14b", "mlperf-t2v", load_suite("mlperf-t2v").sha256,
                     str(tmp_path), {"settings": settings}, {})
    for protocol, value, fidelity, flags in rows:
        store.put_set_metric("r1", "", MetricResult(protocol.split("/")[0], protocol, value, True, "per_item",
                                                    n_items=1, flags=flags, details={"fidelity": fidelity}))
    return store


def _plan_settings(tmp_path, **model_args):
    import torch

    from vgbench.bench.config import RunConfig, preset_path
    from vgbench.bench.runs import plan_run

    latents = tmp_path / "fixed_latent.pt"
    torch.save(torch.zeros(1, 16, 21, 9, 16), latents)  # its shape does not enter the settings, only its hash
    cfg = RunConfig.from_file(preset_path("mlperf-t2v"), model_args={"latents": str(latents), **model_args},
                              out=str(tmp_path / "out"))
    return plan_run(cfg).settings


def test_verdict_counts_only_current_protocols_and_names_what_is_not_mlperf(tmp_path):
    """A value stored under an older revision (or an option variant) of a dimension is not counted; settings other
    than MLPerf's and random weights make the verdict indicative, each named."""
    from vgbench.leaderboards.mlperf import DIMENSIONS, format_verdict, run_verdict
    from vgbench.metrics.registry import create_metric

    current = {d: create_metric(f"{d}/vbench").protocol_id for d in DIMENSIONS}
    rows = [(current[d], 0.75, "vbench-exact", []) for d in DIMENSIONS]
    with _store_with_run(tmp_path, _plan_settings(tmp_path), rows) as store:
        v = run_verdict(store, "r1")
    assert v.accuracy == pytest.approx(75.0) and v.passed and not v.indicative
    stale = [(f"{d}/vbench", 0.1, "vbench-exact", []) for d in DIMENSIONS if current[d] != f"{d}/vbench"]
    assert stale, "some of the six dimensions have a revision > 1"
    rows2 = [r for r in rows if r[0] == f"{r[0].split('/')[0]}/vbench"] + stale
    (tmp_path / "b").mkdir()
    with _store_with_run(tmp_path / "b", _plan_settings(tmp_path / "b"), rows2) as store:
        v = run_verdict(store, "r1")
    assert v.accuracy is None and set(v.missing) == {s[0].split("/")[0] for s in stale}
    (tmp_path / "c").mkdir()
    rows3 = [(p, x, f, ["random weights — not comparable"] if p.startswith("scene") else []) for p, x, f, _ in rows]
    with _store_with_run(tmp_path / "c", _plan_settings(tmp_path / "c", steps="2"), rows3) as store:
        v = run_verdict(store, "r1")
    assert v.passed and v.indicative and v.not_official_weights == ["scene"]
    assert v.deviations == ["steps 2 (MLPerf: 20)"]
    text = format_verdict(v)
    assert "PASS (indicative)" in text and "not MLPerf's settings: steps 2 (MLPerf: 20)" in text


def test_gate_command_exit_codes(tmp_path, cli):
    from vgbench.leaderboards.mlperf import DIMENSIONS
    from vgbench.metrics.registry import create_metric

    current = {d: create_metric(f"{d}/vbench").protocol_id for d in DIMENSIONS}
    with _store_with_run(tmp_path, _plan_settings(tmp_path), [(current[d], 0.5, "vbench-exact", [])
                                                               for d in DIMENSIONS]):
        pass
    code, out, _ = cli("leaderboard", "mlperf", "--db", tmp_path / "db.sqlite")
    assert code == 6 and "FAIL: 50.0000 < 69.7752" in out
    code, out, _ = cli("leaderboard", "mlperf", "--db", tmp_path / "db.sqlite", "--json")
    assert code == 6 and json.loads(out)[0]["passed"] is False


def test_a_latents_file_that_is_not_a_tensor_fails_the_plan(tmp_path):
    import torch

    from vgbench.bench.errors import ConfigError
    from vgbench.reference_models.diffusers_adapters import DiffusersGenerator

    bad = tmp_path / "latent.pt"
    torch.save({"latents": torch.zeros(2)}, bad)
    with pytest.raises(ConfigError, match="holds a dict, not a tensor"):
        DiffusersGenerator("wan2.2-t2v-a14b", latents=str(bad))
