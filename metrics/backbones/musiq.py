"""MUSIQ (Ke et al. 2021) with the SPAQ head, as pyiqa implements it and VBench's imaging quality calls it.

Module names equal those of ``musiq_spaq_ckpt-358bb6af.pth`` (flat state_dict, 248 keys, layout in
``../shared/golden/musiq_spaq/``): a weight-standardised ResNet root (``conv_root``, ``gn_root``, ``block1``) turns
each 32×32 patch into a 4×4×256 token, ``embedding`` projects it to 384, and a 14-layer transformer with a
hash-based spatial embedding (10×10 grid), a scale embedding (3 scales) and a class token scores the image
(``head``: Linear(384, 1), the SPAQ MOS in 0–100).

Input: ``[N,3,H,W]`` in [0, 1]. As pyiqa in eval mode: ``x → 2x − 1``; patches from the image resized (bicubic,
aspect preserved) to longer sides 224 and 384 (padded/cut to 49 and 144 patches) plus all patches of the original
resolution; TF "SAME" zero padding for patches and convolutions.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from vgbench.metrics.backbones.layers import Mlp


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow 'SAME' zero padding for a square ``kernel`` and ``stride``."""
    h, w = x.shape[-2:]
    pad_r = (math.ceil(h / stride) - 1) * stride + kernel - h
    pad_c = (math.ceil(w / stride) - 1) * stride + kernel - w
    pad_r, pad_c = max(pad_r, 0), max(pad_c, 0)
    return F.pad(x, (pad_c // 2, pad_c - pad_c // 2, pad_r // 2, pad_r - pad_r // 2))


class StdConv(nn.Conv2d):
    def forward(self, x):
        x = same_pad(x, self.kernel_size[0], self.stride[0])
        w = self.weight
        w = (w - w.mean((1, 2, 3), keepdim=True)) / (w.std((1, 2, 3), keepdim=True) + 1e-5)
        return F.conv2d(x, w, self.bias, self.stride)


class Bottleneck(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = StdConv(cin, cin, 1, 1, bias=False)
        self.gn1 = nn.GroupNorm(32, cin, eps=1e-4)
        self.conv2 = StdConv(cin, cin, 3, 1, bias=False)
        self.gn2 = nn.GroupNorm(32, cin, eps=1e-4)
        self.conv3 = StdConv(cin, cout, 1, 1, bias=False)
        self.gn3 = nn.GroupNorm(32, cout, eps=1e-4)
        self.relu = nn.ReLU(True)
        self.conv_proj = StdConv(cin, cout, 1, 1, bias=False)
        self.gn_proj = nn.GroupNorm(32, cout, eps=1e-4)

    def forward(self, x):
        identity = self.gn_proj(self.conv_proj(x))
        x = self.relu(self.gn1(self.conv1(x)))
        x = self.relu(self.gn2(self.conv2(x)))
        return self.relu(self.gn3(self.conv3(x)) + identity)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.query, self.key, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x, mask):
        b, n, c = x.shape
        q, k, v = (f(x).reshape(b, n, self.heads, c // self.heads).permute(0, 2, 1, 3)
                   for f in (self.query, self.key, self.value))
        attn = (q @ k.transpose(-2, -1)) * self.scale
        m2 = mask.reshape(b, 1, n, 1) * mask.reshape(b, 1, 1, n)
        attn = attn.masked_fill(m2 == 0, -1e3).softmax(dim=-1)
        return self.out((attn @ v).transpose(1, 2).reshape(b, n, c))


class TransformerBlock(nn.Module):
    def __init__(self, dim: int, mlp: int, heads: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attention = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, mlp)

    def forward(self, x, mask):
        x = x + self.attention(self.norm1(x), mask)
        return x + self.mlp(self.norm2(x))


class _PosEmb(nn.Module):
    def __init__(self, grid: int, dim: int):
        super().__init__()
        self.position_emb = nn.Parameter(torch.randn(1, grid * grid, dim) * 0.02)


class _ScaleEmb(nn.Module):
    def __init__(self, scales: int, dim: int):
        super().__init__()
        self.scale_emb = nn.Parameter(torch.randn(scales, dim) * 0.02)


class TransformerEncoder(nn.Module):
    def __init__(self, dim=384, mlp=1152, heads=6, layers=14, scales=3, grid=10):
        super().__init__()
        self.posembed_input = _PosEmb(grid, dim)
        self.scaleembed_input = _ScaleEmb(scales, dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.encoder_norm = nn.LayerNorm(dim, eps=1e-6)
        self.transformer = nn.ModuleDict({f"encoderblock_{i}": TransformerBlock(dim, mlp, heads) for i in range(layers)})

    def forward(self, x, spatial, scale, mask):
        x = x + self.posembed_input.position_emb.squeeze(0)[spatial.long()]
        x = x + self.scaleembed_input.scale_emb[scale.long()]
        x = torch.cat([self.cls.repeat(x.shape[0], 1, 1), x], dim=1)
        mask = torch.cat([torch.ones((x.shape[0], 1)).to(mask), mask], dim=1)
        for blk in self.transformer.values():
            x = blk(x, mask)
        return self.encoder_norm(x)


# ---- multi-scale patches (pyiqa multiscale_trans_util) ------------------------------------------------------------
def hashed_positions(grid: int, count_h: int, count_w: int) -> torch.Tensor:
    g = torch.arange(grid).float().reshape(1, 1, grid)
    hw = F.interpolate(g, count_w, mode="nearest").repeat(1, count_h, 1)
    hh = F.interpolate(g, count_h, mode="nearest").transpose(1, 2).repeat(1, 1, count_w)
    return (hh * grid + hw).reshape(1, -1)


def _patches(image: torch.Tensor, patch: int, grid: int, scale_id: int, max_len: int) -> torch.Tensor:
    n, c, h, w = image.shape
    p = F.unfold(same_pad(image, patch, patch), patch, stride=patch)
    spatial = hashed_positions(grid, math.ceil(h / patch), math.ceil(w / patch)).unsqueeze(1).repeat(n, 1, 1)
    out = torch.cat([p, spatial.to(p), torch.full_like(spatial, scale_id).to(p), torch.ones_like(spatial).to(p)], 1)
    if max_len >= 0:
        out = torch.cat([out, torch.zeros((n, out.shape[1], max_len)).to(out)], dim=-1)[:, :, :max_len]
    return out


def multiscale_patches(image: torch.Tensor, patch: int = 32, grid: int = 10, longer_sides=(224, 384),
                       max_len_original: int = -1) -> torch.Tensor:
    n, c, h, w = image.shape
    outs = []
    for scale_id, side in enumerate(sorted(longer_sides)):
        ratio = side / max(h, w)
        resized = F.interpolate(image, (round(h * ratio), round(w * ratio)), mode="bicubic")
        outs.append(_patches(resized, patch, grid, scale_id, int(math.ceil(side / patch) ** 2)))
    if max_len_original is not None:
        outs.append(_patches(image, patch, grid, len(longer_sides), max_len_original))
    return torch.cat(outs, dim=-1).transpose(1, 2)


class MUSIQ(nn.Module):
    def __init__(self, patch: int = 32, hidden: int = 384):
        super().__init__()
        self.patch = patch
        self.conv_root = StdConv(3, 64, 7, 2, bias=False)
        self.gn_root = nn.GroupNorm(32, 64, eps=1e-6)
        self.block1 = Bottleneck(64, 256)
        self.embedding = nn.Linear(256 * (patch // 4) ** 2, hidden)
        self.transformer_encoder = TransformerEncoder(hidden)
        self.head = nn.Linear(hidden, 1)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N,3,H,W]`` in [0,1] → MOS ``[N, 1]``."""
        x = multiscale_patches((x - 0.5) * 2, self.patch)
        b, seq, _ = x.shape
        spatial, scale, mask = x[:, :, -3], x[:, :, -2], x[:, :, -1].bool()
        x = x[:, :, :-3].reshape(-1, 3, self.patch, self.patch)
        x = F.relu(self.gn_root(self.conv_root(x)))
        x = F.max_pool2d(same_pad(x, 3, 2), 3, 2)
        x = self.block1(x).permute(0, 2, 3, 1).reshape(b, seq, -1)
        x = self.transformer_encoder(self.embedding(x), spatial, scale, mask)
        return self.head(x[:, 0])


def musiq_spaq(seed: int = 0, device: str | None = None) -> MUSIQ:
    torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        return MUSIQ().eval()


def load_musiq(model: MUSIQ, path: str | Path | None, source: str) -> MUSIQ:
    """pyiqa ``load_pretrained_network``: flat state_dict, a leading ``module.`` removed, strict."""
    from vgbench.metrics.backbones.checkpoint import load_strict, read_state_dict, unwrap_state_dict

    if path is not None:
        load_strict(model, unwrap_state_dict(read_state_dict(path), wrapper_keys=()), source)
    return model
