"""ViCLIP-L/14 (InternVid), the video-text model of VBench's overall-consistency and temporal-style dimensions.

Written from the architecture of ``vbench/third_party/ViCLIP/{viclip,viclip_vision,viclip_text}.py`` (same as
OpenGVLab InternVideo ``Data/InternVid/viclip``), with the module and parameter names of the official checkpoint
``ViClip-InternVid-10M-FLT.pth`` (``ckpt['model']``, 447 keys, recorded in ``../shared/golden/viclip_l14/``), so it
loads with ``strict=True``:

* ``vision_encoder``: ViT-L/14 (width 1024, 24 layers, 16 heads, QuickGELU) whose patch embedding is a Conv3d with
  temporal kernel 1 (``conv1.weight [1024,3,1,14,14]``, no bias); spatial positional embedding [257,1024] added per
  frame, then a temporal positional embedding [1,8,1024] added to the patch tokens (not the class token); one class
  token + all T·256 patch tokens go through the transformer jointly; output ``ln_post(x[cls]) @ proj`` (768-d).
* ``text_encoder``: CLIP text transformer (width 768, 12 layers, 12 heads, causal mask) with context length 32;
  pooled at the end token (``argmax`` of the ids) ``@ text_projection``.
* ``temp``: the contrastive temperature (a scalar; unused for scoring).
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

CONTEXT_LENGTH = 32
NUM_FRAMES = 8


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(width, width * 4)), ("gelu", QuickGELU()), ("c_proj", nn.Linear(width * 4, width))]))
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int):
        super().__init__()
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        for blk in self.resblocks:
            x = blk(x, attn_mask)
        return x


class ViCLIPVision(nn.Module):
    """Input ``[B, 3, T, 224, 224]`` (CLIP-normalised) → ``[B, 768]``."""

    def __init__(self, resolution: int = 224, patch: int = 14, width: int = 1024, layers: int = 24, heads: int = 16,
                 output_dim: int = 768, num_frames: int = NUM_FRAMES):
        super().__init__()
        self.conv1 = nn.Conv3d(3, width, (1, patch, patch), (1, patch, patch), bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((resolution // patch) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.temporal_positional_embedding = nn.Parameter(torch.zeros(1, num_frames, width))
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)  # B, C, T, H', W'
        b, c, t, h, w = x.shape
        x = x.permute(0, 2, 3, 4, 1).reshape(b * t, h * w, c)
        cls = self.class_embedding.to(x.dtype).expand(b * t, 1, c)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        cls_tokens = x[:b, :1, :]  # identical for every frame: class embedding + position 0
        x = x[:, 1:].reshape(b, t, h * w, c).transpose(1, 2)  # B, N, T, C
        temporal = self.temporal_positional_embedding
        x = x + (temporal.mean(1, keepdim=True) if t == 1 else temporal[:, :t]).unsqueeze(0)
        x = x.reshape(b, h * w * t, c)  # tokens ordered (patch, frame), as the reference's rearrange
        x = self.ln_pre(torch.cat([cls_tokens, x], dim=1))
        x = self.transformer(x.permute(1, 0, 2))
        x = self.ln_post(x)
        return x[0] @ self.proj


class ViCLIPText(nn.Module):
    """Token ids ``[B, 32]`` → ``[B, 768]``."""

    def __init__(self, embed_dim: int = 768, context_length: int = CONTEXT_LENGTH, vocab_size: int = 49408,
                 width: int = 768, heads: int = 12, layers: int = 12):
        super().__init__()
        self.context_length = context_length
        self.transformer = Transformer(width, layers, heads)
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(torch.empty(context_length, width).normal_(std=0.01))
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.empty(width, embed_dim).normal_(std=width ** -0.5))
        mask = torch.full((context_length, context_length), float("-inf")).triu_(1)
        self.register_buffer("attn_mask", mask, persistent=False)  # not in the official state_dict

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.token_embedding(ids) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2), self.attn_mask.to(x.dtype)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)] @ self.text_projection


class ViCLIP(nn.Module):
    def __init__(self):
        super().__init__()
        self.vision_encoder = ViCLIPVision()
        self.text_encoder = ViCLIPText()
        self.temp = nn.Parameter(torch.ones([]) / 100.0)

    @torch.no_grad()
    def encode_video(self, frames: torch.Tensor) -> torch.Tensor:
        """``[B, T, 3, 224, 224]`` normalised frames (VBench's layout) → L2-normalised ``[B, 768]``."""
        f = self.vision_encoder(frames.permute(0, 2, 1, 3, 4).contiguous()).float()
        return f / f.norm(dim=-1, keepdim=True)

    @torch.no_grad()
    def encode_text(self, ids: torch.Tensor) -> torch.Tensor:
        f = self.text_encoder(ids).float()
        return f / f.norm(dim=-1, keepdim=True)


def viclip_l14(seed: int = 0, device: str | None = None) -> ViCLIP:
    """ViCLIP-L/14, seeded random init (build on ``device="meta"`` to check the layout without allocating)."""
    torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        return ViCLIP().eval()


def load_viclip(model: ViCLIP, path: str | Path | None, source: str) -> ViCLIP:
    """VBench: ``torch.load(path)['model']`` then ``load_state_dict`` (strict); no key prefix."""
    from vgbench.metrics.backbones.checkpoint import load_strict, read_state_dict, unwrap_state_dict

    if path is not None:
        load_strict(model, unwrap_state_dict(read_state_dict(path), wrapper_keys=("model",)), source)
    return model
