"""UMT-L/16 fine-tuned on Kinetics-400 (``l16_ptk710_ftk710_ftk400_f16_res224.pth``), VBench's human-action model.

Built from the VideoMAE-style blocks of :mod:`vgbench.metrics.backbones.videomae` with the configuration VBench's
``human_action.py`` creates (``vit_large_patch16_224``: width 1024, depth 24, 16 heads, MLP 4096, patch 16, tubelet 1,
16 frames, mean pooling + ``fc_norm``, ``head`` 400 classes). Module names equal the official file's (319 keys, layout
in ``../shared/golden/umt_l16_k400/``). Unlike VideoMAE-v2, ``pos_embed`` [1, 3136, 1024] is a parameter and in the
state_dict: construction starts from the 8-frame sinusoid table (1568 positions) interpolated linearly along time to
16 frames, which is only the fallback value (the released file carries its own).

Input: ``[B, 3, 16, 224, 224]``, ImageNet-normalised; output: 400 logits (VBench applies a sigmoid, keeps the top 5
with probability ≥ 0.85).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from vgbench.metrics.backbones.videomae import VisionTransformer, sinusoid_table


class UMTVisionTransformer(VisionTransformer):
    def __init__(self, frames: int = 16, grid: int = 14, dim: int = 1024):
        super().__init__(dim=dim, depth=24, heads=16, mlp_hidden=4 * dim, num_classes=400, img_size=grid * 16,
                         patch=16, frames=frames, tubelet=1)
        del self.pos_embed
        base = sinusoid_table(8 * grid * grid, dim)  # [1, 1568, dim]
        t = base.reshape(1, 8, grid, grid, dim).permute(0, 2, 3, 4, 1).reshape(-1, dim, 8)
        t = F.interpolate(t, size=frames, mode="linear")
        pos = t.reshape(1, grid, grid, dim, frames).permute(0, 4, 1, 2, 3).reshape(1, -1, dim)
        self.pos_embed = nn.Parameter(pos, requires_grad=False)


def umt_l16_k400(seed: int = 0, device: str | None = None) -> UMTVisionTransformer:
    from vgbench.metrics.backbones.videomae import init_random_vit

    torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        model = UMTVisionTransformer()
    if (device or "cpu") != "meta":
        pos = model.pos_embed.detach().clone()
        init_random_vit(model, seed)
        with torch.no_grad():
            model.pos_embed.copy_(pos)
    return model.eval()


def load_umt(model: UMTVisionTransformer, path: str | Path | None, source: str) -> UMTVisionTransformer:
    """Strict load (VBench loads with strict=False, which would silently keep random weights for a wrapped file);
    a ``model``/``module`` wrapper and a ``module.`` prefix are accepted."""
    from vgbench.metrics.backbones.checkpoint import load_strict, read_state_dict, unwrap_state_dict

    if path is not None:
        load_strict(model, unwrap_state_dict(read_state_dict(path), wrapper_keys=("model", "module")), source)
    return model
