"""Golden parity of the CLIP-score protocols against torchmetrics' ``clip_score``, open_clip (CLIPSIM) and
EvalCrafter's ``calculate_clip_score``, run unmodified on seeded CLIP weights (``tests/golden/clip_score/*``)."""
from __future__ import annotations

import pytest

from golden import reference
from golden.harness import evaluate_clips

TOL = {"clip_score/torchmetrics": 1e-5}  # 100·cos: float32 rounding of the products


def _cases():
    for folder in ("clip_score/clipsim", "clip_score/evalcrafter", "clip_score/torchmetrics"):
        first = True
        for i, case in enumerate(reference(folder)["cases"]):
            # the default tier runs the first small-clip case of the evalcrafter protocol; the rest are slow
            heavy = folder != "clip_score/evalcrafter" or case["clip"] != "carphone_small" or not first
            first = first and heavy
            yield pytest.param(folder, i, marks=[pytest.mark.slow] if heavy else [],
                               id=f"{case['spec'].split('@')[0]}-{case['clip']}-{i}")


@pytest.mark.parametrize("folder,index", list(_cases()))
def test_clip_score_equals_reference(golden_files, tmp_path, folder, index):
    ref = reference(folder)
    case = ref["cases"][index]
    backbone = "clip_vit_l14_openai" if case["spec"] == "clip_score/torchmetrics" else "clip_vit_b32_openai"
    w = {backbone: golden_files.weights(backbone, ref["weights"][backbone]["digest"])}
    clip = golden_files.clip(case["clip"], ref["clips"][case["clip"]]["frames_sha256"])
    out = evaluate_clips([case["spec"]], {case["clip"]: clip}, w, tmp_path, prompt=case["prompt"])
    got = out[case["spec"]][case["clip"]]
    assert got["status"] == "ok", got["error"]
    assert abs(got["value"] - case["value"]) <= TOL.get(folder, 1e-6), (case, got["value"])
    if "per_frame" in case:
        assert max(abs(a - b) for a, b in zip(got["extra"]["per_frame"], case["per_frame"])) <= 1e-6
    assert "not verified against the reference" not in out["_results"][case["spec"]].flags
