"""The CLI contract that scripts rely on, help texts, exit codes, the demo, the torchvision compatibility module."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vgbench.bench.cli import build_parser
from tests.conftest import REPO


def _subcommands(parser):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield [name], sub
                for rest, subsub in _subcommands(sub):
                    yield [name, *rest], subsub


def test_every_command_has_help_that_explains_its_options(cli):
    code, out, _ = cli("--help")
    assert code == 0 and "exit codes" in out
    seen = 0
    for path, sub in _subcommands(build_parser()):
        code, out, _ = cli(*path, "--help")
        assert code == 0, path
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"vgbench {' '.join(path)} {action.option_strings[0]} has no help text"
        seen += 1
    assert seen >= 12


def test_run_contract_json(tmp_path, cli):
    code, out, err = cli("run", "--model", "static", "--suite", "smoke", "--samples", "1", "--out", tmp_path,
                         "--frames", "4", "--size", "32x32", "--json", "--no-progress")
    assert code == 0, err
    res = json.loads(out)
    tf = res["metrics"]["temporal_flickering"]
    assert tf["value"] == 1.0 and tf["protocol"] == "temporal_flickering/vbench"
    assert res["generated"] == 5


def test_evaluate_contract_json_and_static_vs_noise(tmp_path, cli):
    for model in ("static", "noise"):
        code, _, err = cli("generate", "--model", model, "--suite", "shapes", "--out", tmp_path, "--frames", "6",
                           "--size", "32x32", "--no-progress")
        assert code == 0, err
    static_dir = next(tmp_path.glob("static__*"))
    noise_dir = next(tmp_path.glob("noise__*"))
    values = {}
    for d in (static_dir, noise_dir):
        code, out, err = cli("evaluate", d, "--metrics", "temporal_flickering", "--json", "--no-progress")
        assert code == 0, err
        m = json.loads(out)["metrics"]["temporal_flickering"]
        assert isinstance(m["value"], float) and m["protocol"]
        values[d.name.split("__")[0]] = m["value"]
    assert values["static"] == 1.0 and values["noise"] < 0.7
    # paired against a run folder: pairs by prompt id and sample
    code, out, err = cli("evaluate", noise_dir, "--reference", static_dir, "--metrics", "psnr,ssim/common_metrics",
                         "--json", "--per-item", "--no-progress")
    assert code == 0, err
    res = json.loads(out)["metrics"]
    assert set(res) == {"psnr", "ssim/common_metrics"} and res["psnr"]["value"] < 12
    assert len(res["psnr"]["per_item"]) == 16


@pytest.mark.parametrize("args,code,text", [
    (["run", "--model", "nope", "--suite", "smoke"], 2, "unknown model"),
    (["run", "--model", "shapes", "--suite", "nope"], 3, "no suite named"),
    (["evaluate", "/definitely/missing", "--metrics", "psnr"], 3, "not a folder"),
    (["evaluate", ".", "--metrics", "fvd_typo"], 2, "unknown metric"),
    (["run", "--model", "shapes"], 2, "--suite"),
    (["run", "--model", "shapes", "--suite", "smoke", "--metrics", "psnr"], 2, "--reference"),
])
def test_errors_say_what_to_do_with_distinct_exit_codes(cli, args, code, text):
    got, out, err = cli(*args)
    assert got == code and text in (out + err)


def test_paired_metric_without_reference_is_explained(tmp_path, cli):
    from tests.conftest import write_clip
    import numpy as np

    write_clip(tmp_path / "a.mp4", np.zeros((3, 16, 16, 3), np.uint8))
    code, _, err = cli("evaluate", tmp_path, "--metrics", "psnr", "--db", tmp_path / "db.sqlite")
    assert code == 3 and "--reference" in err


def test_listing_commands(cli):
    code, out, _ = cli("models", "list", "--json")
    assert code == 0 and {"shapes", "folder"} <= {m["name"] for m in json.loads(out)}
    code, out, _ = cli("models", "show", "shapes")
    assert code == 0 and "procedural" in out
    code, out, _ = cli("metrics", "list")
    assert code == 0 and "psnr/pooled_mse" in out
    code, out, _ = cli("prompts", "list")
    assert code == 0 and "shapes" in out and "smoke" in out
    code, out, _ = cli("prompts", "show", "shapes", "--json")
    assert code == 0 and len(json.loads(out)["prompts"]) == 8


@pytest.mark.slow
def test_demo_twice_generates_nothing_and_prints_identical_numbers(tmp_path):
    """Acceptance: the README demo runs shapes, static (and noise) on the built-in suite, stores and summarises;
    running it again generates nothing, says so, and prints identical numbers."""
    cmd = [sys.executable, "-m", "vgbench", "demo", "--out", str(tmp_path / "out"), "--no-progress"]
    # generous limits: hang guards, not speed requirements (a slow machine must not fail them)
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=3600)
    assert first.returncode == 0, first.stderr
    for model in ("shapes", "static", "noise"):
        assert model in first.stdout
    # the README shows exactly the table the demo prints (docs kept true by this test)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("and prints:\n\n```\n", 1)[1].split("```", 1)[0]
    table = [line.rstrip() for line in first.stdout.splitlines() if line.strip()]
    assert [line.rstrip() for line in block.splitlines() if line.strip()] == table[:len(block.strip().splitlines())]
    second = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=3600)
    assert second.returncode == 0
    assert second.stdout == first.stdout
    assert second.stderr.count("nothing to generate") == 3 and "computed " not in second.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "out" / "vgbench.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM items WHERE status='ok'").fetchone()[0] == 48
        assert len(list((tmp_path / "out").glob("*__shapes__*/videos/*.mp4"))) == 48


@pytest.mark.slow
def test_torchvision_compat_makes_torchvision_importable():
    """`import vgbench` first, then torchvision (and open_clip) import on CPU torch with the CUDA-linked wheel."""
    code = ("import vgbench, vgbench.bench._torchvision_compat as c, sys; "
            "assert 'torch' not in sys.modules, 'import vgbench must stay light'; "
            "import torchvision, torchvision.models as m; m.resnet18(); "
            "import open_clip; print(c.STATUS)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=3600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() in ("native _C loaded", "schemas stubbed (C ops unavailable)", "ops already registered")


def test_every_environment_variable_is_read_in_bench_settings_and_documented():
    """One settings module reads every VGBENCH_* variable; each one named anywhere in the code is documented there."""
    import re

    from vgbench.bench import settings

    documented = {k.replace("<NAME>", "") for k in settings.VARIABLES}
    for folder in ("bench", "metrics", "prompts", "leaderboards", "reference_models"):
        for path in (REPO / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if path.name != "settings.py":
                assert not re.search(r"environ(\.get)?[\[(]\s*[\"']VGBENCH_", text), f"{path} reads a VGBENCH_ variable"
            for name in re.findall(r"VGBENCH_[A-Z0-9_]+", text):
                assert any(name == d or (d.endswith("_") and name.startswith(d)) for d in documented), (path, name)
    from vgbench.bench.cli import build_parser

    assert all(k in build_parser().epilog for k in settings.VARIABLES)


def test_json_output_is_strict_json(capsys):
    """--json never prints NaN or Infinity (not JSON): a metric with no scored item is null."""
    import json as _json
    import math

    from vgbench.bench.cli.common import emit_json

    emit_json({"metrics": {"camera_motion": {"value": math.nan, "ci": [1.0, math.inf]}}, "n": (1, 2.5)})
    out = capsys.readouterr().out
    assert "NaN" not in out and "Infinity" not in out
    assert _json.loads(out) == {"metrics": {"camera_motion": {"value": None, "ci": [1.0, None]}}, "n": [1, 2.5]}
