"""CLIP score and ViCLIP score: recipes checked against independent formulas and reference transforms.

Networks are seeded random inits of the real architectures (no weights are downloaded); the ViCLIP layout is checked
against the official checkpoint's recorded state_dict (``../shared/golden/viclip_l14``).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import shared_path
from vgbench.bench.video import Video
from vgbench.metrics.backbones.checkpoint import state_dict_shapes

LONG_PROMPT = " ".join(["a red panda climbing a snowy bamboo tree at dawn"] * 12)


@pytest.fixture(scope="module")
def frames():
    g = torch.Generator().manual_seed(7)
    return torch.randint(0, 256, (6, 120, 160, 3), dtype=torch.uint8, generator=g)


@pytest.fixture(scope="module")
def clipsim():
    from vgbench.metrics.registry import create_metric

    m = create_metric("clip_score/clipsim")
    m.load(allow_random=True, device="cpu")
    return m


# ---- tokenisation ---------------------------------------------------------------------------------------------------
def test_tokenize_truncation_variants():
    from vgbench.metrics.backbones.clip import tokenize

    short = tokenize("a cat", 77)
    assert not short.truncated and short.ids[0, 0] == 49406 and 49407 in short.ids[0].tolist()
    kept = tokenize(LONG_PROMPT, 77, force_eot=True)
    cut = tokenize(LONG_PROMPT, 77, force_eot=False)
    assert kept.truncated and cut.truncated and kept.n_tokens > 77
    assert kept.ids[0, -1] == 49407 and kept.eot_kept          # open_clip / EvalCrafter (HF truncation=True)
    assert cut.ids[0, -1] != 49407 and not cut.eot_kept        # torchmetrics slices input_ids[..., :77]
    assert torch.equal(kept.ids[0, :76], cut.ids[0, :76])
    assert tokenize(LONG_PROMPT, 32).ids.shape == (1, 32)      # ViCLIP's context


# ---- preprocessing vs the reference transforms ----------------------------------------------------------------------
def test_clipsim_preprocessing_equals_open_clip_transform(frames):
    """clipsim uses open_clip's own eval transform: compare with it applied to PIL images."""
    import open_clip
    from PIL import Image

    from vgbench.metrics.alignment.clip_score import preprocess_clip_pil

    tf = open_clip.image_transform(224, is_train=False, mean=open_clip.OPENAI_DATASET_MEAN,
                                   std=open_clip.OPENAI_DATASET_STD)
    ours = preprocess_clip_pil(frames[:2], crop_rounding="round")
    theirs = torch.stack([tf(Image.fromarray(f.numpy())) for f in frames[:2]])
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)


def test_hf_crop_differs_only_in_rounding():
    """HF crops at (h-224)//2, torchvision at round((h-224)/2): a margin of 3 gives offsets 1 vs 2."""
    from vgbench.metrics.alignment.clip_score import preprocess_clip_pil, shorter_side_size

    assert shorter_side_size(360, 640) == (224, 398) and shorter_side_size(640, 360) == (398, 224)
    f = torch.arange(225 * 3 * 229, dtype=torch.int64).remainder(251).to(torch.uint8).reshape(1, 225, 229, 3)
    a = preprocess_clip_pil(f, "floor")
    b = preprocess_clip_pil(f, "round")
    assert a.shape == b.shape == (1, 3, 224, 224) and not torch.equal(a, b)


def test_evalcrafter_preprocessing_is_raw_cv2_squash(frames):
    import cv2

    from vgbench.metrics.alignment.clip_score import preprocess_evalcrafter

    x = preprocess_evalcrafter(frames[:1])
    ref = cv2.resize(frames[0].numpy(), (224, 224), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    assert x.shape == (1, 3, 224, 224) and x.max() > 1.5  # raw 0-255, no normalisation
    np.testing.assert_array_equal(x[0].permute(1, 2, 0).numpy(), ref)


def test_viclip_transform_equals_torchvision_clip_transform(frames):
    """VBench clip_transform(224): Resize(224, BICUBIC, antialias=False) → CenterCrop → /255 → Normalize."""
    from torchvision import transforms as T

    from vgbench.metrics.alignment.viclip_score import vbench_clip_transform

    tf = T.Compose([T.Resize(224, interpolation=T.InterpolationMode.BICUBIC, antialias=False), T.CenterCrop(224),
                    T.Lambda(lambda x: x.float().div(255.0)),
                    T.Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))])
    theirs = tf(frames.permute(0, 3, 1, 2).contiguous())
    torch.testing.assert_close(vbench_clip_transform(frames), theirs, atol=1e-6, rtol=0)


# ---- CLIP score ----------------------------------------------------------------------------------------------------
@pytest.mark.slow  # (default-run budget; CLIP score keeps its evalcrafter parity case in the default run)
def test_clip_score_torchmetrics_formula_on_same_embeddings(frames):
    """The torchmetrics protocol's value equals torchmetrics' formula, max(mean(100·cos), 0), on the same embeddings."""
    from vgbench.metrics.backbones.clip import encode_images, encode_text, tokenize
    from vgbench.metrics.alignment.clip_score import preprocess_clip_pil
    from vgbench.metrics.registry import create_metric

    m = create_metric("clip_score/torchmetrics@backbone=clip_vit_b32_openai")
    m.load(allow_random=True, device="cpu")
    model = m.net("clip_vit_b32_openai")
    prompt = "a red panda climbing a tree"
    img = encode_images(model, preprocess_clip_pil(frames, "floor"))
    txt = encode_text(model, tokenize(prompt, 77, force_eot=False).ids)
    per_frame = 100 * torch.nn.functional.cosine_similarity(img.double(), txt.double().expand_as(img), dim=-1)
    expected = max(float(per_frame.mean()), 0.0)

    s = m.update("v0", Video(frames, 8.0), prompt=prompt)
    assert s.value == pytest.approx(expected, abs=1e-9)
    np.testing.assert_allclose(s.extra["per_frame"], per_frame.numpy(), atol=1e-5)
    r = m.compute()
    assert r.protocol == "clip_score/torchmetrics@backbone=clip_vit_b32_openai"
    assert r.weights_sha256 == "random-init-seed0" and "random weights — not comparable" in r.flags
    assert r.backbone == "clip_vit_b32_openai" and r.unit == "100·cos"


def test_clip_score_clamps_after_the_mean():
    from vgbench.metrics.alignment.clip_score import clip_score_from_embeddings

    txt = torch.tensor([1.0, 0.0])
    img = torch.tensor([[1.0, 0.2], [-1.0, 0.1], [-1.0, 0.0]])  # cosines ~0.98, ~-0.995, -1
    v, pf = clip_score_from_embeddings(img, txt, "torchmetrics")
    assert v == 0.0 and pf[0] > 90
    img2 = torch.tensor([[1.0, 0.2], [-0.2, 1.0]])  # cosines ~0.981, ~-0.196
    v2, pf2 = clip_score_from_embeddings(img2, txt, "torchmetrics")
    assert v2 == pytest.approx((pf2[0] + pf2[1]) / 2) and 39 < v2 < 40  # a per-frame clamp would give ~49
    v3, _ = clip_score_from_embeddings(img, txt, "clipsim")
    assert v3 < 0  # no clamp, no ×100


def test_clip_score_records_truncation_and_sampling(clipsim, frames):
    clipsim.reset()
    s = clipsim.update("long", Video(frames, 8.0), prompt=LONG_PROMPT)
    assert "prompt_truncated" in s.extra and s.extra["prompt_tokens"] > 77
    clipsim.update("short", Video(frames, 8.0), prompt="a cat")
    r = clipsim.compute()
    assert any("1 prompt(s) longer than 77 tokens were truncated" in f for f in r.flags)
    assert r.protocol == "clip_score/clipsim" and r.n_items == 2 and -1 <= r.value <= 1

    from vgbench.metrics.registry import create_metric

    m8 = create_metric("clip_score/clipsim@frames=uniform:3@batch=2")
    assert m8.protocol_id == "clip_score/clipsim@frames=uniform:3"  # batch does not change the numbers
    m8.load(allow_random=True, device="cpu")
    s8 = m8.score(Video(frames, 8.0), prompt="a cat")
    assert s8.extra["frames"] == [0, 2, 5] and len(s8.extra["per_frame"]) == 3


def test_clip_score_batched_equals_one_frame_at_a_time(frames):
    from vgbench.metrics.registry import create_metric

    a = create_metric("clip_score/clipsim@batch=32")
    b = create_metric("clip_score/clipsim@batch=1")
    for m in (a, b):
        m.load(allow_random=True, device="cpu")
    va = a.score(Video(frames, 8.0), prompt="a cat").extra["per_frame"]
    vb = b.score(Video(frames, 8.0), prompt="a cat").extra["per_frame"]
    np.testing.assert_allclose(va, vb, atol=1e-5)


def test_clip_score_needs_prompt_and_weights(frames):
    from vgbench.bench.errors import MetricError
    from vgbench.metrics.backbones.weights import WeightsMissingError
    from vgbench.metrics.registry import create_metric

    m = create_metric("clip_score/clipsim")
    with pytest.raises(WeightsMissingError, match="ViT-B-32.pt"):
        m.load(allow_random=False, device="cpu")
    m.load(allow_random=True, device="cpu")
    with pytest.raises(MetricError, match="needs the video's prompt"):
        m.score(Video(frames, 8.0), prompt=None)


@pytest.mark.slow
def test_openai_torchscript_archive_loads_into_open_clip(tmp_path):
    """An OpenAI-style TorchScript archive (fp16 tensors + 3 int attributes) loads strictly into the open_clip model."""
    from torch import nn

    from vgbench.metrics.backbones.clip import build_clip, is_torchscript_archive, load_clip

    src = build_clip("ViT-B-32", seed=3)
    sd = src.state_dict()

    class Node(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    root = Node()
    for key, value in sd.items():
        *path, leaf = key.split(".")
        mod = root
        for p in path:
            if not hasattr(mod, p):
                mod.add_module(p, Node())
            mod = getattr(mod, p)
        mod.register_buffer(leaf, value.half() if value.is_floating_point() else value.clone())
    for extra in ("input_resolution", "context_length", "vocab_size"):
        root.register_buffer(extra, torch.tensor(224))
    path = tmp_path / "ViT-B-32.pt"
    torch.jit.script(root).save(str(path))
    assert is_torchscript_archive(path)
    dst = load_clip(build_clip("ViT-B-32", seed=4), path, str(path))
    for k, v in dst.state_dict().items():
        torch.testing.assert_close(v, sd[k].half().float() if sd[k].is_floating_point() else sd[k])


# ---- ViCLIP --------------------------------------------------------------------------------------------------------
def test_viclip_layout_matches_official_checkpoint():
    from vgbench.metrics.backbones.viclip import viclip_l14

    golden = json.loads(shared_path("golden", "viclip_l14", "state_dict_shapes.json").read_text())
    model = viclip_l14(device="meta")
    assert state_dict_shapes(model) == golden
    assert sum(p.numel() for p in model.parameters()) == 427_590_145


@pytest.mark.slow
def test_viclip_seeded_random_init_is_deterministic():
    from vgbench.metrics.backbones.clip import tokenize
    from vgbench.metrics.backbones.viclip import viclip_l14

    ids = tokenize("a dog running on the beach", 32).ids
    x = torch.randn(1, 1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    outs = []
    for _ in range(2):
        m = viclip_l14(seed=0)
        outs.append((m.encode_text(ids), m.encode_video(x)))
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])
    assert outs[0][0].shape == (1, 768) and outs[0][1].shape == (1, 768)
    assert float(outs[0][1].norm()) == pytest.approx(1.0, abs=1e-5)
    assert not torch.equal(viclip_l14(seed=1).encode_text(ids), outs[0][0])


@pytest.mark.slow  # (default-run budget, 5 min on 2 cores)
def test_viclip_score_uses_vbench_middle_frames(monkeypatch, frames):
    from vgbench.metrics.registry import create_metric

    m = create_metric("viclip_score")
    m.load(allow_random=True, device="cpu")
    seen = {}
    model = m.net("viclip_l14")
    orig = model.encode_video

    def spy(x):
        seen["shape"] = tuple(x.shape)
        return orig(x[:, :1])  # one frame keeps the test fast; the sampling is what is checked here

    monkeypatch.setattr(model, "encode_video", spy)
    v = Video(torch.cat([frames, frames, frames[:4]]), 8.0)  # 16 frames
    s = m.score(v, prompt="a cat")
    assert s.extra["frames"] == [0, 2, 4, 6, 8, 10, 12, 14] and seen["shape"] == (1, 8, 3, 224, 224)
    assert -1.0 <= s.value <= 1.0
    assert m.compute().protocol == "viclip_score/vbench"


@pytest.mark.parametrize("name", ["clip_vit_b32_openai", "alexnet_lpips"])
def test_torchvision_and_open_clip_backbones_seeded_init_is_deterministic(name):
    """open_clip / torchvision architectures load their official files as they are; their seeded random inits
    (what tests and --allow-random-weights use) are reproducible."""
    from vgbench.metrics.backbones.registry import BACKBONES, _fn

    build = _fn(BACKBONES[name].builder)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    a, b = build(0).eval(), build(0).eval()
    with torch.no_grad():
        fa = a.encode_image(x) if hasattr(a, "encode_image") else a.features(x)
        fb = b.encode_image(x) if hasattr(b, "encode_image") else b.features(x)
    assert torch.equal(fa, fb)
    assert [k for k in a.state_dict()] == [k for k in b.state_dict()]
