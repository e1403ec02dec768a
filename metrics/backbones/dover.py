"""DOVER (Wu et al., ICCV 2023): a technical and an aesthetic video-quality branch, each with its VQA head.

Written from the architecture of VQAssessment/DOVER (``dover/models/{evaluator,swin_backbone,conv_backbone,head}.py``,
as ``dover.yml`` configures it) with the module names of the official ``DOVER.pth`` (a flat state_dict, 381 keys,
recorded in ``../shared/golden/dover/``), so it loads with ``strict=True``:

* ``technical_backbone``: Video Swin-T (patch 2×4×4, dims 96·2^i, depths 2-2-6-2, heads 3-6-12-24, window 8×7×7)
  with FAST-VQA's gated relative position bias (GRPB): stages 0-2 have a second table,
  ``fragment_position_bias_table``, used for token pairs inside the same 32×32 fragment. As in the reference, the
  gate is the L1 distance ``g`` between the fragment coordinates of the two tokens and the bias is
  ``rel·g + frag·(1 − g)`` (so pairs two fragments apart get ``2·rel − frag``: reproduced as released).
* ``aesthetic_backbone``: ConvNeXt-T inflated to 3D (stem Conv3d 2×4×4, downsampling 1×2×2, depthwise kernels
  1×7×7 / 3×7×7 / 1×7×7 repeating over the blocks, "131"), final LayerNorm on every position.
* ``technical_head`` / ``aesthetic_head``: ``VQAHead``: 1×1×1 convs 768→64→1 with GELU; the branch score is the
  mean of the output map.

Dropout and stochastic depth are inactive at inference; gradient checkpointing is not used.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from vgbench.metrics.backbones.layers import Mlp


# ---- Video Swin-T with GRPB ---------------------------------------------------------------------------------------
def window_partition(x: torch.Tensor, ws: tuple[int, int, int]) -> torch.Tensor:
    """``[B, D, H, W, C]`` → ``[B·nW, wd·wh·ww, C]``."""
    b, d, h, w, c = x.shape
    x = x.view(b, d // ws[0], ws[0], h // ws[1], ws[1], w // ws[2], ws[2], c)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, ws[0] * ws[1] * ws[2], c)


def window_reverse(windows: torch.Tensor, ws: tuple[int, int, int], b: int, d: int, h: int, w: int) -> torch.Tensor:
    x = windows.view(b, d // ws[0], h // ws[1], w // ws[2], ws[0], ws[1], ws[2], -1)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, d, h, w, -1)


def effective_window(x_size, window, shift):
    """Window and shift clipped to the feature size (a dimension no larger than the window is one window)."""
    ws, ss = list(window), list(shift)
    for i in range(3):
        if x_size[i] <= window[i]:
            ws[i] = x_size[i]
            ss[i] = 0
    return tuple(ws), tuple(ss)


@lru_cache(maxsize=64)
def fragment_gate(d: int, h: int, w: int, ws: tuple, ss: tuple, device: str) -> torch.Tensor:
    """GRPB gate ``[nW, N, N]``: L1 distance between the fragment-grid coordinates of each token pair of a window.

    The fragment grid is ``(1, wh, ww)`` cells spread over the (padded) feature map by nearest interpolation, shifted
    like the features.
    """
    frags = torch.stack(torch.meshgrid(torch.arange(1), torch.arange(ws[1]), torch.arange(ws[2]),
                                       indexing="ij")).float()
    coords = F.interpolate(frags[None], size=(d, h, w)).long().permute(0, 2, 3, 4, 1)
    coords = torch.roll(coords, shifts=(-ss[0], -ss[1], -ss[2]), dims=(1, 2, 3))
    wc = window_partition(coords, ws)
    return (wc[:, None, :] - wc[:, :, None]).abs().sum(-1).to(device)


@lru_cache(maxsize=64)
def shift_mask(d: int, h: int, w: int, ws: tuple, ss: tuple, device: str) -> torch.Tensor:
    """Swin's attention mask for shifted windows: 0 within a region, -100 across regions, ``[nW, N, N]``."""
    img = torch.zeros((1, d, h, w, 1))
    cnt = 0
    for ds in (slice(-ws[0]), slice(-ws[0], -ss[0]), slice(-ss[0], None)):
        for hs in (slice(-ws[1]), slice(-ws[1], -ss[1]), slice(-ss[1], None)):
            for wsl in (slice(-ws[2]), slice(-ws[2], -ss[2]), slice(-ss[2], None)):
                img[:, ds, hs, wsl, :] = cnt
                cnt += 1
    mw = window_partition(img, ws).squeeze(-1)
    m = mw.unsqueeze(1) - mw.unsqueeze(2)
    return m.masked_fill(m != 0, -100.0).masked_fill(m == 0, 0.0).to(device)


class WindowAttention3D(nn.Module):
    def __init__(self, dim: int, window: tuple[int, int, int], heads: int, frag_bias: bool):
        super().__init__()
        self.window, self.heads = window, heads
        self.scale = (dim // heads) ** -0.5
        n_rel = (2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(n_rel, heads).normal_(std=0.02))
        if frag_bias:
            self.fragment_position_bias_table = nn.Parameter(torch.zeros(n_rel, heads))
        coords = torch.stack(torch.meshgrid(*[torch.arange(s) for s in window], indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        for i in range(3):
            rel[:, :, i] += window[i] - 1
        rel[:, :, 0] *= (2 * window[1] - 1) * (2 * window[2] - 1)
        rel[:, :, 1] *= 2 * window[2] - 1
        self.register_buffer("relative_position_index", rel.sum(-1))  # persistent: it is in DOVER.pth
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, gate: torch.Tensor) -> torch.Tensor:
        bw, n, c = x.shape
        qkv = self.qkv(x).reshape(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        rpi = self.relative_position_index[:n, :n].reshape(-1)
        bias = self.relative_position_bias_table[rpi].reshape(n, n, -1).permute(2, 0, 1).unsqueeze(0)
        n_w = gate.shape[0]
        if hasattr(self, "fragment_position_bias_table"):
            frag = self.fragment_position_bias_table[rpi].reshape(n, n, -1).permute(2, 0, 1)
            g = gate.unsqueeze(1).to(x.dtype)
            bias = bias * g + frag * (1 - g)  # [nW, heads, N, N]
        attn = attn.view(bw // n_w, n_w, self.heads, n, n) + bias.unsqueeze(0)
        if mask is not None:
            attn = attn + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, self.heads, n, n).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(bw, n, c))


class SwinBlock3D(nn.Module):
    def __init__(self, dim, heads, window, shift, frag_bias):
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention3D(dim, window, heads, frag_bias)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, dim * 4)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, d, h, w, c = x.shape
        ws, ss = effective_window((d, h, w), self.window, self.shift)
        y = self.norm1(x)
        pd, ph, pw = [(ws[i] - s % ws[i]) % ws[i] for i, s in enumerate((d, h, w))]
        y = F.pad(y, (0, 0, 0, pw, 0, ph, 0, pd))
        _, dp, hp, wp, _ = y.shape
        shifted = any(s > 0 for s in ss)
        if shifted:
            y = torch.roll(y, shifts=(-ss[0], -ss[1], -ss[2]), dims=(1, 2, 3))
        gate = fragment_gate(dp, hp, wp, ws, ss, str(x.device))
        out = self.attn(window_partition(y, ws), mask if shifted else None, gate)
        y = window_reverse(out.view(-1, *ws, c), ws, b, dp, hp, wp)
        if shifted:
            y = torch.roll(y, shifts=ss, dims=(1, 2, 3))
        x = x + y[:, :d, :h, :w, :]
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, h, w, _ = x.shape
        if h % 2 or w % 2:
            x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2], x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x))


class SwinStage(nn.Module):
    def __init__(self, dim, depth, heads, window, frag_bias, downsample):
        super().__init__()
        self.window = window
        self.shift = tuple(i // 2 for i in window)
        self.blocks = nn.ModuleList([SwinBlock3D(dim, heads, window, (0, 0, 0) if i % 2 == 0 else self.shift,
                                                 frag_bias) for i in range(depth)])
        self.downsample = PatchMerging(dim) if downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # B C D H W
        b, c, d, h, w = x.shape
        ws, ss = effective_window((d, h, w), self.window, self.shift)
        x = x.permute(0, 2, 3, 4, 1)
        dims = [-(-s // ws[i]) * ws[i] for i, s in enumerate((d, h, w))]
        mask = shift_mask(*dims, ws, ss, str(x.device)) if any(s > 0 for s in ss) else None
        for blk in self.blocks:
            x = blk(x, mask)
        if self.downsample is not None:
            x = self.downsample(x)
        return x.permute(0, 4, 1, 2, 3)


class PatchEmbed3D(nn.Module):
    def __init__(self, patch=(2, 4, 4), dim=96):
        super().__init__()
        self.patch = patch
        self.proj = nn.Conv3d(3, dim, kernel_size=patch, stride=patch)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, d, h, w = x.shape
        p = self.patch
        x = F.pad(x, (0, (p[2] - w % p[2]) % p[2], 0, (p[1] - h % p[1]) % p[1], 0, (p[0] - d % p[0]) % p[0]))
        x = self.proj(x)
        b, c, d, h, w = x.shape
        return self.norm(x.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(b, c, d, h, w)


class SwinTransformer3DGRPB(nn.Module):
    """``[B, 3, T, H, W]`` → ``[B, 768, T/2, H/32, W/32]`` (LayerNorm'ed)."""

    def __init__(self, dim=96, depths=(2, 2, 6, 2), heads=(3, 6, 12, 24), window=(8, 7, 7),
                 frag_biases=(True, True, True, False)):
        super().__init__()
        self.patch_embed = PatchEmbed3D(dim=dim)
        self.layers = nn.ModuleList([SwinStage(dim * 2 ** i, depths[i], heads[i], window, frag_biases[i],
                                               downsample=i < len(depths) - 1) for i in range(len(depths))])
        self.norm = nn.LayerNorm(dim * 2 ** (len(depths) - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        for layer in self.layers:
            x = layer(x.contiguous())
        return self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)


# ---- ConvNeXt-3D-T ------------------------------------------------------------------------------------------------
class LayerNormChannelsFirst(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.weight, self.bias, self.eps = nn.Parameter(torch.ones(dim)), nn.Parameter(torch.zeros(dim)), eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return self.weight.view(shape) * x + self.bias.view(shape)


class ConvNeXtBlock3D(nn.Module):
    def __init__(self, dim: int, t_kernel: int):
        super().__init__()
        self.dwconv = nn.Conv3d(dim, dim, kernel_size=(t_kernel, 7, 7), padding=(t_kernel // 2, 3, 3), groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1, self.act, self.pwconv2 = nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(1e-6 * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 4, 1)
        y = self.gamma * self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + y.permute(0, 4, 1, 2, 3)


class ConvNeXt3D(nn.Module):
    """``[B, 3, T, H, W]`` → ``[B, 768, T/2, H/32, W/32]`` (LayerNorm'ed per position)."""

    def __init__(self, depths=(3, 3, 9, 3), dims=(96, 192, 384, 768), inflate="131"):
        super().__init__()
        self.downsample_layers = nn.ModuleList([nn.Sequential(
            nn.Conv3d(3, dims[0], kernel_size=(2, 4, 4), stride=(2, 4, 4)), LayerNormChannelsFirst(dims[0]))])
        for i in range(3):
            self.downsample_layers.append(nn.Sequential(
                LayerNormChannelsFirst(dims[i]), nn.Conv3d(dims[i], dims[i + 1], (1, 2, 2), stride=(1, 2, 2))))
        self.stages = nn.ModuleList([nn.Sequential(*[ConvNeXtBlock3D(dims[i], int(inflate[j % len(inflate)]))
                                                     for j in range(depths[i])]) for i in range(4)])
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for down, stage in zip(self.downsample_layers, self.stages):
            x = stage(down(x))
        return self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)


# ---- heads and the full model -------------------------------------------------------------------------------------
class VQAHead(nn.Module):
    def __init__(self, in_channels: int = 768, hidden: int = 64):
        super().__init__()
        self.fc_hid = nn.Conv3d(in_channels, hidden, (1, 1, 1))
        self.fc_last = nn.Conv3d(hidden, 1, (1, 1, 1))
        self.gelu = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_last(self.gelu(self.fc_hid(x)))


class DOVER(nn.Module):
    def __init__(self):
        super().__init__()
        self.technical_backbone = SwinTransformer3DGRPB()
        self.aesthetic_backbone = ConvNeXt3D()
        self.technical_head = VQAHead()
        self.aesthetic_head = VQAHead()

    @torch.no_grad()
    def branch_scores(self, technical: torch.Tensor | None, aesthetic: torch.Tensor | None) -> dict[str, float]:
        """Raw branch scores (mean of each head's output map over all clips) for normalised views
        ``[clips, 3, T, 224, 224]``; the fusion into [0, 1] is in :mod:`vgbench.metrics.quality.dover`."""
        out = {}
        if technical is not None:
            out["technical"] = float(self.technical_head(self.technical_backbone(technical)).mean())
        if aesthetic is not None:
            out["aesthetic"] = float(self.aesthetic_head(self.aesthetic_backbone(aesthetic)).mean())
        return out


def _init(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv3d)):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def dover(seed: int = 0, device: str | None = None) -> DOVER:
    """DOVER, seeded random init (``device="meta"`` builds the layout without allocating)."""
    torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        model = DOVER()
    if (device or "cpu") != "meta":
        _init(model)
    return model.eval()


def load_dover(model: DOVER, path: str | Path | None, source: str) -> DOVER:
    """``DOVER.pth`` is a flat state_dict passed straight to ``load_state_dict`` (strict) by the official scripts."""
    from vgbench.metrics.backbones.checkpoint import load_strict, read_state_dict, unwrap_state_dict

    if path is not None:
        load_strict(model, unwrap_state_dict(read_state_dict(path), wrapper_keys=()), source)
    return model
