"""Image-to-video evaluation: the conditioning image travels from the suite through the run into the evaluation;
``i2v_subject`` equals VBench-I2V's code (``tests/golden/i2v_subject/vbench``); the weightless I2V anchors order as
expected (the image-following one above the image-ignoring one)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from golden import reference


def _pairs(golden_files, tmp_path, which):
    from golden.i2v_images import write

    ref = reference("i2v_subject/vbench")
    out = []
    for pair in ref["pairs"][:which]:
        path, sha = write(pair["image"], tmp_path / "images")
        assert sha == ref["images"][pair["image"]]["pixels_sha256"]
        clip = golden_files.clip(pair["clip"], ref["clips"][pair["clip"]]["frames_sha256"])
        out.append((path, clip, pair["value"]))
    return out


def _dreamsim_metric(golden_files, tmp_path):
    from golden import dreamsim_files
    from vgbench.metrics.registry import create_metric

    ref = reference("i2v_background/vbench")
    zip_path, digest = dreamsim_files.write_zip(tmp_path / "dreamsim_ensemble_checkpoint.zip")
    assert digest == ref["weights"]["dreamsim_ensemble"]["digest"], "seeded DreamSim files changed: remake the golden"
    m = create_metric("i2v_background")
    m.load(weights={"dino_vitb16": golden_files.weights("dino_vitb16", ref["weights"]["dino_vitb16"]["digest"]),
                    "dreamsim_ensemble": zip_path}, device="cpu")
    return m


@pytest.mark.slow  # three ViT-B/16 with seeded weights (~40 s)
def test_i2v_background_equals_vbench(golden_files, tmp_path):
    """VBench-I2V's i2v_background with dreamsim 0.2.1 + peft: the ensemble embedding of an image is bit-identical,
    the four per-video values within 1e-6."""
    import torch

    from vgbench.bench.video import read_video
    from vgbench.metrics.vbench.i2v import dreamsim_transform_image

    m = _dreamsim_metric(golden_files, tmp_path)
    ref = reference("i2v_background/vbench")
    pairs = _pairs(golden_files, tmp_path, 4)
    astronaut = next(p for p, _, _ in pairs if p.name.startswith("astronaut"))
    e = m.dreamsim.embed(dreamsim_transform_image(str(astronaut)))
    assert torch.equal(e.flatten(), torch.tensor(ref["astronaut_embedding"]))
    for (image, clip, _), expected in zip(pairs, ref["pairs"]):
        s = m.score(read_video(clip), image=str(image))
        assert s.value == pytest.approx(expected["value"], abs=1e-6)
        assert s.extra["fidelity"] == "vbench-exact"


def test_dreamsim_zip_is_checked_member_by_member(tmp_path):
    """The loader names what is wrong with a zip that is not DreamSim's: a missing member, an adapter that is not
    plain LoRA on qkv, missing adapter matrices."""
    import json as _json
    import zipfile

    from vgbench.metrics.backbones.dreamsim import dreamsim_clips, load_dreamsim
    from vgbench.metrics.backbones.weights import WeightsError

    def make(members):
        p = tmp_path / f"z{len(list(tmp_path.glob('z*.zip')))}.zip"
        with zipfile.ZipFile(p, "w") as z:
            for k, v in members.items():
                z.writestr(k, v)
        return p

    cfg = {"r": 16, "lora_alpha": 0.5, "bias": "none", "target_modules": ["qkv"]}
    model = dreamsim_clips(device="meta")
    with pytest.raises(WeightsError, match="no adapter_config.json"):
        load_dreamsim(model, make({"x.txt": b"1"}), "z")
    with pytest.raises(WeightsError, match="not plain LoRA on qkv"):
        load_dreamsim(model, make({"ensemble_lora/adapter_config.json": _json.dumps({**cfg, "use_dora": True})}), "z")
    with pytest.raises(WeightsError, match="no clip_vitb16_pretrain.pth.tar"):
        load_dreamsim(model, make({"ensemble_lora/adapter_config.json": _json.dumps(cfg)}), "z")
    model.set_lora(8, 1.0)  # another adapter_config: the adapters are remade in place (the registry keeps the object)
    qkv = model.clip.blocks[0].attn.qkv
    assert qkv.lora_A.weight.shape == (8, 768) and qkv.scaling == 0.125
    assert len(model.dino_lora) == 12 and model.dino_lora[0].lora_B.weight.shape == (2304, 8)
    not_a_zip = tmp_path / "not-a-zip.zip"
    not_a_zip.write_text("x")
    with pytest.raises(WeightsError, match="not DreamSim's ensemble checkpoint zip"):
        load_dreamsim(model, not_a_zip, "z")


def _metric(golden_files):
    from vgbench.metrics.registry import create_metric

    ref = reference("i2v_subject/vbench")
    m = create_metric("i2v_subject")
    m.load(weights={"dino_vitb16": golden_files.weights("dino_vitb16", ref["weights"]["dino_vitb16"]["digest"])},
           device="cpu")
    return m


@pytest.mark.slow  # ~12 s (DINO ViT-B/16 with seeded weights); the default run keeps the plumbing tests below
@pytest.mark.parametrize("n", [pytest.param(1, id="first-pair"), pytest.param(4, id="all")])
def test_i2v_subject_equals_vbench(golden_files, tmp_path, n):
    from vgbench.bench.video import read_video

    m = _metric(golden_files)
    for image, clip, expected in _pairs(golden_files, tmp_path, n):
        s = m.score(read_video(clip), image=str(image))
        assert s.value == pytest.approx(expected, abs=1e-6)
        assert s.extra["fidelity"] == "vbench-exact" and len(s.extra["consecutive"]) == len(s.extra["conformity"]) - 1


def _i2v_suite(tmp_path):
    from PIL import Image
    from skimage import data

    for name in ("astronaut", "coffee"):
        Image.fromarray(getattr(data, name)()).save(tmp_path / f"{name}.png")
    suite = tmp_path / "i2v.yaml"
    suite.write_text("suite: i2v-mini\nsamples_per_prompt: 1\nprompts:\n"
                     "  - {id: astro, text: an astronaut waving, image: astronaut.png, dimensions: [i2v_subject, i2v_background]}\n"
                     "  - {id: coffee, text: a cup of coffee, image: coffee.png, dimensions: [i2v_subject, i2v_background]}\n"
                     "  - {id: cam, text: 'an astronaut, camera pans right', image: astronaut.png, dimensions: "
                     "[camera_motion], aux: {camera_motion: {camera_motion: pan_right}}}\n")
    return suite


@pytest.mark.slow
def test_anchors_order_and_the_image_travels_with_the_run(golden_files, tmp_path, cli):
    """`vgbench run` with the image-following and the image-ignoring anchor, then `evaluate --dimensions
    i2v_subject,i2v_background,camera_motion` (seeded DINO and DreamSim): the follower scores higher on both
    similarity dimensions, and camera_motion runs on seeded CoTracker2; run.json records
    each item's image and its hash; an unchanged image's score comes from the store; an image changed since
    generation fails its item, saying so."""
    from golden import dreamsim_files

    ref = reference("i2v_subject/vbench")
    w = golden_files.weights("dino_vitb16", ref["weights"]["dino_vitb16"]["digest"])
    ds, _ = dreamsim_files.write_zip(tmp_path / "dreamsim_ensemble_checkpoint.zip")
    from golden import cotracker_files

    ct, _, _ = cotracker_files.write(tmp_path / "cotracker2.pth")
    suite = _i2v_suite(tmp_path)
    values, background, camera = {}, {}, {}
    for model in ("image-pan", "image-ignore"):
        code, out, err = cli("run", "--model", model, "--suite", suite, "--out", tmp_path / "out", "--frames", "6",
                             "--size", "64x64", "--metrics", "", "--no-progress")
        assert code == 0, err
        run_dir = next((tmp_path / "out").glob(f"{model}__*"))
        items = json.loads((run_dir / "run.json").read_text())["items"]
        assert all(it["image"].endswith(".png") and len(it["image_sha256"]) == 64 for it in items)
        code, out, err = cli("evaluate", run_dir, "--dimensions", "i2v_subject,i2v_background,camera_motion",
                             "--weights", f"dino_vitb16={w}", "--weights", f"dreamsim_ensemble={ds}", "--weights",
                             f"cotracker2={ct}", "--db", tmp_path / "db.sqlite", "--json", "--no-progress")
        assert code == 0, err
        values[model] = json.loads(out)["metrics"]["i2v_subject"]["value"]
        background[model] = json.loads(out)["metrics"]["i2v_background"]["value"]
        camera[model] = json.loads(out)["metrics"]["camera_motion"]["value"]
    assert values["image-pan"] > values["image-ignore"] + 0.05
    assert background["image-pan"] > background["image-ignore"] + 0.05, background
    assert set(camera.values()) <= {0.0, 1.0}  # seeded CoTracker2: it runs; the labels of real moves are tested with
    # Lucas-Kanade in tests/test_camera_motion.py
    # the leaderboard: each run's I2V score is VBench's formula on its three values (no Quality dims: no Total), the
    # published VBench-I2V rows beside them
    code, out, err = cli("leaderboard", "build", "--db", tmp_path / "db.sqlite", "--out", tmp_path / "site",
                         "--scheme", "vbench-i2v", "--published", "vbench-i2v", "--no-gallery", "--json")
    assert code == 0, err
    import pandas as pd

    lb = pd.read_csv(tmp_path / "site" / "leaderboard.csv")
    for model in ("image-pan", "image-ignore"):
        row = lb[lb["model"] == model].iloc[0]
        i2v = ((values[model] - 0.1462) / 0.8538 + (background[model] - 0.2615) / 0.7385 + 0.1 * camera[model]) / 2.1
        assert row["i2v"] == pytest.approx(100 * i2v, abs=1e-6) and pd.isna(row["total"]) and pd.isna(row["quality"])
        # all three are vbench-exact (no "style" mark); their seeded weights are user-supplied, which the score carries
        assert "not vbench-exact" not in row["i2v flags"] and "flagged dimensions: camera_motion" in row["i2v flags"]
    assert (lb["source"] == "published").sum() == 11
    run_dir = next((tmp_path / "out").glob("image-pan__*"))
    args = ("evaluate", run_dir, "--dimensions", "i2v_subject", "--weights", f"dino_vitb16={w}", "--db",
            tmp_path / "db.sqlite", "--json", "--no-progress")
    assert json.loads(cli(*args)[1])["scores_computed"] == 0
    from PIL import Image

    Image.fromarray(np.zeros((80, 80, 3), np.uint8)).save(tmp_path / "coffee.png")  # the image changed
    code, out, _ = cli(*args)
    doc = json.loads(out)
    assert code == 4 and doc["scores_computed"] == 0
    assert "coffee.png changed since the video was generated" in json.dumps(doc["failed_items"])


def test_a_text_to_video_item_fails_with_a_clear_error(tmp_path, cli):
    code, out, err = cli("run", "--model", "shapes", "--suite", "smoke", "--out", tmp_path / "out", "--frames", "4",
                         "--size", "32x32", "--metrics", "", "--no-progress")
    run_dir = next((tmp_path / "out").glob("shapes__*"))
    code, out, err = cli("evaluate", run_dir, "--metrics", "i2v_subject", "--allow-random-weights", "--json",
                         "--no-progress", "--db", tmp_path / "db.sqlite")
    doc = json.loads(out)
    assert code == 4 and doc["failed_items"]
    assert "conditioning image, and this item has none" in json.dumps(doc["failed_items"])


def test_i2v_dimensions_are_dimensions_but_not_in_all():
    from vgbench.metrics.registry import create_metric
    from vgbench.metrics.vbench.table import dimension_specs

    for name in ("i2v_subject", "i2v_background"):
        assert dimension_specs(name) == [name] and name not in dimension_specs("all")
    assert create_metric("i2v_background").weights_needed() == ["dreamsim_ensemble", "dino_vitb16"]
    # options travel as in --metrics: the Lucas-Kanade tracker needs no weights
    assert dimension_specs("camera_motion@tracker=lk,i2v_subject") == ["camera_motion@tracker=lk", "i2v_subject"]
    assert create_metric("camera_motion@tracker=lk").weights_needed() == []
    assert dimension_specs("all,camera_motion,camera_motion") == [*dimension_specs("all"), "camera_motion"]
    from vgbench.bench.errors import ConfigError

    with pytest.raises(ConfigError, match="option tracker has no value"):  # not silently the default tracker
        create_metric(dimension_specs("camera_motion@tracker=")[0])
    with pytest.raises(ConfigError, match="'tracker' is given twice"):
        create_metric("camera_motion@tracker=lk@tracker=cotracker2")


def test_adaptive_crops_equal_vbench_for_every_ratio(tmp_path):
    """VBench-I2V's crop_to_diff_ratio on scikit-image's images: the same boxes at 1:1, 8:5, 7:4 and 16:9 and, with
    the same input files, byte-identical crops."""
    import hashlib

    from golden import GOLDEN
    from golden.i2v_crop_info import INFO, write_images
    from vgbench.prompts.i2v_suite import crop_image, target_bbox

    ref = json.loads((GOLDEN / "i2v_crops" / "reference.json").read_text())
    images = write_images(tmp_path / "images")
    same_inputs = all(hashlib.sha256((images / n).read_bytes()).hexdigest() == h for n, h in ref["images"].items())
    for key, r in ref["crops"].items():
        ratio, name = key.split("/")
        bbox = target_bbox(next(i for i in INFO if i["file_name"] == name), ratio)
        assert bbox == r["bbox"], key
        out = crop_image(images / name, bbox, tmp_path / ratio / name)
        if same_inputs:
            assert hashlib.sha256(out.read_bytes()).hexdigest() == r["file_sha256"], key


def test_vbench_i2v_suite_import_crops_and_labels(tmp_path, cli):
    """`vgbench prompts import vbench-i2v`: prompts with their cropped image, dimensions and camera labels; a
    missing image folder is an input error naming the file."""
    from golden.i2v_crop_info import INFO, write_images

    images = write_images(tmp_path / "images")
    (tmp_path / "info.json").write_text(json.dumps(INFO))
    full = [{"prompt_en": "an astronaut in a white suit", "dimension": ["i2v_subject", "subject_consistency"],
             "image_type": "human", "image_name": "astronaut.jpg"},
            {"prompt_en": "an astronaut in a white suit, camera pans left", "dimension": ["camera_motion"],
             "image_type": "human", "image_name": "astronaut.jpg"},
            {"prompt_en": "a cup of coffee", "dimension": ["i2v_background"], "image_type": "food",
             "image_name": "coffee.jpg"}]
    (tmp_path / "full.json").write_text(json.dumps(full))
    code, out, err = cli("prompts", "import", "vbench-i2v", tmp_path / "full.json", "--crop-info",
                         tmp_path / "info.json", "--images", images, "--crops", tmp_path / "crops", "--ratio", "16-9",
                         "-o", tmp_path / "i2v.yaml")
    assert code == 0, err
    from vgbench.prompts.schema import load_suite

    suite = load_suite(tmp_path / "i2v.yaml")
    assert [p.aux for p in suite.prompts] == [{}, {"camera_motion": {"camera_motion": "pan_left"}}, {}]
    assert suite.prompts[0].image == suite.prompts[1].image and suite.prompts[0].image.endswith("16-9/astronaut.jpg")
    from PIL import Image

    assert Image.open(suite.prompts[2].image).size == (592, 333)  # 16:9 of the 338-px-high first crop
    code, out, err = cli("prompts", "import", "vbench-i2v", tmp_path / "full.json", "--crop-info",
                         tmp_path / "info.json", "--images", tmp_path / "nowhere", "--crops", tmp_path / "c2")
    assert code == 3 and "astronaut.jpg is missing" in err
    # an image_name that leaves --images / --crops is refused before anything is written (it could overwrite the
    # source image or any file the user can write)
    victim = images / "astronaut.jpg"
    before = victim.read_bytes()
    for bad in (str(victim), "../images/astronaut.jpg"):
        (tmp_path / "bad.json").write_text(json.dumps([{**full[0], "image_name": bad}]))
        code, out, err = cli("prompts", "import", "vbench-i2v", tmp_path / "bad.json", "--crop-info",
                             tmp_path / "info.json", "--images", images, "--crops", tmp_path / "c3", "--ratio", "1-1")
        assert code == 3 and "must be a file name inside --images" in err, err
    assert victim.read_bytes() == before and not (tmp_path / "c3").exists()
    # two records of one prompt text (VBench names videos by it), and an unreadable image: refused, naming the
    # records / the file, before any crop is written
    (tmp_path / "dup.json").write_text(json.dumps([full[2], full[0], {**full[0], "image_name": "coffee.jpg"}]))
    code, out, err = cli("prompts", "import", "vbench-i2v", tmp_path / "dup.json", "--crop-info",
                         tmp_path / "info.json", "--images", images, "--crops", tmp_path / "c4")
    assert code == 3 and "records 1 and 2 have the same prompt text" in err, err
    (tmp_path / "nocam.json").write_text(json.dumps([{**full[1], "prompt_en": "an astronaut, the camera moves"}]))
    code, out, err = cli("prompts", "import", "vbench-i2v", tmp_path / "nocam.json", "--crop-info",
                         tmp_path / "info.json", "--images", images, "--crops", tmp_path / "c4")
    assert code == 3 and "record 0: dimension camera_motion" in err and "camera pans left" in err, err
    (tmp_path / "odd.json").write_text(json.dumps([{**full[2], "dimension": ["i2v_background", "foo_bar"]}]))
    code, out, err = cli("prompts", "import", "vbench-i2v", tmp_path / "odd.json", "--crop-info",
                         tmp_path / "info.json", "--images", images, "--crops", tmp_path / "c6", "-o", tmp_path / "o.yaml")
    assert code == 0 and "names dimensions vgbench does not compute: foo_bar" in err, err
    # a missing input file, crops that would land on the original images, -o naming the input, an output folder
    # that cannot be made (checked before any crop): input errors naming the file, nothing written
    base = ("prompts", "import", "vbench-i2v")
    code, out, err = cli(*base, tmp_path / "nope.json", "--crop-info", tmp_path / "info.json", "--images", images,
                         "--crops", tmp_path / "c7")
    assert code == 3 and "nope.json: no such file" in err, err
    for fmt in ("vbench", "list"):
        code, out, err = cli("prompts", "import", fmt, tmp_path / "nope.txt")
        assert code == 3 and "nope.txt: no such file" in err, (fmt, err)
    code, out, err = cli(*base, tmp_path / "full.json", "--crop-info", tmp_path / "info.json", "--images",
                         tmp_path / "c8" / "16-9", "--crops", tmp_path / "c8", "--ratio", "16-9")
    assert code == 3 and "which is the --images folder" in err, err
    code, out, err = cli(*base, tmp_path / "full.json", "--crop-info", tmp_path / "info.json", "--images", images,
                         "--crops", tmp_path / "c9", "-o", tmp_path / "full.json")
    assert code == 2 and "is the input file" in err and json.loads((tmp_path / "full.json").read_text()) == full
    (tmp_path / "afile").write_text("")
    code, out, err = cli(*base, tmp_path / "full.json", "--crop-info", tmp_path / "info.json", "--images", images,
                         "--crops", tmp_path / "c9", "-o", tmp_path / "afile" / "suite.yaml")
    assert code != 0 and "cannot write" in err and not (tmp_path / "c9").exists(), err
    # one dimension written without its list is that dimension; an empty prompt or a "." image name is refused
    (tmp_path / "one.json").write_text(json.dumps([{**full[2], "dimension": "i2v_background"}]))
    code, out, err = cli(*base, tmp_path / "one.json", "--crop-info", tmp_path / "info.json", "--images", images,
                         "--crops", tmp_path / "c10", "-o", tmp_path / "one.yaml")
    assert code == 0 and load_suite(tmp_path / "one.yaml").prompts[0].dimensions == ("i2v_background",), err
    for bad, msg in (({"prompt_en": " "}, "'prompt_en' is empty"), ({"image_name": "."}, "must be a file name")):
        (tmp_path / "bad.json").write_text(json.dumps([{**full[2], **bad}]))
        code, out, err = cli(*base, tmp_path / "bad.json", "--crop-info", tmp_path / "info.json", "--images", images,
                             "--crops", tmp_path / "c11")
        assert code == 3 and msg in err, err
    assert not (tmp_path / "c4").exists()
    # a JPEG cut short decodes only when cropped: the crops made before it are not put in place either
    (images / "coffee.jpg").write_bytes((images / "coffee.jpg").read_bytes()[:2000])
    code, out, err = cli("prompts", "import", "vbench-i2v", tmp_path / "full.json", "--crop-info",
                         tmp_path / "info.json", "--images", images, "--crops", tmp_path / "c5")
    assert code == 3 and "coffee.jpg" in err and "cannot crop it" in err, err
    assert not (tmp_path / "c5").exists()


@pytest.mark.parametrize("case", ["all", "partial"])
def test_vbench_i2v_total_equals_cal_i2v_final_score(case):
    """The vbench-i2v scheme against VBench's own cal_i2v_final_score functions on stored values (``partial``: the
    dimensions vgbench cannot score yet count 0, as VBench's submission does)."""
    from golden import GOLDEN
    from vgbench.leaderboards.schemes import load_scheme

    ref = json.loads((GOLDEN / "vbench_i2v_scheme" / "reference.json").read_text())[case]
    agg = load_scheme("vbench-i2v").aggregate(ref["values"])
    for key in ("quality", "i2v", "total"):
        assert agg[key] == pytest.approx(ref[key], abs=1e-12)
    assert (case == "partial") == bool(agg["missing"])


def test_a_missing_conditioning_image_is_a_suite_error_and_manifests_carry_images(tmp_path, cli):
    """A suite image that does not exist stops the plan (exit 3, naming the prompt and the file); a folder's
    manifest.json may give each video its conditioning image (relative to the folder)."""
    suite = tmp_path / "s.yaml"
    suite.write_text("suite: s\nprompts:\n  - {id: p0, text: a cat, image: nowhere.png}\n")
    code, _, err = cli("run", "--model", "image-pan", "--suite", suite, "--out", tmp_path / "out", "--no-progress")
    assert code == 3 and "prompt 'p0': its conditioning image" in err and "nowhere.png does not exist" in err
    from vgbench.bench.sources import load_source
    from vgbench.bench.video import write_video

    folder = tmp_path / "api"
    folder.mkdir()
    write_video(folder / "v0.mp4", np.zeros((2, 16, 16, 3), np.uint8), 8.0)
    (folder / "manifest.json").write_text(json.dumps({"items": [{"file": "v0.mp4", "image": "first/v0.png"}]}))
    item = load_source(folder).items[0]
    assert item.image == str((folder / "first" / "v0.png").resolve())
