"""Third-party components plug in through Python entry points, without forking vgbench: a toy metric and a toy
generator in a temporary installed package (a ``.dist-info`` with ``entry_points.txt`` on ``sys.path``) are listed,
run end to end from the command line, and the registry checks what they declare."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TOY_METRIC = '''
from vgbench.metrics.base import ItemScore, Metric


class MeanBrightness(Metric):
    """Mean pixel value of a video in [0, 1] (a toy metric)."""

    name = "toy_brightness"
    summary = "mean pixel value / 255 (toy plug-in)"
    higher_is_better = True
    protocols = {"v1": "mean of every pixel of every frame, /255"}
    value_range = (0.0, 1.0)

    def score(self, video, reference=None, prompt=None):
        return ItemScore(float(video.frames.float().mean()) / 255.0)


class NotAMetric:
    name = "toy_broken"
'''

TOY_GENERATOR = '''
import numpy as np

from vgbench.bench.video import Video
from vgbench.reference_models.base import Capabilities


class GreyGenerator:
    """Uniform grey videos whose level is the seed (a toy plug-in)."""

    name = "toy-grey"
    summary = "uniform grey frames, level = seed (toy plug-in)"
    model_id = "toy-grey"
    capabilities = Capabilities(default_frames=4, default_fps=4.0, default_width=32, default_height=32)

    def settings(self):
        return {"toy": 1}

    def generate(self, request):
        level = 40 + 10 * (request.seed % 20)
        frames = np.full((request.num_frames, request.height, request.width, 3), level, np.uint8)
        return Video.from_numpy(frames, request.fps)
'''

ENTRY_POINTS = '''
[vgbench.metrics]
toy_brightness = toy_vgbench.metric:MeanBrightness
toy_broken = toy_vgbench.metric:NotAMetric
toy_needsdep = toy_vgbench.needsdep:Metric
psnr = toy_vgbench.metric:MeanBrightness

[vgbench.generators]
toy-grey = toy_vgbench.generator:GreyGenerator
toy-nogen = toy_vgbench.metric:NotAMetric
'''


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("site")
    pkg = root / "toy_vgbench"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "metric.py").write_text(textwrap.dedent(TOY_METRIC))
    (pkg / "generator.py").write_text(textwrap.dedent(TOY_GENERATOR))
    (pkg / "needsdep.py").write_text("import toy_dependency_not_installed  # noqa\n")
    dist = root / "toy_vgbench-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-vgbench\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    return root


def _vgbench(plugin_path: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(plugin_path)}
    return subprocess.run([sys.executable, "-m", "vgbench", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


def test_a_plugin_metric_and_generator_run_end_to_end(plugin_path, tmp_path):
    r = _vgbench(plugin_path, tmp_path, "metrics", "list", "--json")
    assert r.returncode == 0, r.stderr
    toy = next(m for m in json.loads(r.stdout) if m["name"] == "toy_brightness")
    assert toy["summary"] == "mean pixel value / 255 (toy plug-in)" and toy["origin"] == "entry point of toy-vgbench"
    assert toy["protocols"] == {"v1": "mean of every pixel of every frame, /255"}

    r = _vgbench(plugin_path, tmp_path, "models", "list", "--json")
    assert r.returncode == 0, r.stderr
    grey = next(m for m in json.loads(r.stdout) if m["name"] == "toy-grey")
    assert grey["origin"] == "entry point of toy-vgbench" and grey["capabilities"]["default_frames"] == 4

    r = _vgbench(plugin_path, tmp_path, "run", "--model", "toy-grey", "--suite", "smoke", "--samples", "1",
                 "--metrics", "toy_brightness", "--out", "out", "--json", "--no-progress")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    result = doc["metrics"]["toy_brightness"]
    assert result["protocol"] == "toy_brightness/v1" and result["n_items"] == doc["items"]
    assert result["value"] == pytest.approx(40 / 255)  # seed 0 for sample 0 of every prompt: level 40


def test_the_registry_refuses_a_plugin_that_is_not_a_metric(plugin_path, tmp_path):
    (tmp_path / "v").mkdir()
    r = _vgbench(plugin_path, tmp_path, "evaluate", "v", "--metrics", "toy_broken")
    assert r.returncode == 3, r.stderr
    assert "toy_broken" in r.stderr and "entry point of toy-vgbench" in r.stderr and "Metric" in r.stderr


def test_registry_contract_in_process():
    from vgbench.bench.errors import ConfigError
    from vgbench.bench.registry import Registry

    reg: Registry[type] = Registry("widget", group=None, name_attribute="name")

    @reg.register()
    class Widget:
        name = "w"

    reg.add("lazy", "vgbench.bench.errors:ConfigError", )
    assert reg.names() == ["lazy", "w"] and reg.get("w") is Widget
    with pytest.raises(ConfigError, match="registered twice"):
        reg.add("w", Widget)
    with pytest.raises(ConfigError, match="unknown widget 'nope'; available: lazy, w"):
        reg.get("nope")
    with pytest.raises(ConfigError, match="declares name"):  # ConfigError has no attribute `name` = "lazy"
        reg.get("lazy")
    reg.add("missing", "vgbench.no_such_module:X")
    with pytest.raises(ConfigError, match="cannot be imported"):
        reg.get("missing")


@pytest.mark.slow
def test_a_broken_plugin_fails_clearly_and_alone(plugin_path, tmp_path):
    # listings leave the broken entries out with a warning naming them; the good ones and the built-ins stay
    r = _vgbench(plugin_path, tmp_path, "metrics", "list", "--json")
    assert r.returncode == 0, r.stderr
    names = {m["name"] for m in json.loads(r.stdout)}
    assert {"toy_brightness", "psnr"} <= names and not {"toy_broken", "toy_needsdep"} & names
    assert "toy_needsdep" in r.stderr and "toy_dependency_not_installed" in r.stderr
    psnr = next(m for m in json.loads(r.stdout) if m["name"] == "psnr")
    assert psnr["origin"] == "vgbench"  # a plug-in reusing a built-in name is ignored, with a warning
    assert "psnr" in r.stderr and "ignored" in r.stderr
    # a plug-in whose dependency is missing: an input error naming the package, not a vgbench bug
    (tmp_path / "v").mkdir(exist_ok=True)
    r = _vgbench(plugin_path, tmp_path, "evaluate", "v", "--metrics", "toy_needsdep")
    assert r.returncode == 3 and "toy_dependency_not_installed" in r.stderr and "internal error" not in r.stderr
    # a generator entry that is not a generator
    r = _vgbench(plugin_path, tmp_path, "generate", "--model", "toy-nogen", "--suite", "smoke", "--out", "o")
    assert r.returncode == 3 and "not a generator" in r.stderr and "internal error" not in r.stderr
