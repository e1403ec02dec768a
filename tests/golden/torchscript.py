"""A TorchScript stand-in for StyleGAN-V's ``i3d_torchscript.pt``, for the golden parity tests of the protocols that
call it (``fvd/common_metrics``, ``fvd/styleganv``, ``fvd/tf``, ``kvd/kid-subsets``).

The real file (a port of the tf.hub I3D) is not in any stored snapshot. The stand-in has its interface,
``forward(x, rescale: bool = False, resize: bool = False, return_features: bool = False) -> [B, 400]``, and is
deterministic: vgbench's native I3D with the seeded ``i3d_pretrained_400`` tensors (``weights.py``) and BatchNorm
eps 1e-3 (the tf.hub graph's), traced for 16-frame 224×224 clips; ``rescale`` maps uint8-valued input to [-1, 1]
(``x/255·2 − 1``) and ``resize`` resizes each frame to 224×224 (bilinear). The reference code and vgbench load the
same file, so a golden made with it pins everything around the network (clip sampling, dtype and layout of the
input, preprocessing, the distance), not what the real TorchScript computes inside.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F


class _StandIn(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                return_features: bool = False) -> torch.Tensor:
        x = x.float()
        if rescale:
            x = x / 255.0 * 2.0 - 1.0
        if resize:
            b, c, t, h, w = x.shape
            x = F.interpolate(x.transpose(1, 2).reshape(b * t, c, h, w), size=(224, 224), mode="bilinear",
                              align_corners=False).reshape(b, t, c, 224, 224).transpose(1, 2)
        return self.net(x)


def build(path: str | Path) -> Path:
    """Write the stand-in TorchScript to ``path`` and return it."""
    from golden import weights as W
    from vgbench.metrics.backbones.checkpoint import load_strict
    from vgbench.metrics.backbones.i3d import BN_EPS, InceptionI3d

    class Features(nn.Module):
        def __init__(self, i3d):
            super().__init__()
            self.i3d = i3d

        def forward(self, x):
            return self.i3d.features(x)

    i3d = InceptionI3d(bn_eps=BN_EPS["tf_hub"])
    load_strict(i3d, W.RECIPES["i3d_pretrained_400"].state_dict(), "seeded i3d")
    net = torch.jit.trace(Features(i3d.eval()), torch.zeros(1, 3, 16, 224, 224), check_trace=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.save(torch.jit.script(_StandIn(net)), str(path))
    return path
