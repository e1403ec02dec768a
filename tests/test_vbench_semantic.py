"""VBench semantic dimensions, the static-filtered temporal flickering, dimension membership and one-pass sharing.

The scoring rules are checked against hand-computed cases; the metrics run end to end with a scripted detector and
captioner, and the transformers backends (OWLv2, BLIP) with tiny random models saved and loaded the real way
(``from_pretrained`` of a local folder, offline).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from vgbench.bench.errors import MetricError
from vgbench.bench.video import Video
from vgbench.metrics.base import ItemScore
from vgbench.metrics.vbench import semantic
from vgbench.metrics.vbench.detection import COCO_CLASSES, Captioner, Detection, ObjectDetector


# ---- VBench's rules --------------------------------------------------------------------------------------------
def test_position_score_follows_vbench():
    left, right = (0, 0, 10, 10), (20, 0, 30, 10)
    assert semantic.position_score("on the left of", left, right) == 1.0
    assert semantic.position_score("on the right of", left, right) == 1.0  # direction is not distinguished
    assert semantic.position_score("on the top of", left, right) == 0.0  # |dy| < |dx|
    assert semantic.position_score("on the bottom of", (0, 0, 10, 10), (0, 20, 10, 30)) == 1.0
    a, b = (0, 0, 10, 10), (5, 0, 15, 10)  # IoU = 50 / 150
    assert semantic.position_score("on the left of", a, b) == pytest.approx(0.1 / (50 / 150))
    assert semantic.position_score("next to", a, b) == 0.0


def test_spatial_frame_scores_take_the_best_pair_including_same_object_pairs():
    frames = [
        [("cat", (0, 0, 10, 10)), ("dog", (20, 0, 30, 10))],
        [("cat", (0, 0, 10, 10))],
        [],
        [("cat", (0, 0, 10, 10)), ("cat", (0, 20, 10, 30)), ("car", (20, 0, 30, 10))],  # vertical cat pair
    ]
    got = semantic.spatial_frame_scores(frames, "cat", "dog", "on the top of")
    assert got == [0.0, 0.0, 0.0, 1.0]
    assert semantic.spatial_frame_scores(frames, "cat", "dog", "on the left of") == [1.0, 0.0, 0.0, 0.0]


def test_colour_scene_and_object_rules():
    assert semantic.color_object_key("a red bicycle", "red") == "bicycle"
    assert semantic.color_object_key("an orange cat", "orange") == "cat"
    assert semantic.color_object_key("a yellow banana", "yellow") == "banana"
    assert semantic.color_video_score(["red", None, "blue", "red"], "red") == (2 / 3, 3, 2)
    assert semantic.color_video_score([None, None], "red") == (None, 0, 0)
    assert semantic.scene_frames(["a narrow alley at night", "a street"], "alley") == [True, False]
    assert semantic.scene_frames(["a forest with a path", "a forest"], "forest path") == [True, False]
    labels = [{"dog", "frisbee"}, {"dog"}, set()]
    assert semantic.object_class_frames(labels, "dog") == [True, True, False]
    assert semantic.multiple_objects_frames(labels, "dog and frisbee") == [True, False, False]
    assert semantic.aux_value({"scene": {"scene": {"scene": "alley"}}}, "scene") == "alley"


# ---- metrics with a scripted detector / captioner -----------------------------------------------------------------
class ScriptedDetector(ObjectDetector):
    """Detects a fixed set of boxes in the first ``n`` frames of the 16 it is given; counts its calls."""

    name = "scripted"
    weights_sha256 = "scripted"

    def __init__(self, boxes, n=8):
        self.boxes, self.n, self.calls = boxes, n, 0

    def detect(self, frames, vocabulary):
        self.calls += 1
        assert frames.shape[0] == 16
        out = []
        for i in range(frames.shape[0]):
            out.append([Detection(lbl, box, 0.9) for lbl, box in self.boxes if lbl in vocabulary] if i < self.n
                       else [])
        return out


def _video(t=24):
    return Video(torch.randint(0, 255, (t, 32, 48, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)),
                 8.0)


def _metric(name, model):
    from vgbench.metrics.registry import create_metric

    m = create_metric(name)
    m.device, m.model = "cpu", model
    m.fidelity, m.backbone, m.weights_sha256 = model.fidelity, model.name, model.weights_sha256
    return m


def test_detector_dimensions_share_detections_in_one_pass():
    from vgbench.bench import features as shared

    det = ScriptedDetector([("dog", (0, 0, 10, 10)), ("frisbee", (30, 0, 40, 10)), ("cat", (0, 20, 10, 30))])
    video = _video()
    oc, mo, sr = (_metric(n, det) for n in ("object_class", "multiple_objects", "spatial_relationship"))
    a = oc.score(video, aux={"object_class": {"object": "dog"}})
    b = mo.score(video, aux={"multiple_objects": {"object": "dog and frisbee"}})
    c = sr.score(video, aux={"spatial_relationship": {"spatial_relationship": {
        "object_a": "dog", "object_b": "frisbee", "relationship": "on the left of"}}})
    assert (a.value, a.weight) == (0.5, 16.0) and b.value == 0.5 and c.value == 0.5
    assert det.calls == 1  # COCO classes: one detection pass serves the three dimensions
    assert a.extra["fidelity"] == "vbench-style"
    d = oc.score(video, aux={"object_class": {"object": "unicorn"}})  # not COCO: another vocabulary
    assert d.value == 0.0 and det.calls == 2
    with pytest.raises(Exception, match="aux.object_class.object"):
        oc.score(_video(), aux={})
    assert shared.stats()["hits"] >= 2


def test_colour_leaves_out_videos_without_the_object():
    det = ScriptedDetector([("red bicycle", (0, 0, 10, 10))], n=4)
    m = _metric("color", det)
    s = m.score(_video(), prompt="a red bicycle", aux={"color": {"color": "red"}})
    assert (s.value, s.extra["object_frames"], s.extra["color_frames"]) == (1.0, 4, 4)
    none = m.score(_video(), prompt="a blue bus", aux={"color": {"color": "blue"}})
    assert none.weight == 0.0 and none.extra["left_out"]
    m.add("a", s)
    m.add("b", none)
    m.add("c", ItemScore(0.5, 1.0, {}))
    r = m.compute()
    assert r.value == 0.75 and r.n_items == 2 and r.details["items_left_out"] == 1


def test_scene_with_a_scripted_captioner():
    class Fixed(Captioner):
        name, weights_sha256 = "fixed", "x"

        def caption(self, frames):
            return ["a dark alley" if i % 4 == 0 else "a street" for i in range(frames.shape[0])]

    s = _metric("scene", Fixed()).score(_video(), aux={"scene": {"scene": {"scene": "alley"}}})
    assert s.value == 0.25 and s.weight == 16.0 and len(s.extra["captions"]) == 16


def test_human_action_rule_and_transform(monkeypatch, tmp_path):
    from vgbench.metrics.registry import create_metric

    from torchvision.models._meta import _KINETICS400_CATEGORIES

    # a label file in VBench's format (name<TAB>index, any order of lines), here with torchvision's names
    labels = [c.lower() for c in _KINETICS400_CATEGORIES]
    f = tmp_path / "k400.txt"
    f.write_text("".join(f"{n}\t{i}\n" for i, n in reversed(list(enumerate(labels)))))
    assert semantic.kinetics400_labels(str(f)) == labels
    (tmp_path / "bad.txt").write_text("riding a bike 0\n")
    with pytest.raises(MetricError, match="bad.txt:1: expected 'name<TAB>index'"):
        semantic.kinetics400_labels(str(tmp_path / "bad.txt"))
    x = semantic.umt_transform(torch.zeros(16, 240, 320, 3, dtype=torch.uint8))
    assert x.shape == (1, 3, 16, 224, 224)
    m = create_metric("human_action")
    m.labels, m.device = labels, "cpu"
    logits = torch.full((1, 400), -10.0)
    logits[0, labels.index("riding a bike")] = 3.0  # sigmoid 0.95 ≥ 0.85
    logits[0, labels.index("juggling balls")] = 1.0  # sigmoid 0.73: in the top 5 but not confident
    monkeypatch.setattr(m, "net", lambda name: (lambda inp: logits))
    assert m.score(_video(), prompt="A person is riding a bike").value == 1.0
    s = m.score(_video(), prompt="A person is juggling balls")
    assert s.value == 0.0 and s.extra["kept"] == ["riding a bike"] and s.extra["top5"][1] == "juggling balls"


# ---- static-filtered temporal flickering -----------------------------------------------------------------------
def test_static_filter_keeps_at_most_five_static_videos_per_prompt():
    from vgbench.metrics.registry import create_metric

    m = create_metric("temporal_flickering/vbench_static_filter")
    for i in range(8):  # prompt p: 7 static (values 0.9 + i/100) and one moving
        m.add(f"p{i}", ItemScore(0.9 + i / 100, 1.0, {"static": i != 2}))
    m.add("q0", ItemScore(0.5, 1.0, {"static": True}))
    m.item_groups = {f"p{i}": ("p", i) for i in range(8)} | {"q0": ("q", 0)}
    r = m.compute()
    kept = [0.90, 0.91, 0.93, 0.94, 0.95, 0.5]  # p: samples 0,1,3,4,5 (2 moves; 6,7 over the cap)
    assert r.value == pytest.approx(sum(kept) / 6)
    assert r.details["static_filter"] == {"scored": 9, "kept": 6, "moving": 1, "over_cap": 2, "keep_per_prompt": 5}
    assert any("static filter" in f for f in r.flags)


# ---- dimension membership, sharing and the transformers backends end to end -------------------------------------
@pytest.fixture(scope="module")
def tiny_owlv2(tmp_path_factory):
    from transformers import Owlv2Config, Owlv2ForObjectDetection

    torch.manual_seed(0)
    cfg = Owlv2Config(text_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                       num_attention_heads=2, max_position_embeddings=16),
                      vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=2, image_size=64, patch_size=16), projection_dim=32)
    path = tmp_path_factory.mktemp("owlv2")
    Owlv2ForObjectDetection(cfg).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_blip(tmp_path_factory):
    from golden.tiny_blip import blip_captioner

    return blip_captioner(tmp_path_factory.mktemp("blip"), ["a", "of", "the", "kitchen", "beach", "street"])


def test_scene_blip_substitute_is_labelled_style(tiny_blip):
    """``scene@captioner=blip`` (revision 1's captioner, kept as an option): BLIP captions of the 16 middle frames as
    decoded, labelled vbench-style, with BLIP's folder hash."""
    from vgbench.metrics.registry import create_metric

    m = create_metric(f"scene@captioner=blip@captioner_path={tiny_blip}")
    assert m.protocol_id == "scene/vbench@rev=2@captioner=blip"
    m.load(device="cpu")
    s = m.score(_video(), aux={"scene": {"scene": "kitchen"}})
    assert m.fidelity == "vbench-style" and m.backbone == "blip" and len(m.weights_sha256) == 64
    assert len(s.extra["captions"]) == 16 and s.extra["frames"] == "as decoded" and 0 <= s.value <= 1


def test_owlv2_backend_maps_boxes_to_the_frame(tiny_owlv2):
    from vgbench.metrics.vbench.detection import OWLv2Detector

    det = OWLv2Detector.load(str(tiny_owlv2), threshold=0.0)
    frames = torch.randint(0, 255, (2, 48, 80, 3), dtype=torch.uint8)
    out = det.detect(frames, list(COCO_CLASSES))
    assert len(out) == 2 and len(out[0]) == 16  # 64/16 squared patches, one box each
    for d in out[0]:
        x0, y0, x1, y1 = d.box
        assert 0 <= x0 <= x1 <= 80 and 0 <= y0 <= y1 <= 48 and d.label in COCO_CLASSES and 0 <= d.score <= 1
    assert len(det.weights_sha256) == 64


def test_vbench_style_suite_runs_every_dimension_on_its_prompts(tmp_path, cli, monkeypatch, tiny_owlv2,
                                                                tiny_tag2text):
    """A suite whose prompts serve different dimensions: each dimension scores only its prompts; the detector ones
    run OWLv2 and say vbench-style, scene runs Tag2Text (weights from their environment variables) and says
    vbench-exact; a second evaluation is fully cached."""
    from vgbench.bench import settings
    from vgbench.bench.runs import RunConfig, execute_run, plan_run

    monkeypatch.setenv("VGBENCH_OWLV2", str(tiny_owlv2))
    for name, path in tiny_tag2text.items():
        monkeypatch.setenv(settings.weights_variable(name), str(path))
    suite = tmp_path / "mini.yaml"
    suite.write_text(
        "suite: mini\nsamples_per_prompt: 1\nprompts:\n"
        "  - {id: obj, text: a dog, dimensions: [object_class], aux: {object_class: {object: dog}}}\n"
        "  - {id: two, text: a dog and a cat, dimensions: [multiple_objects],"
        " aux: {multiple_objects: {object: dog and cat}}}\n"
        "  - {id: col, text: a red car, dimensions: [color], aux: {color: {color: red}}}\n"
        "  - {id: rel, text: a dog on the left of a cat, dimensions: [spatial_relationship], aux: {"
        "spatial_relationship: {object_a: dog, object_b: cat, relationship: on the left of}}}\n"
        "  - {id: scn, text: a kitchen, dimensions: [scene, background_consistency], aux: {scene: {scene: kitchen}}}\n")
    plan = plan_run(RunConfig(model="shapes", suite=str(suite), out=str(tmp_path / "gen"), frames=8, width=64,
                              height=48))
    execute_run(plan, progress=False)
    items = json.loads((plan.run_dir / "run.json").read_text())["items"]
    assert [it["dimensions"] for it in items][-1] == ["scene", "background_consistency"]
    dims = "object_class,multiple_objects,color,spatial_relationship,scene,background_consistency"
    args = ("evaluate", plan.run_dir, "--dimensions", dims, "--allow-random-weights", "--json", "--per-item",
            "--no-progress", "--db", tmp_path / "db.sqlite")
    code, out, err = cli(*args)
    assert code == 0, err
    doc = json.loads(out)
    for name in ("object_class", "multiple_objects", "spatial_relationship", "scene"):
        r = doc["metrics"][name]
        exact = name == "scene"
        assert r["n_items"] == 1 and r["details"]["fidelity"] == ("vbench-exact" if exact else "vbench-style"), r
        assert r["backbone"] == ("tag2text" if exact else "owlv2") and len(r["weights_sha256"]) == (129 if exact
                                                                                                  else 64)
        assert 0.0 <= r["value"] <= 1.0
    assert doc["metrics"]["background_consistency"]["n_items"] == 1
    assert doc["metrics"]["background_consistency"]["details"]["fidelity"] == "vbench-exact"
    assert doc["scores_skipped_not_in_dimension"] == 5 * 6 - 6
    code, out, err = cli(*args)
    assert json.loads(out)["scores_computed"] == 0


def test_prompt_dependent_scores_are_not_reused_across_prompts(tmp_path, cli):
    """Two byte-identical videos with different prompts: a text–video score is computed for each."""
    import shutil

    from vgbench.bench.video import write_video

    root = tmp_path / "api"
    root.mkdir()
    frames = np.random.default_rng(0).integers(0, 255, (4, 48, 64, 3), dtype=np.uint8)
    write_video(root / "a.mp4", frames, 8.0)
    shutil.copy(root / "a.mp4", root / "b.mp4")
    (root / "a.txt").write_text("a red apple")
    (root / "b.txt").write_text("a spaceship landing on the moon")
    code, out, err = cli("evaluate", root, "--metrics", "clip_score/clipsim", "--allow-random-weights", "--json",
                         "--per-item", "--no-progress", "--db", tmp_path / "db.sqlite")
    assert code == 0, err
    doc = json.loads(out)
    per = doc["metrics"]["clip_score/clipsim"]["per_item"]
    assert doc["scores_computed"] == 2 and per["a.mp4"] != per["b.mp4"]


def test_one_pass_shares_raft_flows_and_viclip_embeddings(monkeypatch):
    """Dynamic degree and the static filter share RAFT flows on the same video; overall consistency and temporal style
    share the ViCLIP video embedding. A fresh decode (a new Video) shares nothing."""
    from vgbench.metrics.registry import create_metric
    from vgbench.bench import features as shared

    calls = {"raft": 0}

    def fake_raft(i1, i2, iters=20, test_mode=True):
        calls["raft"] += 1
        return None, torch.zeros(1, 2, *i1.shape[-2:])

    frames = np.random.default_rng(1).integers(0, 255, (6, 32, 32, 3), dtype=np.uint8)
    video = Video.from_numpy(frames, 8.0)
    dd = create_metric("dynamic_degree")
    tf = create_metric("temporal_flickering/vbench_static_filter")
    for m in (dd, tf):
        m.device = "cpu"
        monkeypatch.setattr(m, "net", lambda name: fake_raft)
    assert dd.score(video).value == 0.0
    assert calls["raft"] == 5  # 5 consecutive pairs (interval 1 at 8 fps)
    assert tf.score(video).extra["static"] is True
    assert calls["raft"] == 7  # only the two wrap-around pairs are new
    dd.score(Video.from_numpy(frames, 8.0))
    assert calls["raft"] == 12  # a new decode: recomputed

    class FakeViCLIP:
        n = 0

        def encode_video(self, x):
            FakeViCLIP.n += 1
            return torch.nn.functional.normalize(x.mean(dim=(2, 3, 4)).flatten()[None, :1].repeat(1, 4), dim=-1)

        def encode_text(self, ids):
            return torch.nn.functional.normalize(torch.ones(1, 4), dim=-1)

    net = FakeViCLIP()
    oc, ts = create_metric("overall_consistency"), create_metric("temporal_style")
    for m in (oc, ts):
        m.device = "cpu"
        monkeypatch.setattr(m, "net", lambda name: net)
    before = shared.stats()["hits"]
    a, b = oc.score(video, prompt="a cat"), ts.score(video, prompt="a cat, zoom in")
    assert FakeViCLIP.n == 1 and shared.stats()["hits"] == before + 1
    assert a.value == pytest.approx(b.value)


def test_vbench_total_names_the_dimensions_that_are_not_exact():
    from vgbench.leaderboards.schemes import VBENCH
    from vgbench.metrics.vbench.table import DIMENSIONS as VBENCH_TABLE
    from vgbench.leaderboards.site import _scheme_scores

    cols = {d.name: {"protocol": f"{d.name}/vbench", "metric": d.name, "value": 0.9, "fidelity": "vbench-exact"}
            for d in VBENCH.dimensions}
    grit = ["color", "multiple_objects", "object_class", "spatial_relationship"]  # OWLv2 in GRiT's place
    for d in grit:
        cols[d]["fidelity"] = "vbench-style"
    runs = [{"columns": cols}]
    assert len(_scheme_scores(runs, VBENCH)) == 16
    assert runs[0]["scheme_not_exact"] == grit and not runs[0]["scheme_missing"]
    # scene is exact now (Tag2Text): a Total over the other twelve dimensions carries no "not exact" badge
    from dataclasses import replace

    twelve = replace(VBENCH, name="vbench-no-grit", dimensions=tuple(d for d in VBENCH.dimensions if d.name not in grit))
    runs = [{"columns": cols}]
    assert len(_scheme_scores(runs, twelve)) == 12 and runs[0]["scheme_not_exact"] == []
    assert sorted(d.name for d in VBENCH_TABLE if "style" in d.note) == grit


def test_vbench_style_suite_covers_the_16_dimensions_with_their_aux_info():
    from vgbench.metrics.vbench.dimensions import DIMENSION_METRICS
    from vgbench.prompts.importers import vbench_action_label
    from vgbench.prompts.schema import load_suite

    suite = load_suite("vbench-style")
    by_dim: dict[str, list] = {}
    for p in suite.prompts:
        for d in p.dimensions:
            by_dim.setdefault(d, []).append(p)
    assert set(by_dim) == set(DIMENSION_METRICS) and all(len(v) >= 3 for v in by_dim.values())
    assert {suite.samples_for(p) for p in by_dim["temporal_flickering"]} == {25}
    assert {suite.samples_for(p) for p in suite.prompts if "temporal_flickering" not in p.dimensions} == {5}
    for p in by_dim["object_class"]:
        assert semantic._aux(p.aux, "object_class", "object") in COCO_CLASSES
    for p in by_dim["multiple_objects"]:
        assert all(o in COCO_CLASSES for o in semantic.split_pair(semantic._aux(p.aux, "multiple_objects", "object")))
    for p in by_dim["color"]:
        c = semantic._aux(p.aux, "color", "color")
        assert c in semantic.COLORS and semantic.color_object_key(p.text, c) in COCO_CLASSES
    for p in by_dim["spatial_relationship"]:
        info = semantic.aux_value(p.aux, "spatial_relationship")
        assert info["object_a"] in COCO_CLASSES and info["object_b"] in COCO_CLASSES
    from torchvision.models._meta import _KINETICS400_CATEGORIES

    labels = {c.lower() for c in _KINETICS400_CATEGORIES}  # the same 400 names as VBench's list, in another order
    for p in by_dim["human_action"]:
        assert vbench_action_label(p.text) == p.aux["human_action"]["action"] and p.aux["human_action"]["action"] \
            in labels
    for p in by_dim["scene"]:
        assert semantic._aux(p.aux, "scene", "scene")
    for p in by_dim["appearance_style"]:
        assert p.aux["appearance_style"]["appearance_style"] in p.text or "style" in p.text


def test_one_dimension_table_feeds_the_cli_the_scheme_and_the_evaluator():
    """VBench's dimensions are declared once (metrics/vbench/table.py): every row's metric exists with the protocol
    it names and declares that dimension, and the scheme, --dimensions and the help text are built from the table."""
    from vgbench.bench.cli import build_parser
    from vgbench.leaderboards.schemes import VBENCH, VBENCH_PROTOCOLS
    from vgbench.metrics.registry import create_metric
    from vgbench.metrics.vbench.dimensions import DIMENSION_METRICS, dimension_specs
    from vgbench.metrics.vbench.table import DIMENSIONS

    assert len(DIMENSIONS) == 16 and [d.name for d in VBENCH.dimensions] == [d.name for d in DIMENSIONS]
    assert dimension_specs("all") == [d.metric for d in DIMENSIONS] == list(DIMENSION_METRICS.values())
    for d in DIMENSIONS:
        m = create_metric(d.metric)
        assert m.protocol_id.split("@")[0] == d.protocol_id and m.dimension == d.name
        assert VBENCH_PROTOCOLS[d.protocol_id] == d.name
    sub = next(a for a in build_parser()._subparsers._group_actions[0].choices["evaluate"]._actions
               if "--dimensions" in a.option_strings)
    assert all(d.name in sub.help for d in DIMENSIONS)
