"""DINO ViT-B/16 (facebookresearch/dino ``vit_base(patch_size=16, num_classes=0)``), VBench's subject-consistency
backbone.

Module names equal those of ``dino_vitbase16_pretrain.pth`` (a flat state_dict, 150 keys, layout in
``../shared/golden/dino_vitb16/``): ``cls_token``, ``pos_embed`` [1,197,768], ``patch_embed.proj``, ``blocks.N.{norm1,
attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}``, ``norm`` (LayerNorm eps 1e-6). Output: the class token after the
final norm (768-d).

Non-square inputs (VBench's ``dino_transform`` resizes the shorter side to 224 without cropping) use DINO's
``interpolate_pos_encoding``: the 14×14 grid is resized bicubically with ``scale_factor = ((H/16 + 0.1)/14,
(W/16 + 0.1)/14)``, the "+0.1" being DINO's guard against floating-point error.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from vgbench.metrics.backbones.layers import Mlp


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, eps: float = 1e-6, act: type[nn.Module] = nn.GELU):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, dim * 4, act)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, patch: int = 16, dim: int = 768):
        super().__init__()
        self.patch_size = patch
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class DinoViT(nn.Module):
    """Input ``[B,3,H,W]`` ImageNet-normalised → class token ``[B,768]``.

    ``eps`` / ``act`` / ``ln_pre``: the LayerNorm eps, the MLP activation and a LayerNorm after the position
    embedding (key ``pos_drop``, where DINO has a dropout): CLIP's ViTs rewritten as DINO ViTs (DreamSim's
    ``load_clip_as_dino``) use 1e-5, QuickGELU (OpenAI) or GELU (OpenCLIP), and CLIP's ``ln_pre`` there."""

    def __init__(self, patch: int = 16, dim: int = 768, depth: int = 12, heads: int = 12, img_size: int = 224,
                 eps: float = 1e-6, act: type[nn.Module] = nn.GELU, ln_pre: bool = False):
        super().__init__()
        self.patch_embed = PatchEmbed(patch, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (img_size // patch) ** 2 + 1, dim))
        if ln_pre:
            self.pos_drop = nn.LayerNorm(dim, eps=eps)
        self.blocks = nn.ModuleList([Block(dim, heads, eps, act) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=eps)

    def interpolate_pos_encoding(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        npatch, n = x.shape[1] - 1, self.pos_embed.shape[1] - 1
        if npatch == n and h == w:
            return self.pos_embed
        dim = x.shape[-1]
        h0, w0 = h // self.patch_embed.patch_size + 0.1, w // self.patch_embed.patch_size + 0.1
        side = int(math.sqrt(n))
        grid = self.pos_embed[:, 1:].reshape(1, side, side, dim).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, scale_factor=(h0 / math.sqrt(n), w0 / math.sqrt(n)), mode="bicubic")
        grid = grid.permute(0, 2, 3, 1).reshape(1, -1, dim)
        return torch.cat([self.pos_embed[:, :1], grid], dim=1)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 1 + N, dim]``: the last block's output, before the final LayerNorm."""
        b, _, h, w = x.shape
        t = self.patch_embed(x)
        t = torch.cat([self.cls_token.expand(b, -1, -1), t], dim=1)
        t = t + self.interpolate_pos_encoding(t, h, w)
        if hasattr(self, "pos_drop"):
            t = self.pos_drop(t)
        for blk in self.blocks:
            t = blk(t)
        return t

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.tokens(x))[:, 0]


def dino_vitb16(seed: int = 0, device: str | None = None) -> DinoViT:
    torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        model = DinoViT()
    if (device or "cpu") != "meta":
        nn.init.trunc_normal_(model.pos_embed, std=0.02)
        nn.init.trunc_normal_(model.cls_token, std=0.02)
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
    return model.eval()


def load_dino(model: DinoViT, path: str | Path | None, source: str) -> DinoViT:
    """``dino_vitbase16_pretrain.pth``: flat state_dict, no prefix (hubconf loads it strictly)."""
    from vgbench.metrics.backbones.checkpoint import load_strict, read_state_dict, unwrap_state_dict

    if path is not None:
        load_strict(model, unwrap_state_dict(read_state_dict(path), wrapper_keys=()), source)
    return model
