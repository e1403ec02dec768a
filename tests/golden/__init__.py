"""Golden parity data: reference implementations' own outputs on seeded weights and real clips.

``tests/golden/<metric>/<protocol>/reference.json`` holds what the reference code printed (and the intermediate values
it computed), the inputs it ran on (clip specs and SHA-256 of their frames), the weights (recipe and digest), and the
versions; the README beside it says which repository, commit, file and function, and how it was run. See
``tests/golden/README.md``.
"""
from __future__ import annotations

import json
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent


def reference(protocol: str) -> dict:
    """The golden record of ``name/protocol`` (``tests/golden/<name>/<protocol>/reference.json``)."""
    return json.loads((GOLDEN / protocol / "reference.json").read_text())
