"""What gets evaluated: a run folder (``run.json`` + sidecars) or a plain folder of videos (with an optional
``manifest.json``, or a ``.txt`` prompt beside each video), resolved into :class:`EvalItem` s. Used by
:func:`vgbench.bench.evaluate.evaluate` and by ``vgbench refstats build``."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from vgbench.bench.fileio import StateError, display_text, read_state_json
from vgbench.bench import provenance
from vgbench.bench.errors import ConfigError
from vgbench.bench.manifest import read_manifest
from vgbench.bench.runs import read_sidecar
from vgbench.bench.video import VIDEO_EXTENSIONS


@dataclass(frozen=True)
class EvalItem:
    """One video to evaluate. ``key`` is unique within its source; ``pair_key`` matches it with a reference."""

    key: str
    path: str | None
    pair_key: str
    prompt: str | None = None
    prompt_id: str | None = None
    sample_index: int | None = None
    seed: int | None = None
    sha256: str | None = None
    error: str | None = None  # set when the item has no usable video (e.g. its generation failed)
    aux: dict = field(default_factory=dict, compare=False, hash=False)  # per-dimension auxiliary info of the prompt
    #: VBench dimensions the prompt serves (from the suite); empty = unknown, every requested dimension scores it
    dimensions: tuple[str, ...] = ()
    #: the conditioning image file of an image-to-video item (from the run's suite), and its SHA-256 at generation
    image: str | None = None
    image_sha256: str | None = None


@dataclass
class VideoSource:
    """A run folder or a plain folder of videos, resolved into items."""

    source_id: str
    kind: str  # "run" or "folder"
    root: Path
    items: list[EvalItem]
    model: str | None = None
    suite: str | None = None
    suite_sha256: str | None = None


def is_run_folder(path: Path) -> bool:
    return (path / "run.json").is_file()


#: what to do about a corrupt run.json
RUN_JSON_REPAIR = ("restore it, or delete it and run the same `vgbench run` command again (finished videos and their "
                   "sidecars are kept and not generated again)")


def load_source(path: str | Path) -> VideoSource:
    """Resolve a run folder (has ``run.json``) or a folder of videos into :class:`EvalItem` s."""
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise ConfigError(f"{root} is not a folder of videos or a run folder")
    if is_run_folder(root):
        doc = read_state_json(root / "run.json", RUN_JSON_REPAIR, keys=("run_id", "items", "settings", "suite"))
        try:
            items = []
            for it in doc["items"]:
                side = read_sidecar(root / "videos" / f"{it['item_id']}.json") or {}
                video = root / it["file"]
                error = None
                if side.get("status") != "ok" or not video.exists():
                    error = side.get("error") or "not generated yet (run `vgbench run` again to finish it)"
                items.append(EvalItem(it["item_id"], str(video), f"{it['prompt_id']}/{it['sample_index']}",
                                      it["prompt"], it["prompt_id"], it["sample_index"], it["seed"],
                                      side.get("sha256"), error, it.get("aux") or {},
                                      tuple(it.get("dimensions") or ()), it.get("image"), it.get("image_sha256")))
            return VideoSource(doc["run_id"], "run", root, items, doc["settings"]["model_id"],
                               doc["suite"]["name"], doc["suite"]["sha256"])
        except (KeyError, TypeError, AttributeError, ValueError) as e:  # valid JSON, wrong structure
            raise StateError(root / "run.json", f"does not have a run's structure ({type(e).__name__}: {e})",
                             RUN_JSON_REPAIR) from None
    manifest = read_manifest(root)
    by_file = manifest.by_file()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
    listed_missing = [m for m in manifest.items if not (root / m.file).is_file()]
    if not files and not listed_missing:
        raise ConfigError(f"no videos ({', '.join(VIDEO_EXTENSIONS)}) under {root}")
    items = []
    seen: dict[str, Path] = {}
    for p in files:
        rel = display_text(str(p.relative_to(root)))  # the key (stored, printed) of a name that is not UTF-8 is
        # escaped; the path keeps the real name, so the file opens
        m = by_file.get(Path(rel).as_posix())
        pair = f"{m.prompt_id}/{m.sample or 0}" if m else str(Path(rel).with_suffix(""))
        prompt = m.prompt if m else None
        error = None
        if prompt is None and p.with_suffix(".txt").is_file():  # API-model folders: prompt beside the video
            try:
                prompt = p.with_suffix(".txt").read_bytes().decode("utf-8").strip() or None
            except (OSError, UnicodeDecodeError) as e:
                error = f"its prompt file {display_text(str(p.with_suffix('.txt')))} is not readable UTF-8 text ({e})"
        real = p.resolve()
        if real != root and root not in real.parents:  # a symbolic link out of the folder is never read
            error = f"a symbolic link to {display_text(str(real))}, outside {display_text(str(root))}: not read"
        if rel in seen:
            raise ConfigError(f"{display_text(str(p))} and {display_text(str(seen[rel]))} have the same item key "
                              f"{rel!r} (one file name is not UTF-8 and escapes to the other's name): rename one")
        seen[rel] = p
        items.append(EvalItem(rel, str(p), pair, prompt, m.prompt_id if m else None, m.sample if m else None,
                              m.seed if m else None, error=error, aux=dict(m.aux) if m else {},
                              dimensions=m.dimensions if m else (), image=m.image if m else None))
    for m in listed_missing:  # named in the manifest but absent: a failed item, never silently left out
        items.append(EvalItem(m.file, str(root / m.file), f"{m.prompt_id}/{m.sample or 0}" if m.prompt_id else
                              str(Path(m.file).with_suffix("")), m.prompt, m.prompt_id, m.sample, m.seed,
                              error=f"listed in {root / 'manifest.json'} but missing from the folder",
                              aux=dict(m.aux), dimensions=m.dimensions))
    listing = [(it.key, Path(it.path).stat().st_size if not it.error else -1) for it in items]
    source_id = "folder-" + provenance.stable_hash({"root": str(root), "listing": listing}, length=12)
    return VideoSource(source_id, "folder", root, items, manifest.get("model") or root.name)
