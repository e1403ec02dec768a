"""The parity table (``metrics/parity.py``), the README's copy of it and the golden folders stay in step; unverified
protocols say so in ``vgbench metrics list`` and in their results."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vgbench.metrics.parity import NOT_VERIFIED_FLAG, PARITY, markdown_table, parity_for

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden"


def test_readme_parity_table_is_the_generated_one():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- parity-table -->\n(.*?)\n<!-- /parity-table -->", text, re.S)
    assert m, "README.md lost its parity table markers"
    assert m.group(1).strip() == markdown_table().strip(), "README's parity table differs: paste markdown_table()"


@pytest.mark.parametrize("protocol", sorted(PARITY))
def test_every_verified_protocol_has_its_golden_and_current_revision(protocol):
    from vgbench.metrics.protocol_id import split_revision
    from vgbench.metrics.registry import create_metric

    entry = PARITY[protocol]
    folder = GOLDEN / entry.golden
    assert (folder / "reference.json").is_file() and (folder / "README.md").is_file(), folder
    rec = json.loads((folder / "reference.json").read_text())
    base, rev = split_revision(rec["protocol"])
    if entry.golden == protocol:
        assert (base, rev) == (protocol, entry.revision)
    metric = create_metric(protocol)
    assert metric.revision == entry.revision, f"{protocol}: revision {metric.revision} has no golden yet"
    assert parity_for(metric.protocol_id) is entry
    assert metric.parity_flags() == []


def test_unverified_protocols_are_labelled(cli):
    from vgbench.metrics.registry import create_metric

    assert create_metric("fvd/tf").parity_flags() == [NOT_VERIFIED_FLAG]
    assert parity_for("subject_consistency/vbench") is None  # an older revision is not the verified one
    code, out, _ = cli("metrics", "list", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["fvd"]["parity"]["tf"]["verified"] is None
    assert rows["fvd"]["parity"]["videogpt"]["verified"]["golden"] == "fvd/videogpt"
    assert rows["fvd"]["parity"]["videogpt"]["protocol_id"] == "fvd/videogpt@rev=2"
    code, out, _ = cli("metrics", "list")
    assert NOT_VERIFIED_FLAG in out and "verified against Vchitect/VBench@45e79ec14e69" in out


def test_options_that_change_numbers_are_verified_only_where_a_golden_covers_them():
    assert parity_for("clip_score/torchmetrics@backbone=clip_vit_b32_openai") is PARITY["clip_score/torchmetrics"]
    assert parity_for("clip_score/clipsim@frames=uniform:8") is None
    assert parity_for("clip_score/evalcrafter@backbone=clip_vit_l14_openai") is None
