"""The house rules of docs/architecture.md hold on what `pip install .` installs.

- one import namespace: the wheel holds the ``vgbench`` package and nothing else at the top level, and every package
  folder of the repository is in it (pyproject's explicit package list);
- ``import vgbench``, ``vgbench --help`` and ``vgbench metrics list`` do not import torch;
- the floors: import-linter's contracts in pyproject.toml are kept, checked on the installed layout (the wheel
  unpacked), which is what a user imports; and no import circle is left anywhere in the package.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FOLDERS = ("vgbench", "bench", "metrics", "prompts", "leaderboards", "reference_models")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the sources (nothing written into the checkout)."""
    pytest.importorskip("setuptools")
    src = tmp_path_factory.mktemp("src")
    for name in FOLDERS:
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                        str(out), str(src)], capture_output=True, text=True, timeout=3600)
    assert r.returncode == 0, r.stdout + r.stderr
    # the build is quiet: no package-discovery or licence-format warning from setuptools
    assert "absent from the `packages`" not in r.stderr and "project.license" not in r.stderr, r.stderr
    (whl,) = out.glob("vgbench-*.whl")
    return whl


def test_wheel_installs_only_the_vgbench_namespace(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"vgbench"}, tops
    # every package folder of the checkout is in the wheel (a new subpackage missing from pyproject's list fails)
    in_wheel = {str(Path(n).parent) for n in names if n.endswith("/__init__.py")}
    for folder in FOLDERS[1:]:
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO)
            assert f"vgbench/{rel}" in in_wheel, f"{rel} is not in pyproject's [tool.setuptools] packages"
    assert "vgbench/prompts/suites/smoke.yaml" in names
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "vgbench = vgbench.bench.cli:main" in entry


@pytest.fixture(scope="module")
def site(wheel, tmp_path_factory) -> Path:
    """The wheel unpacked: the layout a user imports."""
    site = tmp_path_factory.mktemp("site")
    zipfile.ZipFile(wheel).extractall(site)
    return site


_CYCLES = """
import grimp, sys
g = grimp.build_graph("vgbench")
index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)
def visit(v):  # Tarjan's strongly connected components over direct imports (module level and in functions)
    index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
    for w in g.find_modules_directly_imported_by(v):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            cycles.append(sorted(comp))
for m in sorted(g.modules):
    if m not in index:
        visit(m)
print(cycles)
"""


def test_no_import_circle_is_left(site):
    pytest.importorskip("grimp")
    r = subprocess.run([sys.executable, "-c", _CYCLES], capture_output=True, text=True, cwd=site,
                       env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site)}, timeout=3600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", f"import circles (modules that import each other, directly or not): {r.stdout}"


def test_imports_run_one_way_between_floors(site):
    pytest.importorskip("importlinter")
    exe = Path(sys.executable).parent / "lint-imports"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site)}
    # run from the unpacked wheel (lint-imports puts the working directory first on sys.path)
    r = subprocess.run([str(exe), "--no-cache", str(REPO / "pyproject.toml")], capture_output=True, text=True,
                       cwd=site, env=env, timeout=3600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout and " kept" in r.stdout


@pytest.mark.parametrize("args", [["-c", "import vgbench, vgbench.bench.errors"],
                                  ["-m", "vgbench", "--help"], ["-m", "vgbench", "metrics", "list"],
                                  ["-m", "vgbench", "models", "list"], ["-m", "vgbench", "weights", "list"],
                                  ["-m", "vgbench", "prompts", "list"], ["-m", "vgbench", "prompts", "show", "shapes"]])
def test_light_entry_points_do_not_import_torch(args, tmp_path):
    code = ("import runpy, sys; sys.argv = ['vgbench', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('vgbench', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))[:5]\n")
    if args[0] == "-c":
        code = args[1] + "\nimport sys\nassert 'torch' not in sys.modules\n"
        argv = []
    else:
        argv = args[2:]
    r = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_commands_that_read_results_do_not_import_torch(tmp_path):
    """results export, compare and leaderboard tables read the store: no torch, no model code (a fast CLI; the site
    build was checked the same way by hand: it imports no torch either)."""
    from vgbench.bench.store import ResultsStore
    from vgbench.metrics.base import MetricResult

    out = tmp_path / "out"
    out.mkdir()
    a, b = "run-a", "run-b"
    with ResultsStore(out / "vgbench.sqlite") as s:
        for run, shift in ((a, 0.0), (b, 0.01)):
            s.upsert_run(run, "evaluation", "m", "suite", "abc", None, {"model": run}, {})
            s.upsert_items(run, [{"item_key": f"i{k}", "prompt_id": f"p{k}", "status": "ok"} for k in range(4)])
            s.put_item_metrics([{"run_id": run, "item_key": f"i{k}", "metric": "ssim", "protocol": "ssim/x",
                                 "video_sha256": f"{run}{k}", "value": 0.9 + 0.01 * k + shift, "weight": 1.0,
                                 "status": "ok"} for k in range(4)])
            s.put_set_metric(run, "", MetricResult("ssim", "ssim/x", 0.915 + shift, True, "per_item", n_items=4))
    db = str(out / "vgbench.sqlite")
    commands = [["results", "export", "--db", db, "--out", str(tmp_path / "x.csv")], ["compare", a, b, "--db", db],
                ["leaderboard", "table", "--db", db]]
    code = ("import json, sys\nfrom vgbench.bench.cli import main\n"
            f"for argv in json.loads({json.dumps(json.dumps(commands))}):\n"
            "    assert main(argv) in (0, 6), argv\n"  # compare may find a difference (exit 6 only with the gate)
            "    assert 'torch' not in sys.modules, (argv, sorted(m for m in sys.modules if m.startswith('torch'))[:5])\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
