"""Parsers with limits for every YAML/JSON file a user or a third party hands vgbench (suites, manifests, configs,
HTTP provider configs, scheme files, imported prompt lists).

* YAML **aliases are refused** (``*name``): an alias bomb (a few lines that expand to billions of nodes) cannot be
  written without them, and no vgbench file format needs them. Anchors without aliases are harmless and allowed.
* **Nesting** deeper than :data:`MAX_DEPTH` levels is refused (YAML and JSON).
* **Size**: a file larger than :func:`max_input_bytes` (``VGBENCH_MAX_INPUT_MB``, default 64 MB) is refused before it
  is parsed.

Errors are :class:`InputLimitError` (exit 3) naming the file and the limit.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from vgbench.bench.errors import VgbenchError

MAX_DEPTH = 100


def max_input_bytes() -> int:
    """The size cap on input files (``VGBENCH_MAX_INPUT_MB``, default 64 MB)."""
    from vgbench.bench.settings import max_input_bytes as cap

    return cap()


class InputLimitError(VgbenchError):
    """An input file exceeds a parser limit (aliases, nesting, size); the message names the file."""


def read_input(path: str | os.PathLike) -> str:
    """The UTF-8 text of an input file, refused above :func:`max_input_bytes`.

    Raises:
        InputLimitError: too large. OSError, UnicodeDecodeError: as reading raises them.
    """
    p = Path(path)
    cap = max_input_bytes()
    size = p.stat().st_size
    if size > cap:
        raise InputLimitError(f"{p}: {size >> 20} MB is larger than the {cap >> 20} MB vgbench reads from an input "
                              "file (VGBENCH_MAX_INPUT_MB raises it)")
    return p.read_text(encoding="utf-8")


def no_alias_loader(base: Any = None) -> Any:
    """A PyYAML loader class (subclass of ``base``, default ``yaml.SafeLoader``) that refuses aliases and nesting
    deeper than :data:`MAX_DEPTH` with a ``yaml.YAMLError`` pointing at the line."""
    import yaml
    from yaml.composer import ComposerError

    base = base or yaml.SafeLoader

    class NoAliasLoader(base):
        _depth = 0

        def compose_node(self, parent, index):
            if self.check_event(yaml.events.AliasEvent):
                event = self.peek_event()
                raise ComposerError(None, None, f"YAML aliases (*{event.anchor}) are not allowed in vgbench inputs "
                                                "(write the value out)", event.start_mark)
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels",
                                        self.peek_event().start_mark)
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

    return NoAliasLoader


def load_yaml(text: str, where: str = "input") -> Any:
    """Parse YAML ``text`` (safe types only, no aliases, bounded nesting).

    Raises:
        InputLimitError: an alias or too deep (naming ``where`` and the line). yaml.YAMLError: other syntax errors.
    """
    import yaml

    try:
        return yaml.load(text, Loader=no_alias_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.composer.ComposerError as e:
        if "not allowed" in str(e) or "nested deeper" in str(e):
            raise InputLimitError(f"{where}: {e.problem} (line {e.problem_mark.line + 1})") from None
        raise


def _depth(obj: Any, limit: int) -> int:
    stack = [(obj, 1)]
    deepest = 0
    while stack:
        cur, d = stack.pop()
        deepest = max(deepest, d)
        if d > limit:
            return d
        if isinstance(cur, dict):
            stack.extend((v, d + 1) for v in cur.values())
        elif isinstance(cur, list):
            stack.extend((v, d + 1) for v in cur)
    return deepest


def load_json(text: str, where: str = "input") -> Any:
    """Parse JSON ``text`` with bounded nesting.

    Raises:
        InputLimitError: nested deeper than :data:`MAX_DEPTH`. ValueError (json.JSONDecodeError): syntax errors.
    """
    try:
        doc = json.loads(text)
    except RecursionError:
        raise InputLimitError(f"{where}: nested deeper than Python can parse") from None
    if _depth(doc, MAX_DEPTH) > MAX_DEPTH:
        raise InputLimitError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    return doc
