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
def test_preset_runs_end_to_end_offline_with_a_tiny_wan22(tmp_path, cli, monkeypatch):
    """`vgbench run --preset mlperf-t2v` with a tiny random Wan2.2 pipeline (two experts), three of MLPerf's prompts
    (one per dimension group), 5 frames at 128×128 and seeded random metric weights: it generates, scores the six
    dimensions and prints them, their mean and the verdict (marked indicative: random weights, BLIP scene)."""
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
    from golden.tiny_blip import blip_captioner

    blip = blip_captioner(tmp_path / "blip", ["a", "of", "the", "alley", "beach", "street"])
    monkeypatch.setenv("VGBENCH_BLIP", str(blip))
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
