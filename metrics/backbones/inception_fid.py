"""The FID InceptionV3 (TF ``inception-2015-12-05`` as ported by pytorch-fid), pool3 features (2048-d).

Built on torchvision's ``Inception3`` (``num_classes=1008``, no aux logits) with the FID variants of the mixed
blocks: average pools that exclude padding (5b–5d, 6b–6e, 7b) and a max pool in the last block's pool branch (7c),
as in TF. The state_dict has torchvision's names (``Conv2d_1a_3x3.conv.weight``, ..., ``fc.weight``), the layout of
``pt_inception-2015-12-05-6726825d.pth``.

Input: float ``[B,3,H,W]`` in [0,1]; :meth:`FIDInceptionV3.pool3` resizes to 299×299 (bilinear,
``align_corners=False``) and maps to [-1,1] as pytorch-fid does.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _avg(x):
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


def fid_inception_v3():
    """torchvision Inception3 with the FID mixed blocks (random init; load the official file to use it)."""
    from torchvision.models import inception as tvi

    class FIDInceptionA(tvi.InceptionA):
        def forward(self, x):
            b5 = self.branch5x5_2(self.branch5x5_1(x))
            b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
            return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_avg(x))], 1)

    class FIDInceptionC(tvi.InceptionC):
        def forward(self, x):
            b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
            d = x
            for m in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                      self.branch7x7dbl_5):
                d = m(d)
            return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_avg(x))], 1)

    class FIDInceptionE(tvi.InceptionE):
        max_pool_branch = False

        def forward(self, x):
            b3 = self.branch3x3_1(x)
            b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
            d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
            d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
            pool = F.max_pool2d(x, 3, 1, 1) if self.max_pool_branch else _avg(x)
            return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(pool)], 1)

    class FIDInceptionE2(FIDInceptionE):
        max_pool_branch = True

    net = tvi.Inception3(num_classes=1008, aux_logits=False, init_weights=False)
    net.Mixed_5b, net.Mixed_5c, net.Mixed_5d = FIDInceptionA(192, 32), FIDInceptionA(256, 64), FIDInceptionA(288, 64)
    net.Mixed_6b = FIDInceptionC(768, 128)
    net.Mixed_6c, net.Mixed_6d = FIDInceptionC(768, 160), FIDInceptionC(768, 160)
    net.Mixed_6e = FIDInceptionC(768, 192)
    net.Mixed_7b, net.Mixed_7c = FIDInceptionE(1280), FIDInceptionE2(2048)
    return FIDInceptionV3(net)


class FIDInceptionV3(torch.nn.Module):
    """Wrapper whose state_dict keys are the checkpoint's (the torchvision module is registered flat)."""

    feature_dim = 2048

    def __init__(self, net):
        super().__init__()
        for name, child in net.named_children():
            self.add_module(name, child)

    def pool3(self, x: torch.Tensor) -> torch.Tensor:
        """``[B,3,H,W]`` in [0,1] → ``[B,2048]`` (pytorch-fid's input rule: bilinear to 299×299, ``2x − 1``)."""
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False) * 2 - 1
        return self.trunk(x)

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """``[B,3,299,299]`` already in the network's [-1,1] range → pool3 ``[B,2048]``."""
        for name in ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"):
            x = self._modules[name](x)
        x = F.max_pool2d(x, 3, 2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, 2)
        for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
                     "Mixed_7a", "Mixed_7b", "Mixed_7c"):
            x = self._modules[name](x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)

    def logits_unbiased(self, pool3: torch.Tensor) -> torch.Tensor:
        """pool3 ``[B,2048]`` → the 1008-way logits **without** the fc bias ``[B,1008]``, the Inception Score's
        input in every reference: pytorch-gan-metrics sets ``fc.bias = None`` (``inception.py``), torch-fidelity
        takes ``x.mm(fc.weight.T)`` (``logits_unbiased``), as the TF graph's ``softmax`` of improved-gan does."""
        return pool3 @ self.fc.weight.T

    forward = pool3
