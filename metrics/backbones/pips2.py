"""PIPs++ (Zheng et al. 2023) modules in the layout of FVMD's ``pips2_weights.pth`` (``Pips(stride=8)``).

``fnet`` is a BasicEncoder with affine-free instance norm (no norm keys), ``delta_block`` the 1-D residual network
that refines trajectories, ``norm`` a GroupNorm(1, 128). The checkpoint's weights sit under ``model_state_dict``
without a ``module.`` prefix.

Status: the layout (and so loading the official file with ``strict=True``) and the feature encoder's forward are
implemented; the iterative tracking loop is not yet, so FVMD's ``pips2`` tracker raises a clear error and the
weights-free Lucas–Kanade tracker (:mod:`vgbench.metrics.distribution.tracking`) is what runs.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResidualBlock2d(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride), nn.InstanceNorm2d(cout)) if stride != 1 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(F.instance_norm(self.conv1(x)))
        y = F.relu(F.instance_norm(self.conv2(y)))
        if self.downsample is not None:
            x = self.downsample(x)
        return F.relu(x + y)


class BasicEncoder(nn.Module):
    """Image → stride-8 feature map of 128 channels (multi-scale features fused by ``conv2``/``conv3``)."""

    def __init__(self, output_dim: int = 128, stride: int = 8):
        super().__init__()
        self.stride = stride
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3)
        self.layer1 = nn.Sequential(ResidualBlock2d(64, 64), ResidualBlock2d(64, 64))
        self.layer2 = nn.Sequential(ResidualBlock2d(64, 96, 2), ResidualBlock2d(96, 96))
        self.layer3 = nn.Sequential(ResidualBlock2d(96, 128, 2), ResidualBlock2d(128, 128))
        self.layer4 = nn.Sequential(ResidualBlock2d(128, 128, 2), ResidualBlock2d(128, 128))
        self.conv2 = nn.Conv2d(128 + 128 + 96 + 64, output_dim * 2, 3, padding=1)
        self.conv3 = nn.Conv2d(output_dim * 2, output_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = F.relu(F.instance_norm(self.conv1(x)))
        a = self.layer1(x)
        b = self.layer2(a)
        c = self.layer3(b)
        d = self.layer4(c)
        size = (h // self.stride, w // self.stride)
        feats = [F.interpolate(t, size, mode="bilinear", align_corners=True) for t in (a, b, c, d)]
        return self.conv3(F.relu(F.instance_norm(self.conv2(torch.cat(feats, 1)))))


class Conv1dPad(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int = 3):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel)
        self.kernel = kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.kernel - 1
        return self.conv(F.pad(x, (p // 2, p - p // 2)))


class ResidualBlock1d(nn.Module):
    def __init__(self, cin: int, cout: int, first: bool):
        super().__init__()
        self.cin, self.cout, self.first = cin, cout, first
        self.conv1, self.conv2 = Conv1dPad(cin, cout), Conv1dPad(cout, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x if self.first else F.relu(F.instance_norm(x))
        out = self.conv2(F.relu(F.instance_norm(self.conv1(out))))
        if self.cout != self.cin:
            ch1 = (self.cout - self.cin) // 2
            x = F.pad(x.transpose(-1, -2), (ch1, self.cout - self.cin - ch1)).transpose(-1, -2)
        return out + x


class DeltaBlock(nn.Module):
    def __init__(self, latent_dim: int = 128, corr_levels: int = 4, corr_radius: int = 3):
        super().__init__()
        cin = corr_levels * (2 * corr_radius + 1) ** 2 * 3 + latent_dim + 2
        self.first_block_conv = Conv1dPad(cin, 128)
        blocks, cout = [], 128
        for i in range(8):
            cin_i = 128 if i == 0 else int(128 * 2 ** ((i - 1) // 2))
            cout = cin_i * 2 if (i % 2 == 0 and i != 0) else cin_i
            blocks.append(ResidualBlock1d(cin_i, cout, first=i == 0))
        self.basicblock_list = nn.ModuleList(blocks)
        self.dense = nn.Linear(cout, 2)


class Pips(nn.Module):
    """PIPs++ with stride 8: ``fnet``, ``delta_block``, ``norm`` (see the module docstring for what runs)."""

    def __init__(self, stride: int = 8):
        super().__init__()
        self.stride = stride
        self.fnet = BasicEncoder(128, stride)
        self.delta_block = DeltaBlock(128, 4, 3)
        self.norm = nn.GroupNorm(1, 128)

    def encode(self, rgbs: torch.Tensor) -> torch.Tensor:
        """``[B,S,3,H,W]`` in [0,255] → feature maps ``[B,S,128,H/8,W/8]``."""
        b, s, c, h, w = rgbs.shape
        f = self.fnet((2 * (rgbs / 255.0) - 1).reshape(b * s, c, h, w))
        return f.reshape(b, s, *f.shape[1:])

    def forward(self, *args, **kwargs):
        raise NotImplementedError("the PIPs++ tracking loop is not implemented yet; use FVMD's `lk` tracker")
