"""The folder manifest (``manifest.json`` beside pre-generated videos): one parser for every reader.

Read by ``vgbench evaluate DIR`` (prompts, pairing, VBench aux info and dimensions: :mod:`vgbench.bench.sources`), by
``--model folder:DIR`` (model, settings, which file answers which prompt and sample:
:mod:`vgbench.reference_models.folder`) and by ``vgbench check``. Format::

    {"model": "my-api-model", "settings": {...}, "fps": 24, "width": 1280, "height": 720, "frames": 121,
     "license": "...",
     "items": [{"file": "a/b.mp4", "prompt_id": "p1", "sample": 0, "seed": 7, "prompt": "...",
                "aux": {...}, "dimensions": ["scene"], "image": "first_frames/0001.png"}, ...]}

Every field is optional except an item's ``file``, a path relative to the folder that must stay inside it (an
absolute path or one that climbs out with ``..`` is refused: a manifest from someone else must not make vgbench copy
or read files elsewhere).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from vgbench.bench.errors import ConfigError

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class ManifestItem:
    """One ``items[]`` entry. ``file`` is the normalised relative path (``/`` separators)."""

    file: str
    prompt_id: str | None = None
    sample: int | None = None
    seed: Any = None
    prompt: str | None = None
    aux: dict[str, Any] = field(default_factory=dict)
    dimensions: tuple[str, ...] = ()
    #: the conditioning image of an image-to-video item (absolute, or relative to the manifest's folder)
    image: str | None = None


@dataclass(frozen=True)
class FolderManifest:
    """A folder's manifest; an empty one (``path`` None) when the folder has none."""

    path: Path | None = None
    header: dict[str, Any] = field(default_factory=dict)
    items: tuple[ManifestItem, ...] = ()

    def __bool__(self) -> bool:
        return self.path is not None

    def get(self, key: str, default: Any = None) -> Any:
        """A top-level field (``model``, ``settings``, ``fps``, ``width``, ``height``, ``frames``, ``license``)."""
        return self.header.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.header

    def __getitem__(self, key: str) -> Any:
        return self.header[key]

    def by_file(self) -> dict[str, ManifestItem]:
        return {it.file: it for it in self.items}

    def header_sha256(self) -> str:
        """SHA-256 of the top-level fields (everything but ``items``), canonical JSON: enters the folder model's id."""
        return hashlib.sha256(json.dumps(self.header, sort_keys=True).encode()).hexdigest()


def _relative_inside(path: Path, k: int, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: items[{k}].file must be a path relative to the folder, not {value!r}")
    p = PurePosixPath(value.replace("\\", "/"))
    if p.is_absolute() or value.startswith(("/", "\\")) or (len(value) > 1 and value[1] == ":"):
        raise ConfigError(f"{path}: items[{k}].file {value!r} is an absolute path; give it relative to the folder "
                          "(files outside the folder are never read)")
    if ".." in p.parts:
        raise ConfigError(f"{path}: items[{k}].file {value!r} leaves the folder; give a path inside it")
    root = path.parent.resolve()
    target = (root / str(p)).resolve()
    if target != root and root not in target.parents:  # a symbolic link out of the folder
        raise ConfigError(f"{path}: items[{k}].file {value!r} resolves to {target}, outside the folder (a symbolic "
                          "link?); files outside the folder are never read: copy the video into it")
    return str(p)


def read_manifest(folder: str | Path) -> FolderManifest:
    """Parse ``folder/manifest.json`` (an empty manifest when there is none).

    Raises:
        ConfigError: invalid JSON (file and line), not an object, ``items`` not a list of objects, an item without a
            ``file`` or with a file outside the folder, a non-integer ``sample`` (each naming the file and the item).
    """
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return FolderManifest()
    from vgbench.bench.safeload import load_json, read_input

    try:
        data = load_json(read_input(path), str(path))
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}:{e.lineno}: invalid JSON in the folder manifest: {e.msg}") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the folder manifest: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the manifest must be a JSON object (see `vgbench models show folder`)")
    raw = data.get("items") or []
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: 'items' must be a list of objects")
    items = []
    for k, it in enumerate(raw):
        if not isinstance(it, dict) or "file" not in it:
            raise ConfigError(f"{path}: items[{k}] must be an object with at least 'file' (and 'prompt_id', "
                              "'sample', 'prompt', 'seed', 'aux', 'dimensions', 'image')")
        image = it.get("image")
        if image is not None and (not isinstance(image, str) or not image.strip()):
            raise ConfigError(f"{path}: items[{k}].image must be the path of the conditioning image, not {image!r}")
        try:
            sample = None if it.get("sample") is None else int(it["sample"])
        except (TypeError, ValueError):
            raise ConfigError(f"{path}: items[{k}].sample must be an integer, not {it.get('sample')!r}") from None
        items.append(ManifestItem(
            _relative_inside(path, k, it["file"]), None if it.get("prompt_id") is None else str(it["prompt_id"]),
            sample, it.get("seed"), it.get("prompt"), dict(it.get("aux") or {}), tuple(it.get("dimensions") or ()),
            str((path.parent / image).resolve()) if image else None))
    return FolderManifest(path, {k: v for k, v in data.items() if k != "items"}, tuple(items))
