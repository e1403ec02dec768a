"""Golden parity of the full-reference protocols: PSNR, SSIM and LPIPS as common_metrics_on_video_quality computes
them, and LPIPS as the ``lpips`` package does (the reference code run unmodified; ``tests/golden/{psnr,ssim,lpips}``).
Pairs: carphone distorted vs pristine (176×144) and two neighbouring frames runs of bikes cropped to 303×203."""
from __future__ import annotations

import pytest

from golden import reference
from golden.harness import evaluate_clips

CASES = [("psnr", "psnr/common_metrics", []), ("ssim", "ssim/common_metrics", []),
         ("lpips/common_metrics", "lpips/common_metrics", ["alexnet_torchvision"]),
         ("lpips/alex", "lpips/alex", ["alexnet_torchvision"]), ("lpips/vgg", "lpips/vgg", ["vgg16_torchvision"])]


@pytest.mark.parametrize("spec,folder,weights", CASES, ids=[c[1] for c in CASES])
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
