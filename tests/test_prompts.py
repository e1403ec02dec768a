"""Prompt suites: built-ins, schema validation with file:line, VBench and plain-list importers."""
from __future__ import annotations

import json
import textwrap

import pytest

from vgbench.bench.errors import ConfigError, SuiteValidationError
from vgbench.prompts import dump_suite_yaml, list_builtin_suites, load_suite
from vgbench.prompts.importers import import_prompt_list, import_vbench_full_info, vbench_action_label
from vgbench.reference_models.builtin.shapes import parse_prompt
from tests.conftest import shared_path


def test_builtin_suites_load():
    assert {"smoke", "shapes"} <= set(list_builtin_suites())
    smoke = load_suite("smoke")
    assert 3 <= len(smoke.prompts) <= 10 and smoke.source == "builtin:smoke"
    shapes = load_suite("shapes")
    assert shapes.samples_per_prompt == 2
    assert all(parse_prompt(p.text).parsed for p in shapes.prompts), "every shapes prompt must be renderable exactly"
    assert len(shapes.sha256) == 64


def test_yaml_round_trip(tmp_path):
    s = load_suite("smoke")
    path = tmp_path / "copy.yaml"
    path.write_text(dump_suite_yaml(s))
    again = load_suite(path)
    assert again.prompts == s.prompts and again.sha256 == s.sha256


def _write(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


@pytest.mark.parametrize("body,line,msg", [
    ("""\
     suite: t
     prompts:
       - id: a
         text: one
       - id: b
         text: ""
     """, 5, "'text' must be a non-empty string"),
    ("""\
     suite: t
     prompts:
       - id: a
         text: one
       - id: a
         text: two
     """, 5, "duplicate prompt id 'a'"),
    ("""\
     suite: t
     prompts:
       - id: a
         text: one
         samples: 0
     """, 3, "'samples' must be a positive integer"),
    ("""\
     suite: t
     prompts:
       - id: has space
         text: one
     """, 3, "prompt id"),
    ("""\
     suite: t
     prompts:
       - id: a
         text: one
         colour: red
     """, 3, "unknown prompt field"),
    ("""\
     suite: t
     prompts:
       - id: a
         text: [unclosed
     """, None, "invalid YAML"),
])
def test_validation_errors_name_file_and_line(tmp_path, body, line, msg):
    p = _write(tmp_path, body)
    with pytest.raises(SuiteValidationError) as info:
        load_suite(p)
    assert msg in str(info.value)
    assert str(p) in str(info.value)
    if line is not None:
        assert info.value.line == line and f"{p}:{line}:" in str(info.value)


def test_jsonl_suite_and_its_errors(tmp_path):
    good = tmp_path / "mine.jsonl"
    good.write_text('{"id": "a", "text": "one"}\n\n{"id": "b", "text": "two", "tags": ["x"]}\n')
    s = load_suite(good)
    assert s.name == "mine" and [p.id for p in s.prompts] == ["a", "b"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "one"}\n{"id": "b", "text": \n')
    with pytest.raises(SuiteValidationError, match=r"bad.jsonl:2: invalid JSON"):
        load_suite(bad)


def test_unknown_suite_name_says_what_exists():
    with pytest.raises(ConfigError, match="built-in suites are"):
        load_suite("no-such-suite")


def test_image_paths_resolve_relative_to_suite(tmp_path):
    p = _write(tmp_path, """\
    suite: i2v
    prompts:
      - id: a
        text: the cat turns its head
        image: images/cat.png
    """)
    assert load_suite(p).prompts[0].image == str(tmp_path / "images" / "cat.png")


def test_vbench_importer_on_official_metadata():
    path = shared_path("data", "vbench", "VBench_full_info.json")
    records = json.loads(path.read_text())
    suite = import_vbench_full_info(path)
    texts = {r["prompt_en"].strip() for r in records}
    assert len(records) == 946 and len(suite.prompts) == len(texts) == 944
    by_text = {p.text: p for p in suite.prompts}
    # dimension membership is preserved (union over duplicate records)
    for r in records:
        assert set(r["dimension"]) <= set(by_text[r["prompt_en"].strip()].dimensions)
    # auxiliary info is preserved verbatim
    for r in records:
        for dim, info in (r.get("auxiliary_info") or {}).items():
            assert by_text[r["prompt_en"].strip()].aux[dim] == info
    # VBench's sampling protocol: 5 per prompt, 25 for temporal flickering prompts
    flicker = [p for p in suite.prompts if "temporal_flickering" in p.dimensions]
    assert len(flicker) == 75 and all(p.samples == 25 for p in flicker)
    assert all(p.samples == 5 for p in suite.prompts if "temporal_flickering" not in p.dimensions)
    actions = [p for p in suite.prompts if "human_action" in p.dimensions]
    assert len(actions) == 100 and all(p.aux["human_action"]["action"] for p in actions)
    # ids are unique, file-name safe and stable
    assert len({p.id for p in suite.prompts}) == 944
    assert import_vbench_full_info(path).sha256 == suite.sha256


def test_vbench_import_writes_a_loadable_suite(tmp_path, cli):
    path = shared_path("data", "vbench", "VBench_full_info.json")
    out = tmp_path / "vbench.yaml"
    code, _, err = cli("prompts", "import", "vbench", path, "-o", out)
    assert code == 0 and "944 prompts" in err
    assert len(load_suite(out).prompts) == 944


def test_vbench_action_label():
    assert vbench_action_label("A person is riding a bike") == "riding a bike"


def test_prompt_list_importer(tmp_path):
    p = tmp_path / "list.txt"
    p.write_text("# my prompts\na cat\n\na dog\na cat\n")
    s = import_prompt_list(p, samples_per_prompt=3)
    assert [x.text for x in s.prompts] == ["a cat", "a dog"] and s.samples_per_prompt == 3
