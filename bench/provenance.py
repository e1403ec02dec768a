"""Provenance recorded with every run: package versions, vgbench's git commit, platform, settings."""
from __future__ import annotations

import functools
import hashlib
import json
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = ("vgbench", "torch", "torchvision", "numpy", "scipy", "pandas", "av", "decord", "torchmetrics",
             "open-clip-torch", "timm", "pyyaml")


def package_versions(names: tuple[str, ...] = _PACKAGES) -> dict[str, str | None]:
    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


@functools.lru_cache(maxsize=8)
def git_commit(path: Path | None = None) -> str | None:
    """The git commit of the vgbench source tree (with ``-dirty`` if it has uncommitted changes), if vgbench runs from
    its own checkout (an installed vgbench inside someone else's repository reports None, not their commit). Asked
    once per process."""
    path = path or Path(__file__).resolve().parent.parent
    if not ((path / "pyproject.toml").is_file() and (path / "bench" / "provenance.py").is_file()):
        return None
    try:
        commit = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5).stdout.strip()
        if not commit:
            return None
        dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def collect() -> dict[str, Any]:
    from vgbench.bench import _torchvision_compat

    return {
        "vgbench_git_commit": git_commit(),
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "torchvision_compat": _torchvision_compat.STATUS,
        "decoding": _decoding(),
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _decoding() -> dict[str, Any]:
    """Which decoder produces the frames (with its version) and the rule that picks it (``bench.video.decode``)."""
    from vgbench.bench.video import decoders

    return {"decoder": decoders()["pyav"], "installed": decoders(),
            "rule": "PyAV + libavfilter rgb24 conversion for every file: the frames ffmpeg -pix_fmt rgb24 presents "
                    "(edit lists, display rotation and colour tags applied)"}


def stable_hash(obj: Any, length: int = 16) -> str:
    """SHA-256 (hex, first ``length`` digits) of the canonical JSON of ``obj``."""
    payload = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    # surrogatepass: a file name that is not UTF-8 (os.fsdecode gives lone surrogates) hashes too, and every valid
    # string hashes as before
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
