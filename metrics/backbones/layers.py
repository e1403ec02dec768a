"""Small building blocks shared by the native backbones (their submodule names match the official checkpoints)."""
from __future__ import annotations

import torch
from torch import nn


class Mlp(nn.Module):
    """``fc1 → GELU (or ``act``) → fc2`` (timm/DINO/Swin/MUSIQ naming: keys ``fc1.*``, ``fc2.*``)."""

    def __init__(self, dim: int, hidden: int, act: type[nn.Module] = nn.GELU):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), act(), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class QuickGELU(nn.Module):
    """``x · sigmoid(1.702 x)``: OpenAI CLIP's activation."""

    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)
