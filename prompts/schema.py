"""The prompt-suite schema and loader.

A suite is a YAML file (or JSONL, one prompt object per line)::

    suite: shapes                 # name (required in YAML; JSONL takes the file name)
    version: "1"                  # bump when prompts change: results record name, version and content hash
    description: ...
    samples_per_prompt: 2         # videos per prompt (seeds base_seed + 0..n-1); a prompt may override
    prompts:
      - id: red-circle-left       # unique, [A-Za-z0-9._-], used in file names and result tables
        text: a red circle moving left on a blue background
        image: images/cat.png     # optional conditioning image (I2V), relative to the suite file
        tags: [motion, colour]    # free labels (categories) for aggregation
        dimensions: [temporal_flickering]   # dimensions this prompt serves (VBench names)
        aux:                      # per-dimension auxiliary info, keyed by dimension
          color: {color: red}
          object_class: {object: circle}
        samples: 5                # optional per-prompt override

Recognised auxiliary keys (as in VBench's ``VBench_full_info.json``): ``object`` (object_class, multiple_objects:
"a and b"), ``color``, ``spatial_relationship: {object_a, object_b, relationship}``, ``scene: {scene}``,
``appearance_style``, ``action`` (human_action). Unknown keys are kept. Validation errors name the file and line.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from vgbench.bench.errors import ConfigError, SuiteValidationError

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_PROMPT_KEYS = {"id", "text", "image", "tags", "dimensions", "aux", "samples"}
_SUITE_KEYS = {"suite", "version", "description", "samples_per_prompt", "prompts", "source"}


@dataclass(frozen=True)
class Prompt:
    """One prompt of a suite. ``image`` is an absolute path (I2V conditioning) or None."""

    id: str
    text: str
    image: str | None = None
    tags: tuple[str, ...] = ()
    dimensions: tuple[str, ...] = ()
    aux: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)
    samples: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "text": self.text}
        if self.image:
            d["image"] = self.image
        if self.tags:
            d["tags"] = list(self.tags)
        if self.dimensions:
            d["dimensions"] = list(self.dimensions)
        if self.aux:
            d["aux"] = self.aux
        if self.samples is not None:
            d["samples"] = self.samples
        return d


@dataclass(frozen=True)
class Suite:
    """A named, versioned list of prompts. ``sha256`` hashes the prompts' content (stored with every run)."""

    name: str
    prompts: tuple[Prompt, ...]
    version: str = "1"
    description: str = ""
    samples_per_prompt: int = 1
    source: str | None = None

    def __post_init__(self):
        seen: set[str] = set()
        for p in self.prompts:
            if p.id in seen:
                raise ConfigError(f"suite {self.name!r}: duplicate prompt id {p.id!r}")
            seen.add(p.id)

    @property
    def sha256(self) -> str:
        payload = json.dumps([p.to_dict() for p in self.prompts], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()

    def samples_for(self, prompt: Prompt, override: int | None = None) -> int:
        """Videos to generate for ``prompt``: the run's ``--samples`` if given, else the prompt's, else the suite's."""
        if override is not None:
            return override
        return prompt.samples if prompt.samples is not None else self.samples_per_prompt

    def get(self, prompt_id: str) -> Prompt:
        for p in self.prompts:
            if p.id == prompt_id:
                return p
        raise KeyError(prompt_id)

    def filter(self, dimension: str | None = None, tag: str | None = None) -> "Suite":
        keep = tuple(p for p in self.prompts if (dimension is None or dimension in p.dimensions)
                     and (tag is None or tag in p.tags))
        return Suite(self.name, keep, self.version, self.description, self.samples_per_prompt, self.source)


def _line_loader():
    """A YAML SafeLoader that records the 1-based line of every mapping as ``__line__``."""
    import yaml

    from vgbench.bench.safeload import no_alias_loader

    class LineLoader(no_alias_loader()):  # aliases refused, nesting bounded (bench/safeload.py)
        pass

    def construct_mapping(loader, node, deep=False):
        mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return LineLoader


def _strip_lines(obj):
    if isinstance(obj, dict):
        return {k: _strip_lines(v) for k, v in obj.items() if k != "__line__"}
    if isinstance(obj, list):
        return [_strip_lines(v) for v in obj]
    return obj


def _str_list(value, what: str, path: str, line: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SuiteValidationError(path, line, f"{what} must be a list of non-empty strings")
    return tuple(value)


def _positive_int(value, what: str, path: str, line: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SuiteValidationError(path, line, f"{what} must be a positive integer, got {value!r}")
    return value


def _parse_prompt(raw: Any, path: str, line: int, base_dir: Path | None) -> Prompt:
    if not isinstance(raw, dict):
        raise SuiteValidationError(path, line, f"each prompt must be a mapping with at least 'id' and 'text', got {raw!r}")
    line = raw.get("__line__", line)
    unknown = set(raw) - _PROMPT_KEYS - {"__line__"}
    if unknown:
        raise SuiteValidationError(path, line, f"unknown prompt field(s) {sorted(unknown)}; allowed: {sorted(_PROMPT_KEYS)}")
    pid, text = raw.get("id"), raw.get("text")
    if not isinstance(pid, str) or not _ID_RE.match(pid):
        raise SuiteValidationError(path, line, f"prompt id {pid!r} must be 1-128 characters of letters, digits, '.', '_' "
                                               "or '-', starting with a letter or digit")
    if not isinstance(text, str) or not text.strip():
        raise SuiteValidationError(path, line, f"prompt {pid!r}: 'text' must be a non-empty string")
    image = raw.get("image")
    if image is not None:
        if not isinstance(image, str) or not image:
            raise SuiteValidationError(path, line, f"prompt {pid!r}: 'image' must be a path")
        ip = Path(image)
        if not ip.is_absolute() and base_dir is not None:
            ip = base_dir / ip
        image = str(ip)
    aux = raw.get("aux") or {}
    if not isinstance(aux, dict) or not all(isinstance(v, dict) for v in _strip_lines(aux).values()):
        raise SuiteValidationError(path, line, f"prompt {pid!r}: 'aux' must map a dimension name to a mapping, "
                                               "e.g. {color: {color: red}}")
    samples = raw.get("samples")
    if samples is not None:
        samples = _positive_int(samples, f"prompt {pid!r}: 'samples'", path, line)
    return Prompt(pid, text.strip(), image, _str_list(raw.get("tags"), f"prompt {pid!r}: 'tags'", path, line),
                  _str_list(raw.get("dimensions"), f"prompt {pid!r}: 'dimensions'", path, line),
                  _strip_lines(aux), samples)


def _load_yaml(path: Path) -> Suite:
    import yaml

    from vgbench.bench.safeload import read_input

    text = read_input(path)
    try:
        data = yaml.load(text, Loader=_line_loader())  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise SuiteValidationError(str(path), mark.line + 1 if mark else None, f"invalid YAML: {e}") from e
    if not isinstance(data, dict):
        raise SuiteValidationError(str(path), 1, "a suite file must be a mapping with 'suite' and 'prompts'")
    unknown = set(data) - _SUITE_KEYS - {"__line__"}
    if unknown:
        raise SuiteValidationError(str(path), 1, f"unknown suite field(s) {sorted(unknown)}; allowed: {sorted(_SUITE_KEYS)}")
    name = data.get("suite")
    if not isinstance(name, str) or not _ID_RE.match(name):
        raise SuiteValidationError(str(path), 1, "'suite' (the suite's name) is required: letters, digits, '.', '_', '-'")
    raw_prompts = data.get("prompts")
    if not isinstance(raw_prompts, list) or not raw_prompts:
        raise SuiteValidationError(str(path), 1, "'prompts' must be a non-empty list")
    prompts = [_parse_prompt(p, str(path), 1, path.parent) for p in raw_prompts]
    _check_unique(prompts, raw_prompts, str(path))
    spp = _positive_int(data.get("samples_per_prompt", 1), "'samples_per_prompt'", str(path), 1)
    return Suite(name, tuple(prompts), str(data.get("version", "1")), str(data.get("description", "")).strip(), spp,
                 data.get("source") or str(path))


def _check_unique(prompts: list[Prompt], raws: list, path: str) -> None:
    seen: dict[str, int] = {}
    for p, raw in zip(prompts, raws):
        line = raw.get("__line__") if isinstance(raw, dict) else None
        if p.id in seen:
            raise SuiteValidationError(path, line, f"duplicate prompt id {p.id!r} (first used at line {seen[p.id]})")
        seen[p.id] = line


def _load_jsonl(path: Path) -> Suite:
    prompts, raws = [], []
    from vgbench.bench.safeload import load_json, read_input

    for no, line in enumerate(read_input(path).splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            raw = load_json(line, f"{path}:{no}")
        except json.JSONDecodeError as e:
            raise SuiteValidationError(str(path), no, f"invalid JSON: {e.msg}") from e
        if isinstance(raw, dict):
            raw["__line__"] = no
        prompts.append(_parse_prompt(raw, str(path), no, path.parent))
        raws.append(raw)
    if not prompts:
        raise SuiteValidationError(str(path), None, "the file holds no prompts")
    _check_unique(prompts, raws, str(path))
    return Suite(re.sub(r"[^A-Za-z0-9._-]", "-", path.stem), tuple(prompts), source=str(path))


def list_builtin_suites() -> list[str]:
    """Names of the suites shipped in ``prompts/suites/``."""
    return sorted(p.name[:-5] for p in resources.files("vgbench.prompts").joinpath("suites").iterdir() if p.name.endswith(".yaml"))


def load_suite(name_or_path: str | Path) -> Suite:
    """Load a built-in suite by name (``smoke``, ``shapes``, ...) or a suite file (``.yaml``, ``.yml``, ``.jsonl``)."""
    s = str(name_or_path)
    path = Path(s)
    if not path.exists() and s in list_builtin_suites():
        path = Path(str(resources.files("vgbench.prompts").joinpath("suites", f"{s}.yaml")))
        suite = _load_yaml(path)
        return Suite(suite.name, suite.prompts, suite.version, suite.description, suite.samples_per_prompt,
                     f"builtin:{s}")
    if not path.exists():
        import difflib

        close = difflib.get_close_matches(s, list_builtin_suites(), n=1, cutoff=0.6)
        raise ConfigError(f"no suite named {s!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                          + f": built-in suites are {', '.join(list_builtin_suites())}; "
                          "or give the path of a .yaml/.jsonl suite file (see `vgbench prompts --help`)")
    if path.suffix in (".yaml", ".yml"):
        return _load_yaml(path)
    if path.suffix == ".jsonl":
        return _load_jsonl(path)
    raise ConfigError(f"{path}: unknown suite format; use .yaml/.yml or .jsonl, or import it with `vgbench prompts import`")


def suite_from_prompts(name: str, prompts: Iterable[Prompt], description: str = "", samples_per_prompt: int = 1,
                       source: str | None = None, version: str = "1") -> Suite:
    return Suite(name, tuple(prompts), version, description, samples_per_prompt, source)


def dump_suite_yaml(suite: Suite) -> str:
    """Serialise a suite to the YAML schema above (round-trips through :func:`load_suite`)."""
    import yaml

    doc = {"suite": suite.name, "version": suite.version, "description": suite.description,
           "samples_per_prompt": suite.samples_per_prompt}
    if suite.source:
        doc["source"] = suite.source
    doc["prompts"] = [p.to_dict() for p in suite.prompts]
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)
