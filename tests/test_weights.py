"""Weights resolution and verification: order, pinned / prefix / git-blob / trust-on-first-use checks, errors that
say where to get a file, offline behaviour, no unpickling of code, random weights only when allowed and flagged."""
import hashlib
import json
import pickle

import pytest
import torch

from metrics.backbones import weights as w
from metrics.backbones.checkpoint import read_state_dict
from metrics.backbones.registry import RANDOM_WEIGHTS_FLAG, clear_cache, load_backbone


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

    from metrics.backbones.i3d import TorchScriptI3D  # and the wrapper calls it with the protocol's flags

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
