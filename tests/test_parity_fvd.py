"""Golden parity of the I3D distribution protocols (``fvd/videogpt``, ``fvd/tats``, ``kvd/tats``, ``fvd/common_metrics``)
against the reference code's own output (common_metrics / VideoGPT / TATS, run unmodified on seeded
``i3d_pretrained_400`` weights, or a TorchScript stand-in built from them for StyleGAN-V's detector; see
``tests/golden/fvd/*/README.md``), and of the I3D BatchNorm eps per checkpoint (``../shared/golden/i3d``)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from golden import GOLDEN, reference
from tests.conftest import shared_path


def _features(folder: str, which: str) -> np.ndarray:
    rec = reference(folder)
    return np.load(GOLDEN / folder / rec["features"][which])


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    """StyleGAN-V's detector interface around the seeded I3D (``tests/golden/torchscript.py``)."""
    from golden import torchscript

    return torchscript.build(tmp_path_factory.mktemp("standin") / "i3d_torchscript.pt")


def _weights(golden_files, standin, ref):
    name = next(iter(ref["weights"]))
    if name == "i3d_torchscript":
        from golden import weights as W

        assert W.digest("i3d_pretrained_400") == ref["weights"][name]["digest"]
        return {name: standin}
    return {name: golden_files.weights(name, ref["weights"][name]["digest"])}


@pytest.mark.parametrize("extractor,folder", [("i3d-videogpt", "fvd/videogpt"), ("i3d-tats", "fvd/tats"),
                                              ("i3d-common_metrics", "fvd/common_metrics")])
def test_i3d_features_equal_reference(golden_files, standin, extractor, folder):
    """vgbench's per-video I3D features equal the reference's logits (one downscaled and one upscaled video)."""
    from vgbench.bench.video import Video
    from golden.clips import VIDEO_SETS, clip_frames, frames_sha256
    from vgbench.metrics.distribution.extractors import create_extractor

    ref = reference(folder)
    ex = create_extractor(extractor)
    ex.load(weights=_weights(golden_files, standin, ref))
    assert "user-supplied weights: not comparable with published values" in ex.flags
    for role, k in (("generated", 0), ("reference", 15)):
        spec = VIDEO_SETS[ref["sets"][role]["name"]][k]
        frames, fps = clip_frames(spec)
        assert frames_sha256(frames) == ref["sets"][role]["frames_sha256"][k]
        got = ex.extract(Video.from_numpy(frames, fps))[0]
        assert np.abs(got - _features(folder, role)[k]).max() <= 1e-4


@pytest.mark.parametrize("spec,folder,key", [("fvd/videogpt", "fvd/videogpt", "fvd"), ("fvd/tats", "fvd/tats", "fvd"),
                                             ("kvd/tats", "kvd/tats", "kvd"),
                                             ("fvd/common_metrics", "fvd/common_metrics", "fvd")])
def test_distance_on_reference_features_equals_reference(spec, folder, key):
    """The distance code itself: the reference's features in, the reference's number out (float32 torch SVD and
    float32 kernel sums, as the reference code computes them)."""
    from vgbench.metrics.registry import create_metric

    m = create_metric(spec)
    x, y = _features(folder, "generated"), _features(folder, "reference")
    expected = reference(folder)["outputs"][key]
    assert m.distance(x, y) == pytest.approx(expected, rel=1e-6, abs=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("spec,rel", [("fvd/common_metrics", 1e-3), ("fvd/styleganv", 1e-6)])
def test_cli_stylegan_v_detector_fvd_end_to_end_equals_reference(golden_files, standin, cli, tmp_path, spec, rel):
    """common_metrics' styleganv path and StyleGAN-V's own compute_fvd, with the TorchScript stand-in."""
    ref = reference(spec)
    gen = golden_files.clip_set("bikes16", ref["sets"]["generated"]["frames_sha256"])
    refset = golden_files.clip_set("carphone16", ref["sets"]["reference"]["frames_sha256"])
    code, out, err = cli("evaluate", gen, "--reference", refset, "--metrics", spec, "--weights",
                         f"i3d_torchscript={standin}", "--db", tmp_path / "db.sqlite", "--json", "--no-progress")
    assert code == 0, err
    got = json.loads(out)["metrics"][spec]
    assert got["value"] == pytest.approx(ref["outputs"]["fvd"], rel=rel)
    assert "not verified against the reference" not in got["flags"]


@pytest.mark.slow
def test_cli_fvd_kvd_end_to_end_equal_reference(golden_files, cli, tmp_path):
    """``vgbench evaluate bikes16 --reference carphone16 --metrics fvd/videogpt,fvd/tats,kvd/tats --weights
    i3d_pretrained_400=FILE`` equals the reference code's values within 1e-3 relative (README: float32 SVD)."""
    ref = reference("fvd/videogpt")
    gen = golden_files.clip_set("bikes16", ref["sets"]["generated"]["frames_sha256"])
    refset = golden_files.clip_set("carphone16", ref["sets"]["reference"]["frames_sha256"])
    w = golden_files.weights("i3d_pretrained_400", ref["weights"]["i3d_pretrained_400"]["digest"])
    code, out, err = cli("evaluate", gen, "--reference", refset, "--metrics", "fvd/videogpt,fvd/tats,kvd/tats",
                         "--weights", f"i3d_pretrained_400={w}", "--db", tmp_path / "db.sqlite", "--json",
                         "--no-progress")
    assert code == 0, err
    got = json.loads(out)["metrics"]
    for spec, folder, key in (("fvd/videogpt", "fvd/videogpt", "fvd"), ("fvd/tats", "fvd/tats", "fvd"),
                              ("kvd/tats", "kvd/tats", "kvd")):
        expected = reference(folder)["outputs"][key]
        assert got[spec]["value"] == pytest.approx(expected, rel=1e-3), spec
        assert "user-supplied weights: not comparable with published values" in got[spec]["flags"]
        assert "not verified against the reference" not in got[spec]["flags"]
    assert got["fvd/videogpt"]["protocol"] == "fvd/videogpt@rev=2"


@pytest.mark.parametrize("backbone,suffix", [("i3d_pretrained_400", "_videogpt"), ("i3d_rgb_imagenet", "")])
def test_i3d_bn_eps_follows_the_checkpoint(backbone, suffix):
    """``../shared/golden/i3d``: i3d_pretrained_400 runs with eps 1e-5 (VideoGPT/TATS/cd-fvd/common_metrics),
    rgb_imagenet.pt with eps 1e-3 (piergiaj), on the same weights file."""
    import torch

    from vgbench.metrics.backbones.registry import load_backbone

    w = shared_path("golden", "i3d", "i3d_inception_random.safetensors")
    loaded = load_backbone(backbone, user_weights=w)
    x = np.load(shared_path("golden", "i3d", "i3d_input_uint8_BTHWC.npy"))
    t = torch.from_numpy(x).permute(0, 4, 1, 2, 3).float() / 255 * 2 - 1
    with torch.no_grad():
        logits = loaded.model(t).numpy()
    feats = logits.mean(2)
    assert np.abs(logits - np.load(shared_path("golden", "i3d", f"i3d_logits_BCt{suffix}.npy"))).max() <= 1e-3
    assert np.abs(feats - np.load(shared_path("golden", "i3d", f"i3d_features_400{suffix}.npy"))).max() <= 1e-3


@pytest.mark.slow  # (default-run budget; the BN-eps rule keeps a default case in test_i3d_bn_eps_follows_the_checkpoint)
def test_rgb_imagenet_runs_with_eps_1e3(golden_files):
    """piergiaj's InceptionI3d (eps 1e-3) on the seeded tensors: vgbench's i3d_rgb_imagenet reproduces its logits;
    the same file as i3d_pretrained_400 (eps 1e-5) gives other numbers (``tests/golden/backbones/i3d_rgb_imagenet``)."""
    import torch
    import torch.nn.functional as F

    from golden.clips import VIDEO_SETS, clip_frames, frames_sha256
    from vgbench.metrics.backbones.registry import load_backbone

    folder = GOLDEN / "backbones" / "i3d_rgb_imagenet"
    ref = json.loads((folder / "reference.json").read_text())
    xs = []
    for clip in ref["inputs"]["clips"]:
        frames, _ = clip_frames(VIDEO_SETS[clip["set"]][clip["index"]])
        assert frames_sha256(frames) == clip["frames_sha256"]
        f = F.interpolate(torch.from_numpy(frames[:16]).permute(0, 3, 1, 2).float(), size=(224, 224),
                          mode="bilinear", align_corners=False)
        xs.append((f / 255.0 * 2 - 1).permute(1, 0, 2, 3))
    x = torch.stack(xs)
    w = golden_files.weights("i3d_pretrained_400", ref["weights"]["i3d_rgb_imagenet"]["digest"])
    expected = np.load(folder / "logits_BCt.npy")
    with torch.no_grad():
        got = load_backbone("i3d_rgb_imagenet", user_weights=w).model(x).numpy()
        other = load_backbone("i3d_pretrained_400", user_weights=w).model(x).numpy()
    assert np.abs(got - expected).max() <= 1e-4
    assert np.abs(other - expected).max() > 1e-2


@pytest.mark.slow  # (default-run budget, 5 min on 2 cores)
def test_kid_subsets_estimator_equals_torch_fidelity():
    """``kvd/kid-subsets``'s estimator against torch-fidelity's ``kid_features_to_metric`` (tests/golden/kvd/kid-subsets)."""
    from vgbench.metrics.registry import create_metric

    ref = reference("kvd/kid-subsets")
    feats = GOLDEN / "fvd" / "common_metrics"
    inputs = [(np.load(feats / "features_generated.npy"), np.load(feats / "features_reference.npy"))]
    for case in ref["cases"][1:]:
        c = case["case"]
        rs = np.random.RandomState(c["random_state_seed"])
        x = rs.standard_normal((c["n"], c["d"])).astype(np.float32)
        y = (rs.standard_normal((c["m"], c["d"])) * 1.1 + 0.2).astype(np.float32)
        inputs.append((x, y))
    for (x, y), case in zip(inputs, ref["cases"]):
        m = create_metric("kvd/kid-subsets")
        assert m.distance(x, y) == pytest.approx(case["kid_mean"], rel=1e-6), case["case"]
        assert m.extra_details(x, y)["subset_std"] == pytest.approx(case["kid_std"], rel=1e-4, abs=1e-9)
