"""One folder-manifest parser for `evaluate DIR`, `--model folder:DIR` and `check`: the same items, the same
errors, and files outside the folder refused by all of them."""
from __future__ import annotations

import json

import pytest

from vgbench.bench.errors import ConfigError
from vgbench.bench.manifest import read_manifest
from vgbench.bench.sources import load_source
from vgbench.reference_models.folder import FolderGenerator
from tests.conftest import write_clip


def _folder(tmp_path, items, rng):
    folder = tmp_path / "videos"
    (folder / "a").mkdir(parents=True)
    write_clip(folder / "a" / "one.mp4", rng.integers(0, 256, (4, 32, 32, 3), dtype="uint8"))
    (folder / "manifest.json").write_text(json.dumps({"model": "m", "fps": 8, "items": items}))
    return folder


def test_evaluate_and_the_folder_generator_read_the_same_items(tmp_path, rng):
    folder = _folder(tmp_path, [{"file": "./a/one.mp4", "prompt_id": "p1", "sample": "1", "prompt": "a cat",
                                 "aux": {"object": "cat"}, "dimensions": ["object_class"]}], rng)
    m = read_manifest(folder)
    (it,) = m.items
    assert (it.file, it.prompt_id, it.sample, it.prompt, it.aux, it.dimensions) == (
        "a/one.mp4", "p1", 1, "a cat", {"object": "cat"}, ("object_class",))
    (src_item,) = load_source(folder).items
    assert (src_item.pair_key, src_item.prompt, src_item.aux) == ("p1/1", "a cat", {"object": "cat"})
    gen = FolderGenerator(folder)
    assert gen._index[("p1", 1)] == folder / "a" / "one.mp4"


@pytest.mark.parametrize("bad,match", [("../outside.mp4", "leaves the folder"), ("/etc/passwd", "absolute path"),
                                       ("a/../../x.mp4", "leaves the folder"), ("", "relative to the folder")])
def test_files_outside_the_folder_are_refused_by_every_reader(tmp_path, rng, bad, match):
    folder = _folder(tmp_path, [{"file": bad, "prompt_id": "p1"}], rng)
    for read in (read_manifest, load_source, FolderGenerator):
        with pytest.raises(ConfigError, match=match) as e:
            read(folder)
        assert "manifest.json" in str(e.value) and "items[0]" in str(e.value)


def test_malformed_manifests_name_the_file(tmp_path, rng):
    folder = _folder(tmp_path, [], rng)
    (folder / "manifest.json").write_text('{"items": [')
    with pytest.raises(ConfigError, match=r"manifest.json:1: invalid JSON"):
        read_manifest(folder)
    (folder / "manifest.json").write_text('{"items": [{"file": "a/one.mp4", "sample": "x"}]}')
    with pytest.raises(ConfigError, match=r"items\[0\].sample must be an integer"):
        load_source(folder)


def test_a_listed_video_that_is_missing_fails_its_item_and_the_check(tmp_path, rng, cli):
    folder = _folder(tmp_path, [{"file": "a/one.mp4", "prompt_id": "p1"}, {"file": "a/two.mp4", "prompt_id": "p2"}],
                     rng)
    code, _, err = cli("evaluate", folder, "--metrics", "temporal_flickering", "--db", tmp_path / "r.sqlite",
                       "--no-progress")
    assert code == 4 and "a/two.mp4" in err and "listed in" in err
    code, out, _ = cli("check", folder, "--no-progress")
    assert code == 5 and "a/two.mp4" in out and "missing" in out
