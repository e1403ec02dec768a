"""Importers that turn other formats into vgbench suites.

* :func:`import_vbench_full_info`: VBench's ``VBench_full_info.json`` (946 records ``{prompt_en, dimension[],
  auxiliary_info}``). Records with the same prompt text are merged (VBench names videos ``{prompt}-{i}.mp4``, so
  they are the same videos), keeping the union of dimensions. Samples per prompt follow VBench's protocol: 5, and
  25 for temporal-flickering prompts (before the static filter keeps 5). ``human_action`` prompts get
  ``aux.human_action.action``, parsed from the text as VBench parses it from the file name.
* :func:`import_prompt_list`: a plain text file, one prompt per line (blank lines and ``#`` comments skipped).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from vgbench.bench.errors import SuiteValidationError
from vgbench.bench.vbench_labels import vbench_action_label  # noqa: F401  (re-exported)
from vgbench.prompts.schema import Prompt, Suite

VBENCH_SAMPLES_PER_PROMPT = 5
VBENCH_TEMPORAL_FLICKERING_SAMPLES = 25


def slug_id(text: str, max_len: int = 48) -> str:
    """A readable, stable prompt id: a slug of the text plus 6 hex digits of its SHA-1 (ids never collide by slug)."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:max_len].strip("-") or "prompt"
    return f"{slug}-{hashlib.sha1(text.encode()).hexdigest()[:6]}"


def read_text_input(path: str | Path) -> str:
    """An importer's input file as text (:func:`vgbench.bench.safeload.read_input`).

    Raises:
        SuiteValidationError: the file is missing, a folder, unreadable or not UTF-8 (naming it).
    """
    from vgbench.bench.safeload import read_input

    try:
        return read_input(Path(path))
    except FileNotFoundError as e:
        raise SuiteValidationError(str(path), None, "no such file") from e
    except IsADirectoryError as e:
        raise SuiteValidationError(str(path), None, "is a folder; give the file") from e
    except UnicodeDecodeError as e:
        raise SuiteValidationError(str(path), None, f"not UTF-8 text ({e.reason} at byte {e.start})") from e
    except PermissionError as e:
        raise SuiteValidationError(str(path), None, "cannot be read (permission denied)") from e


def import_vbench_full_info(path: str | Path, name: str = "vbench") -> Suite:
    path = Path(path)
    from vgbench.bench.safeload import load_json

    try:
        records = load_json(read_text_input(path), str(path))
    except json.JSONDecodeError as e:
        raise SuiteValidationError(str(path), e.lineno, f"invalid JSON: {e.msg}") from e
    if not isinstance(records, list):
        raise SuiteValidationError(str(path), 1, "expected a JSON list of {prompt_en, dimension, auxiliary_info} records")
    merged: dict[str, dict] = {}
    for k, rec in enumerate(records):
        if not isinstance(rec, dict) or not isinstance(rec.get("prompt_en"), str) or not isinstance(rec.get("dimension"), list):
            raise SuiteValidationError(str(path), None, f"record {k}: needs 'prompt_en' (string) and 'dimension' (list)")
        text = rec["prompt_en"].strip()
        m = merged.setdefault(text, {"dimensions": [], "aux": {}})
        for d in rec["dimension"]:
            if d not in m["dimensions"]:
                m["dimensions"].append(d)
        for d, info in (rec.get("auxiliary_info") or {}).items():
            m["aux"][d] = info
    prompts = []
    for text, m in merged.items():
        dims = m["dimensions"]
        aux = dict(m["aux"])
        if "human_action" in dims:
            aux["human_action"] = {"action": vbench_action_label(text)}
        samples = VBENCH_TEMPORAL_FLICKERING_SAMPLES if "temporal_flickering" in dims else VBENCH_SAMPLES_PER_PROMPT
        prompts.append(Prompt(slug_id(text), text, None, (), tuple(dims), aux, samples))
    return Suite(name, tuple(prompts), "vbench-full-info", f"VBench prompt suite imported from {path.name}",
                 VBENCH_SAMPLES_PER_PROMPT, str(path))


def import_prompt_list(path: str | Path, name: str | None = None, samples_per_prompt: int = 1) -> Suite:
    path = Path(path)
    prompts, seen = [], set()
    for line in read_text_input(path).splitlines():
        text = line.strip()
        if not text or text.startswith("#") or text in seen:
            continue
        seen.add(text)
        prompts.append(Prompt(slug_id(text), text))
    if not prompts:
        raise SuiteValidationError(str(path), None, "the file holds no prompts")
    suite_name = name or re.sub(r"[^A-Za-z0-9._-]", "-", path.stem)
    return Suite(suite_name, tuple(prompts), "1", f"imported from {path.name}", samples_per_prompt, str(path))
