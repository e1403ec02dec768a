"""LPIPS networks: torchvision AlexNet/VGG16 feature stacks + the v0.1 linear heads (Zhang et al. 2018).

The recipe is the ``lpips`` package's (``lpips.LPIPS(net=..., version='0.1')``), which common_metrics_on_video_quality
and most video papers call:

1. inputs in [-1, 1] → ``ScalingLayer``: ``(x - shift) / scale`` with shift (-.030, -.088, -.188) and scale
   (.458, .448, .450);
2. features at the ReLU outputs (AlexNet: relu1..relu5 = ``features[0:2], [2:5], [5:8], [8:10], [10:12]``; VGG16:
   relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 = ``features[0:4], [4:9], [9:16], [16:23], [23:30]``);
3. each feature map unit-normalised over channels, ``x / (sqrt(sum x²) + 1e-10)``, squared difference, a 1×1
   convolution without bias (the linear head);
4. standard output (``spatial=False``): the spatial mean of each layer's map, summed over layers; spatial mode
   (``spatial=True``, common_metrics' choice): each layer's map upsampled bilinearly (``align_corners=False``) to
   the input size, summed, and the caller averages the resulting map.

The backbone weights are torchvision's ImageNet files (``alexnet-owt-7be5be79.pth``, ``vgg16-397923af.pth``); only
the ``features.*`` tensors are used. The linear heads ship in torchmetrics (``lpips_models/{alex,vgg}.pth``, keys
``lin{k}.model.1.weight``).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

# slices of torchvision's ``features`` Sequential ending at each LPIPS layer
SLICES = {"alex": (0, 2, 5, 8, 10, 12), "vgg": (0, 4, 9, 16, 23, 30)}
CHANNELS = {"alex": (64, 192, 384, 256, 256), "vgg": (64, 128, 256, 512, 512)}
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)


def alexnet_features(seed: int = 0) -> nn.Sequential:
    """torchvision ``alexnet().features`` (keys ``features.N.*`` after wrapping), seeded random init."""
    from vgbench.bench import _torchvision_compat  # noqa: F401
    import torchvision

    torch.manual_seed(seed)
    return _Features(torchvision.models.alexnet(weights=None).features)


def vgg16_features(seed: int = 0) -> nn.Sequential:
    from vgbench.bench import _torchvision_compat  # noqa: F401
    import torchvision

    torch.manual_seed(seed)
    return _Features(torchvision.models.vgg16(weights=None).features)


class _Features(nn.Module):
    """Holds torchvision's ``features`` under the same attribute name, so the official keys fit as they are."""

    def __init__(self, features: nn.Sequential):
        super().__init__()
        self.features = features


def load_torchvision_features(model: _Features, path, source: str):
    """torchvision ImageNet file (``features.*`` + ``classifier.*``) → the features only (strict on those)."""
    from vgbench.metrics.backbones.checkpoint import load_strict, read_state_dict, unwrap_state_dict

    if path is not None:
        sd = unwrap_state_dict(read_state_dict(path))
        load_strict(model, {k: v for k, v in sd.items() if k.startswith("features.")}, source)
    return model


class LinearHeads(nn.Module):
    """The five 1×1 convolutions (no bias) in the torchmetrics/lpips key layout ``lin{k}.model.1.weight``."""

    def __init__(self, channels: tuple[int, ...]):
        super().__init__()
        for k, c in enumerate(channels):
            lin = nn.Module()
            lin.model = nn.Sequential(nn.Dropout(), nn.Conv2d(c, 1, 1, bias=False))
            setattr(self, f"lin{k}", lin)
        self.n = len(channels)

    def forward(self, k: int, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, f"lin{k}").model(x)


class LPIPSNet(nn.Module):
    """LPIPS distance between image batches in [-1, 1]; see the module docstring for the recipe."""

    def __init__(self, net: str, features: _Features, heads: LinearHeads):
        super().__init__()
        self.net_name = net
        self.features = features.features
        self.heads = heads
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)

    def layer_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x - self.shift) / self.scale
        cuts = SLICES[self.net_name]
        outs = []
        for a, b in zip(cuts[:-1], cuts[1:]):
            for i in range(a, b):
                x = self.features[i](x)
            outs.append(x)
        return outs

    @staticmethod
    def _unit(x: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
        return x / (torch.sqrt(torch.sum(x * x, dim=1, keepdim=True)) + eps)

    @torch.no_grad()
    def forward(self, a: torch.Tensor, b: torch.Tensor, spatial: bool = False) -> torch.Tensor:
        """``[N,3,H,W]`` pairs in [-1, 1] → ``[N]`` (standard) or ``[N,1,H,W]`` maps (``spatial=True``)."""
        both = self.layer_outputs(torch.cat([a, b]))
        total = 0.0
        n = a.shape[0]
        for k, f in enumerate(both):
            d = (self._unit(f[:n]) - self._unit(f[n:])) ** 2
            m = self.heads(k, d)
            if spatial:
                total = total + F.interpolate(m, size=a.shape[2:], mode="bilinear", align_corners=False)
            else:
                total = total + m.mean((2, 3), keepdim=True)
        return total if spatial else total.view(-1)
