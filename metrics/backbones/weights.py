"""Verified weight files: where each official checkpoint comes from, its hash, and how it is found on disk.

A :class:`WeightsFile` names one official file (file name, download URLs, licence) and what is known about its
content. Publishers rarely give a SHA-256, so trust comes in levels, reported with every result:

``pinned-sha256``
    the full SHA-256 is pinned here (e.g. open_clip's OpenAI URLs carry it, or we hashed a PyPI-shipped file).
``sha256-prefix``
    the publisher's file name carries the first hex digits of the SHA-256 (pytorch-fid, torch.hub convention).
``git-blob-sha1``
    the git blob id of a copy committed to a public repository is known (``git hash-object``).
``locked``
    no published hash: the SHA-256 was recorded in the lock file on first use (trust on first use) and every later
    use is verified against it. ``locked-now`` the first time.
``user-supplied``
    a file the user named explicitly (``--weights NAME=PATH``) that is not known to be the official one (its hash
    differs from the pin/lock, or nothing is known about it): it is used if it loads strictly into the official
    layout, its SHA-256 is recorded, and every result is flagged as not comparable with published values.

Resolution order (first hit wins): the explicit path given to :func:`resolve` → the environment variable
``VGBENCH_WEIGHTS_<NAME>`` (upper case) → the user cache ``$VGBENCH_CACHE/weights/<file>`` (default
``~/.cache/vgbench/weights``) → torch.hub's checkpoint folder (``~/.cache/torch/hub/checkpoints/<file>``), where
other tools may already have put it → a download into the user cache when the machine is online. A missing file
raises :class:`WeightsMissingError` naming the URL, the expected hash and the path to place the file at.
``VGBENCH_OFFLINE=1`` (or ``HF_HUB_OFFLINE=1``) makes the download step fail at once with "offline".

The lock file (``$VGBENCH_WEIGHTS_LOCK``, default ``<cache>/weights.lock.json``) maps weight names to the SHA-256
first seen. A file whose hash disagrees with the pin or the lock is refused (:class:`WeightsHashMismatchError`).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from vgbench.bench.errors import VgbenchError

CHUNK = 1 << 20


class WeightsError(VgbenchError):
    """A weights file is missing, cannot be downloaded or fails verification."""


class WeightsMissingError(WeightsError):
    pass


class WeightsOfflineError(WeightsMissingError):
    pass


class WeightsHashMismatchError(WeightsError):
    pass


@dataclass(frozen=True)
class WeightsFile:
    """One official weights file.

    Attributes:
        name: registry key (``"i3d_pretrained_400"``), also the suffix of its environment variable.
        filename: the official file name; the cache stores it under this name.
        urls: official download URLs, tried in order.
        sha256: full pinned SHA-256, when a trusted source gives it.
        sha256_prefix: leading hex digits of the SHA-256 carried by the publisher's file name.
        git_blob_sha1: ``git hash-object`` id of a copy committed to a public repository.
        size_bytes: expected size, when known (a cheap first check).
        source: where the file and its hash come from (for people).
        license: licence of the weights.
        manual: extra instructions when there is no direct download (e.g. a Google Drive id).
        packaged: ``"module:attr"`` of a function returning the path of a copy shipped in a Python package.
        used_by: metrics that load this file directly (heads and lists no backbone entry names).
    """

    name: str
    filename: str
    urls: tuple[str, ...] = ()
    sha256: str | None = None
    sha256_prefix: str | None = None
    git_blob_sha1: str | None = None
    size_bytes: int | None = None
    source: str = ""
    license: str = "unknown"
    manual: str = ""
    packaged: str | None = None
    used_by: tuple[str, ...] = ()

    @property
    def trust(self) -> str:
        """How a file is verified when no lock entry exists yet."""
        if self.sha256:
            return "pinned-sha256"
        if self.sha256_prefix:
            return "sha256-prefix"
        if self.git_blob_sha1:
            return "git-blob-sha1"
        return "trust-on-first-use"

    @property
    def env_var(self) -> str:
        from vgbench.bench import settings

        return settings.weights_variable(self.name)


@dataclass(frozen=True)
class ResolvedWeights:
    """A verified file on disk. ``trust`` is one of the levels in the module docstring."""

    name: str
    path: Path
    sha256: str
    trust: str
    found_via: str  # "argument", "env:VAR", "cache", "torch-hub-cache", "package", "download"

    def to_dict(self) -> dict:
        return {"name": self.name, "path": str(self.path), "sha256": self.sha256, "trust": self.trust,
                "found_via": self.found_via}


# ---- locations -----------------------------------------------------------------------------------------------------
def cache_root() -> Path:
    """vgbench's user cache (``$VGBENCH_CACHE``, else ``$XDG_CACHE_HOME/vgbench``, else ``~/.cache/vgbench``)."""
    from vgbench.bench import settings

    return settings.cache_root()


def weights_dir() -> Path:
    return cache_root() / "weights"


def lock_path() -> Path:
    from vgbench.bench import settings

    return settings.weights_lock(weights_dir() / "weights.lock.json")


def torch_hub_dir() -> Path:
    from vgbench.bench import settings

    return settings.torch_hub_checkpoints()


def is_offline() -> bool:
    from vgbench.bench import settings

    return settings.offline()


# ---- hashing and the lock file ------------------------------------------------------------------------------------
def hash_file(path: Path) -> tuple[str, str]:
    """(SHA-256, git blob SHA-1) of a file in one read."""
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    blob = hashlib.sha1(f"blob {size}\0".encode())
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            sha256.update(block)
            blob.update(block)
    return sha256.hexdigest(), blob.hexdigest()


def read_lock() -> dict[str, dict]:
    p = lock_path()
    if not p.is_file():
        return {}
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise WeightsError(f"{p}:{e.lineno}: the weights lock file is not valid JSON ({e.msg}); fix or delete it") from e


def _write_lock(entries: dict[str, dict]) -> None:
    p = lock_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".lock-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(entries, f, indent=1, sort_keys=True)
    os.replace(tmp, p)


def verify(wf: WeightsFile, path: Path, record: bool = True) -> tuple[str, str]:
    """Check ``path`` against what is known about ``wf``; returns (sha256, trust level).

    Raises :class:`WeightsHashMismatchError` when the file disagrees with the pin, the hash prefix, the git blob id
    or the lock. A file with no published hash and no lock entry is recorded in the lock (``record``).
    """
    if wf.size_bytes is not None and path.stat().st_size != wf.size_bytes:
        raise WeightsHashMismatchError(
            f"{path}: {path.stat().st_size} bytes, but {wf.filename} has {wf.size_bytes} bytes: an incomplete or "
            f"different file; delete it and fetch it again (`vgbench weights fetch {wf.name}`)")
    sha256, blob = hash_file(path)

    def mismatch(what: str, expected: str, got: str):
        raise WeightsHashMismatchError(
            f"{path}: {what} is {got}, expected {expected} for {wf.filename} ({wf.source or wf.name}). "
            f"The file is corrupt or not the official one; delete it and run `vgbench weights fetch {wf.name}`")

    lock = read_lock()
    locked = lock.get(wf.name, {}).get("sha256")
    if wf.sha256:
        if sha256 != wf.sha256:
            mismatch("SHA-256", wf.sha256, sha256)
        return sha256, "pinned-sha256"
    if wf.sha256_prefix:
        if not sha256.startswith(wf.sha256_prefix):
            mismatch("SHA-256", wf.sha256_prefix + "…", sha256)
        return sha256, "sha256-prefix"
    if wf.git_blob_sha1:
        if blob != wf.git_blob_sha1:
            mismatch("git blob SHA-1", wf.git_blob_sha1, blob)
        return sha256, "git-blob-sha1"
    if locked:
        if sha256 != locked:
            mismatch(f"SHA-256 (locked in {lock_path()} on first use)", locked, sha256)
        return sha256, "locked"
    if record:
        lock[wf.name] = {"sha256": sha256, "filename": wf.filename, "size_bytes": path.stat().st_size,
                         "first_seen": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "first_path": str(path)}
        _write_lock(lock)
    return sha256, "locked-now"


# ---- resolution ---------------------------------------------------------------------------------------------------
def missing_message(wf: WeightsFile, why: str = "") -> str:
    expected = (wf.sha256 and f"SHA-256 {wf.sha256}") or (wf.sha256_prefix and f"SHA-256 starting {wf.sha256_prefix}") \
        or (wf.git_blob_sha1 and f"git blob SHA-1 {wf.git_blob_sha1}") \
        or "no published hash (its SHA-256 is recorded in the lock file on first use)"
    lines = [f"weights {wf.name!r} ({wf.filename}) not found{': ' + why if why else ''}.",
             f"  get it from: {' or '.join(wf.urls) if wf.urls else '(no direct URL)'}"]
    if wf.manual:
        lines.append(f"  {wf.manual}")
    lines += [f"  expected: {expected}",
              f"  place it at: {weights_dir() / wf.filename}",
              f"  or point to it: {wf.env_var}=/path/to/{wf.filename}",
              f"  or, on a machine with internet access: vgbench weights fetch {wf.name}"]
    return "\n".join(lines)


def candidates(wf: WeightsFile, path: str | os.PathLike | None = None) -> list[tuple[Path, str]]:
    """Where :func:`resolve` looks, in order, as (path, how it was found)."""
    out: list[tuple[Path, str]] = []
    if path:
        out.append((Path(path).expanduser(), "argument"))
    from vgbench.bench import settings

    if settings.weights_file(wf.name):
        out.append((settings.weights_file(wf.name), f"env:{wf.env_var}"))
    out.append((weights_dir() / wf.filename, "cache"))
    out.append((torch_hub_dir() / wf.filename, "torch-hub-cache"))
    if wf.packaged:
        try:
            from vgbench.bench.registry import resolve

            out.append((Path(resolve(wf.packaged)()), "package"))
        except (ImportError, AttributeError):
            pass
    return out


def resolve(wf: WeightsFile, path: str | os.PathLike | None = None, download: bool = True,
            progress: bool = True) -> ResolvedWeights:
    """Find, verify (and if allowed and online, download) ``wf``. See the module docstring for the order."""
    for p, how in candidates(wf, path):
        if how in ("argument",) or how.startswith("env:"):
            if not p.is_file():
                raise WeightsMissingError(missing_message(wf, f"{p} ({how}) does not exist"))
        if p.is_file():
            sha256, trust = verify(wf, p)
            return ResolvedWeights(wf.name, p, sha256, trust, how)
    if not download:
        raise WeightsMissingError(missing_message(wf))
    dest = fetch(wf, progress=progress)
    sha256, trust = verify(wf, dest)
    return ResolvedWeights(wf.name, dest, sha256, trust, "download")


def fetch(wf: WeightsFile, progress: bool = True, timeout: float = 20.0) -> Path:
    """Download ``wf`` into the user cache (atomically) and verify it. Raises :class:`WeightsOfflineError` when the
    machine is offline or no URL can be reached."""
    dest = weights_dir() / wf.filename
    if dest.is_file():
        verify(wf, dest)
        return dest
    if not wf.urls:
        raise WeightsMissingError(missing_message(wf, "it has no direct download URL"))
    if is_offline():
        raise WeightsOfflineError(missing_message(
            wf, "this machine is offline (VGBENCH_OFFLINE or HF_HUB_OFFLINE is set), so it cannot be downloaded"))
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in wf.urls:
        tmp = dest.with_name(f".{dest.name}.part-{os.getpid()}")
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "vgbench"})
            with urllib.request.urlopen(req, timeout=timeout) as r, open(tmp, "wb") as f:
                total = int(r.headers.get("Content-Length") or 0) or None
                from tqdm import tqdm

                with tqdm(total=total, unit="B", unit_scale=True, desc=wf.filename,
                          disable=not progress or None, leave=False) as bar:
                    while block := r.read(CHUNK):
                        f.write(block)
                        bar.update(len(block))
            try:
                verify(wf, tmp, record=False)
            except WeightsHashMismatchError as e:
                errors.append(f"{url}: {e}")
                continue
            os.replace(tmp, dest)
            return dest
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            errors.append(f"{url}: {getattr(e, 'reason', e)}")
        finally:
            if tmp.exists():
                tmp.unlink()
    raise WeightsOfflineError(missing_message(
        wf, "no download URL could be reached (is this machine offline?): " + "; ".join(errors)))


def resolve_user(wf: WeightsFile, path: str | os.PathLike) -> ResolvedWeights:
    """A file the user supplied for ``wf`` (``--weights NAME=PATH``): never refused for its hash.

    Returns trust ``pinned-sha256`` / ``sha256-prefix`` / ``git-blob-sha1`` / ``locked`` when the file is the official
    one by what is known about it, else ``user-supplied``. Nothing is written to the lock file. Raises
    :class:`WeightsMissingError` when ``path`` is not a file.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        what = "is a directory, not a file" if p.is_dir() else "no such file"
        raise WeightsMissingError(f"--weights {wf.name}={p}: {what} (give the path of a {wf.filename} you have, "
                                  "or drop the option to use the official file)")
    try:
        sha256, trust = verify(wf, p, record=False)
    except WeightsHashMismatchError:
        sha256, trust = hash_file(p)[0], "user-supplied"
    if trust == "locked-now":  # nothing published and nothing locked: we cannot tell it is the official file
        trust = "user-supplied"
    return ResolvedWeights(wf.name, p, sha256, trust, "argument")


def copy_into_cache(wf: WeightsFile, src: str | os.PathLike) -> ResolvedWeights:
    """Verify a file obtained by hand and copy it into the user cache."""
    src = Path(src)
    sha256, trust = verify(wf, src)
    dest = weights_dir() / wf.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.resolve() != dest.resolve():
        shutil.copyfile(src, dest)
    return ResolvedWeights(wf.name, dest, sha256, trust, "cache")
