"""C3D fine-tuned on UCF-101, as TGANv2 runs it for the video Inception Score (101-way logits).

pfnet-research/tgan2@f892bc432da3 ``tgan2/models/c3d/c3d_ucf101.py::C3DVersion1UCF101`` in PyTorch:

* input ``[B, 3, 16, H, W]`` float in [-1, 1] (TGANv2's videos: ``(x − 128) / 128`` for data, ``tanh`` outputs for
  generators), exactly 16 frames;
* ``pre``: RGB → BGR ×128 (a fixed 1×1×1 convolution without bias), then every frame resized to 112×112 (chainer's
  ``F.resize_images``: bilinear, ``align_corners=True``), then ``+ (128 − mean)`` with ``mean`` the crop
  ``[:, :, 8:120, 8:120]`` of the C3D mean clip ``mean2.npz['mean']`` (``[3, 16, 128, 171]``, BGR);
* conv1a (64) · pool (1,2,2) · conv2a (128) · pool · conv3a/b (256) · pool · conv4a/b (512) · pool · conv5a/b (512) ·
  pool, every convolution 3×3×3 with padding 1 and ReLU, every pool a max pool of stride = kernel that **covers the
  edge** (chainer's ``cover_all=True``: PyTorch's ``ceil_mode=True``), so 112 → 4 and the flattened size is 512·4·4;
* fc6 (4096) · ReLU · fc7 (4096) · ReLU · fc8 (101); dropout is off at evaluation.

Weights: TGANv2's ``conv3d_deepnetA_ucf.npz`` (chainer npz: ``conv1a/W``, ``conv1a/b``, ..., ``fc8/b``, the shapes of
the PyTorch modules), strict; the mean clip is its own file (``mean2.npz``), set by :meth:`C3DUCF101.set_mean`.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

CONVS = (("conv1a", 3, 64), ("conv2a", 64, 128), ("conv3a", 128, 256), ("conv3b", 256, 256), ("conv4a", 256, 512),
         ("conv4b", 512, 512), ("conv5a", 512, 512), ("conv5b", 512, 512))
FCS = (("fc6", 512 * 4 * 4, 4096), ("fc7", 4096, 4096), ("fc8", 4096, 101))
MEAN_SHAPE = (3, 16, 128, 171)


class C3DUCF101(torch.nn.Module):
    """TGANv2's C3D (see the module docstring). ``forward``: ``[B,3,16,H,W]`` in [-1,1] → fc8 logits ``[B,101]``."""

    feature_dim = 101

    def __init__(self):
        super().__init__()
        for name, cin, cout in CONVS:
            self.add_module(name, torch.nn.Conv3d(cin, cout, 3, 1, 1))
        for name, cin, cout in FCS:
            self.add_module(name, torch.nn.Linear(cin, cout))
        # 128 − the mean crop (TGANv2's Bias link); not in the weights file: set from mean2.npz
        self.register_buffer("mean_bias", torch.full((3, 16, 112, 112), 128.0 - 100.0), persistent=False)

    def set_mean(self, mean: np.ndarray) -> None:
        """Set the mean clip (``mean2.npz['mean']``, ``[3, 16, 128, 171]`` BGR; a leading 1 is accepted).

        Raises:
            ValueError: any other shape.
        """
        m = np.asarray(mean)
        if m.shape == (1, *MEAN_SHAPE):
            m = m[0]
        if m.shape != MEAN_SHAPE:
            raise ValueError(f"the C3D mean clip must be {MEAN_SHAPE} (mean2.npz['mean']), not {m.shape}")
        bias = (128 - m[:, :, 8:8 + 112, 8:8 + 112]).astype(np.float32)
        self.mean_bias.copy_(torch.from_numpy(bias).to(self.mean_bias.device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1:3] != (3, 16):
            raise ValueError(f"C3D takes [B, 3, 16, H, W] clips, not {tuple(x.shape)}")
        b, c, t, h, w = x.shape
        x = x[:, [2, 1, 0]] * 128  # RGB → BGR, ×128
        x = x.transpose(1, 2).reshape(b * t, c, h, w)
        x = F.interpolate(x, size=(112, 112), mode="bilinear", align_corners=True)
        x = x.reshape(b, t, c, 112, 112).transpose(1, 2) + self.mean_bias
        x = F.max_pool3d(F.relu(self.conv1a(x)), (1, 2, 2), ceil_mode=True)
        x = F.max_pool3d(F.relu(self.conv2a(x)), 2, ceil_mode=True)
        x = F.max_pool3d(F.relu(self.conv3b(F.relu(self.conv3a(x)))), 2, ceil_mode=True)
        x = F.max_pool3d(F.relu(self.conv4b(F.relu(self.conv4a(x)))), 2, ceil_mode=True)
        x = F.max_pool3d(F.relu(self.conv5b(F.relu(self.conv5a(x)))), 2, ceil_mode=True)
        x = F.relu(self.fc6(x.flatten(1)))
        return self.fc8(F.relu(self.fc7(x)))


def state_dict_from_npz(path) -> dict[str, torch.Tensor]:
    """TGANv2's chainer npz (``conv1a/W``, ``conv1a/b``, ...) → this module's state_dict names."""
    with np.load(path) as z:
        keys = list(z.keys())
        out = {}
        for k in keys:
            name, _, leaf = k.rpartition("/")
            out[f"{name}.{'weight' if leaf == 'W' else 'bias' if leaf == 'b' else leaf}"] = torch.from_numpy(
                np.array(z[k]))
    return out
