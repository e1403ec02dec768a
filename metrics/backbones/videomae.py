"""VideoMAE-v2 vision transformer (fine-tuned variant) in the layout of ``vit_g_hybrid_pt_1200e_ssv2_ft.pth``.

The giant configuration (:func:`vit_giant_patch14_224`) is what cd-fvd uses for content-debiased FVD: embedding 1408,
depth 40, 16 heads, MLP hidden 6144, tubelet 2, 16 frames at 224×224 → 8×16×16 = 2048 tokens. The positional
embedding is a fixed sinusoid table computed at construction (not in the checkpoint). Attention has a q bias and a v
bias and no k bias. Features (:meth:`VisionTransformer.forward_features`) are ``fc_norm(mean over tokens)``.

Input: float ``[B, 3, 16, 224, 224]`` in [0, 1] (cd-fvd applies no mean/std normalisation).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sinusoid_table(n_position: int, dim: int) -> torch.Tensor:
    """VideoMAE's ``get_sinusoid_encoding_table`` ([1, n_position, dim]; computed in float64, returned float32)."""
    pos = torch.arange(n_position, dtype=torch.float64)[:, None]
    j = torch.arange(dim, dtype=torch.float64)[None, :]
    angle = pos / torch.pow(torch.tensor(10000.0, dtype=torch.float64), 2 * torch.div(j, 2, rounding_mode="floor") / dim)
    table = angle.clone()
    table[:, 0::2] = torch.sin(angle[:, 0::2])
    table[:, 1::2] = torch.cos(angle[:, 1::2])
    return table.float()[None]


class PatchEmbed(nn.Module):
    def __init__(self, dim: int, patch: int = 14, tubelet: int = 2):
        super().__init__()
        self.proj = nn.Conv3d(3, dim, (tubelet, patch, patch), (tubelet, patch, patch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        bias = torch.cat([self.q_bias, torch.zeros_like(self.v_bias), self.v_bias])
        q, k, v = F.linear(x, self.qkv.weight, bias).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    def __init__(self, dim: int = 1408, depth: int = 40, heads: int = 16, mlp_hidden: int = 6144, num_classes: int = 174,
                 img_size: int = 224, patch: int = 14, frames: int = 16, tubelet: int = 2):
        super().__init__()
        self.feature_dim = dim
        self.patch_embed = PatchEmbed(dim, patch, tubelet)
        n = (frames // tubelet) * (img_size // patch) ** 2
        self.register_buffer("pos_embed", sinusoid_table(n, dim), persistent=False)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_hidden) for _ in range(depth))
        self.fc_norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[B,3,T,H,W]`` in [0,1] → ``[B, dim]``."""
        x = self.patch_embed(x)
        if x.shape[1] != self.pos_embed.shape[1]:
            raise ValueError(f"expected {self.pos_embed.shape[1]} tokens (16 frames at 224x224), got {x.shape[1]}")
        x = x + self.pos_embed.to(x.dtype)
        for blk in self.blocks:
            x = blk(x)
        return self.fc_norm(x.mean(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


def vit_giant_patch14_224(**kw) -> VisionTransformer:
    """cd-fvd's model: ``vit_giant_patch14_224(num_classes=174, all_frames=16, tubelet_size=2)``."""
    return VisionTransformer(**({"dim": 1408, "depth": 40, "heads": 16, "mlp_hidden": int(1408 * 48 / 11)} | kw))


def init_random_vit(model: VisionTransformer, seed: int = 0) -> VisionTransformer:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.is_meta:
                continue
            if p.ndim > 1:
                p.copy_(torch.randn(p.shape, generator=g, device="cpu") * 0.02)
            elif "norm" in name and name.endswith("weight"):
                p.fill_(1.0)
            else:
                p.zero_()
    return model
