"""``folder``: pre-generated videos (API models, other people's runs) as a generator, plus an integrity check.

Layout::

    my_model_videos/
      manifest.json          # optional but recommended
      <files>

``manifest.json`` records the model and its settings (they enter the item ids and the run's provenance)::

    {"model": "kling-1.6", "settings": {"mode": "high-performance"}, "generated_by": "...", "date": "2026-01-31",
     "fps": 30, "width": 1280, "height": 720, "frames": 153,
     "items": [{"prompt_id": "red-circle-left-1a2b3c", "sample": 0, "file": "0001.mp4", "seed": 42}, ...]}

Without ``items`` a file is found by name, in this order: ``{prompt_id}-{i}.ext``, ``{prompt_id}/{i}.ext`` and
VBench's ``{prompt text}-{i}.ext``. fps, size and frame count default to those of the first video.
The runner copies each file into the run folder byte for byte (no re-encode) after checking it decodes.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vgbench.bench.errors import ConfigError, GenerationError, TruncatedVideoError, VideoError
from vgbench.bench.manifest import MANIFEST_NAME, read_manifest
from vgbench.bench.video import VIDEO_EXTENSIONS, Video, probe_video, read_video
from vgbench.reference_models.base import Capabilities, GenerationRequest
from vgbench.reference_models.builtin.replay import list_videos

class FolderGenerator:
    """Serves pre-generated videos from a folder (see module docstring)."""

    name = "folder"
    summary = "pre-generated videos in a folder with an optional manifest.json (API models)"
    #: what ``NAME:ARG`` takes
    argument = "FOLDER"

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).expanduser().resolve()
        if not self.folder.is_dir():
            raise ConfigError(f"folder: {self.folder} is not a folder; use --model folder:/path/to/videos")
        self.manifest = read_manifest(self.folder)
        self.model_id = f"folder:{self.manifest.get('model') or self.folder.name}"
        self._index: dict[tuple[str, int], Path] = {}
        self._seeds: dict[tuple[str, int], Any] = {}
        for k, it in enumerate(self.manifest.items):
            if it.prompt_id is None:
                raise ConfigError(f"{self.folder / MANIFEST_NAME}: items[{k}] needs 'prompt_id' (and 'file', "
                                  "optionally 'sample', an integer) to serve as a generator")
            key = (it.prompt_id, it.sample or 0)
            self._index[key] = self.folder / it.file
            self._seeds[key] = it.seed
        fps, w, h, n = (self.manifest.get(k) for k in ("fps", "width", "height", "frames"))
        if None in (fps, w, h, n):
            first = next(iter(self._index.values()), None) or next(iter(list_videos(self.folder)), None)
            if first is None:
                raise ConfigError(f"folder: no videos under {self.folder}")
            try:
                info = probe_video(first)
                probe_frames = info.shown_frames or read_video(first, info=info).num_frames
            except VideoError as e:
                raise ConfigError(f"folder: cannot read the first video to learn fps/size: {e}") from e
            fps, w, h, n = fps or info.fps, w or info.width, h or info.height, n or probe_frames
        self.capabilities = Capabilities(
            tasks=("t2v", "i2v", "v2v"), default_frames=int(n), default_fps=float(fps), default_width=int(w),
            default_height=int(h), license=str(self.manifest.get("license", "as the videos' owner states")),
            memory="none (reads files)", description=f"pre-generated videos in {self.folder}")
        self._manifest_sha256 = self.manifest.header_sha256()

    def settings(self) -> dict:
        return {"model": self.manifest.get("model") or self.folder.name, "settings": self.manifest.get("settings", {}),
                "manifest_sha256": self._manifest_sha256}

    def find(self, request: GenerationRequest) -> Path | None:
        """The file for ``request`` (by manifest entry, then by naming convention), or None."""
        key = (request.prompt_id, request.sample_index)
        if key in self._index:
            return self._index[key]
        i = request.sample_index
        for ext in VIDEO_EXTENSIONS:
            for cand in (self.folder / f"{request.prompt_id}-{i}{ext}", self.folder / request.prompt_id / f"{i}{ext}",
                         self.folder / f"{request.prompt}-{i}{ext}"):
                try:
                    if cand.is_file():
                        return cand
                except OSError:  # e.g. a prompt longer than the file-name limit
                    continue
        return None

    def source_file(self, request: GenerationRequest) -> Path:
        """The runner copies this file into the run folder unchanged."""
        path = self.find(request)
        if path is None:
            raise GenerationError(f"no video for prompt {request.prompt_id!r} sample {request.sample_index} in "
                                  f"{self.folder} (looked for the manifest entry, {request.prompt_id}-"
                                  f"{request.sample_index}.mp4, {request.prompt_id}/{request.sample_index}.mp4 and "
                                  f"VBench's '<prompt>-{request.sample_index}.mp4')")
        if not path.is_file():
            raise GenerationError(f"{path}: listed in the manifest but missing")
        return path

    def generate(self, request: GenerationRequest) -> Video:
        return read_video(self.source_file(request))


@dataclass
class IntegrityReport:
    """Problems found in a folder of videos (``kind`` ∈ missing, corrupt, truncated, frames, fps, size, extra), and
    information that is not a fault (``notes``: display rotation, edit lists, variable frame rate, bit depth, colour
    tags; each ``{"file", "detail"}``)."""

    folder: str
    checked: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    expected: dict[str, Any] = field(default_factory=dict)
    #: where each expectation came from: "given", "manifest.json" or "inferred: the majority, K of N videos"
    expected_source: dict[str, Any] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, where: str, detail: str) -> None:
        self.problems.append({"kind": kind, "file": where, "detail": detail})

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "checked": self.checked, "ok": self.ok, "expected": self.expected,
                "expected_source": self.expected_source,
                "problems": self.problems, "counts": dict(Counter(p["kind"] for p in self.problems)),
                "notes": self.notes}


def check_folder(folder: str | Path, suite=None, samples: int | None = None, frames: int | None = None,
                 fps: float | None = None, size: tuple[int, int] | None = None, progress: bool = False) -> IntegrityReport:
    """Check a folder of videos: every expected video present (when a suite is given), every file decodes fully,
    and frame count, fps and size agree with the expectation (given, the manifest's, or the majority's)."""
    from vgbench.bench.progress import progress as progress_of

    folder = Path(folder).expanduser().resolve()
    report = IntegrityReport(str(folder))
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder")
    manifest = read_manifest(folder)
    files = list_videos(folder)
    if suite is not None:
        gen = FolderGenerator(folder) if (manifest or files) else None
        for p in suite.prompts:
            for i in range(suite.samples_for(p, samples)):
                req = GenerationRequest(p.id, p.text, i, 1, 1.0, 1, 1, sample_index=i)
                if gen is None or gen.find(req) is None:
                    report.add("missing", f"{p.id} sample {i}", f"no video for prompt {p.text!r}")
    for it in manifest.items:
        if not (folder / it.file).is_file():
            report.add("missing", it.file, f"listed in {MANIFEST_NAME} but not in the folder")
    if not files:
        report.add("missing", str(folder), "no video files in this folder (looked for "
                                           f"{', '.join(VIDEO_EXTENSIONS)})")
    infos = {}
    for path in progress_of(files, desc="checking", enabled=progress):
        rel = str(path.relative_to(folder))
        try:  # the same decoder and rules as evaluate
            info = probe_video(path)
            v = read_video(path, info=info, strict=True)  # one thread: damaged frames are flagged
            infos[rel] = (v.num_frames, round(v.fps, 3), (v.width, v.height))
            report.notes.extend({"file": rel, "detail": d} for d in info.information())
        except TruncatedVideoError as e:
            report.add("truncated", rel, e.reason)
        except VideoError as e:
            report.add("corrupt", rel, e.reason)
        report.checked += 1
    want_frames = frames or manifest.get("frames")
    want_fps = fps or manifest.get("fps")
    want_size = size or ((manifest["width"], manifest["height"]) if "width" in manifest and "height" in manifest else None)
    source = {k: ("given" if given else "manifest.json") for k, given in
              (("frames", frames), ("fps", fps), ("size", size))}
    for k, v in (("frames", want_frames), ("fps", want_fps), ("size", want_size)):
        if not v:
            source[k] = None
    if infos:
        def majority(k, i):
            value, count = Counter(v[i] for v in infos.values()).most_common(1)[0]
            how = "the majority" if 2 * count > len(infos) else "the most common value (no majority)"
            source[k] = f"inferred: {how}, {count} of {len(infos)} videos"
            return value
        want_frames = want_frames or majority("frames", 0)
        want_fps = want_fps or majority("fps", 1)
        want_size = tuple(want_size) if want_size else majority("size", 2)
    report.expected = {"frames": want_frames, "fps": want_fps, "size": list(want_size) if want_size else None}
    report.expected_source = source

    def why(k: str) -> str:
        return f" ({source[k]})" if source.get(k, "").startswith("inferred") else ""
    for rel, (n, f, s) in infos.items():
        if want_frames and n != int(want_frames):
            report.add("frames", rel, f"{n} frames, expected {want_frames}{why('frames')}")
        if want_fps and abs(f - float(want_fps)) > 0.01:
            report.add("fps", rel, f"{f} fps, expected {want_fps}{why('fps')}")
        if want_size and tuple(s) != tuple(want_size):
            report.add("size", rel, f"{s[0]}x{s[1]}, expected {want_size[0]}x{want_size[1]}{why('size')}")
    return report
