"""RAFT (large, "things") optical flow, as VBench's dynamic degree and static filter run it.

Written from the architecture of princeton-vl/RAFT ``core/{raft,extractor,update,corr}.py`` (VBench vendors the same
code) with the module names of ``raft-things.pth`` (``module.``-prefixed keys, stripped on load; layout in
``../shared/golden/raft/``), so it loads with ``strict=True``:

* ``fnet``: BasicEncoder(256, instance norm: no keys); ``cnet``: BasicEncoder(256, batch norm); residual blocks with
  stride 2 hold their third norm twice (``norm3`` and ``downsample.1`` are the same module, as in the reference);
* all-pairs correlation ``fmap1ᵀ·fmap2/√256`` with a 4-level average-pooled pyramid, radius 4, sampled with
  ``grid_sample(align_corners=True)``; the lookup offsets are built with ``meshgrid(dy, dx)`` and added to (x, y)
  coordinates, reproducing the reference's ordering;
* ``update_block``: BasicMotionEncoder, SepConvGRU, FlowHead, convex upsampling mask (×0.25).

Input: float ``[N,3,H,W]`` RGB in **0..255** (``forward`` maps to [-1, 1] itself), H and W multiples of 8 (see
:func:`pad_to_multiple_of_8`, RAFT's ``InputPadder`` in sintel mode). ``forward(..., iters=20, test_mode=True)``
returns ``(flow_low, flow_up)``, ``flow_up`` ``[N,2,H,W]`` in pixels (channel 0 = x).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

HIDDEN, CONTEXT, CORR_LEVELS, CORR_RADIUS = 128, 128, 4, 4


class ResidualBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, norm: str, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, padding=1, stride=stride)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        make = (lambda: nn.BatchNorm2d(planes)) if norm == "batch" else (lambda: nn.InstanceNorm2d(planes))
        self.norm1, self.norm2 = make(), make()
        if stride != 1:
            self.norm3 = make()
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride), self.norm3)
        else:
            self.downsample = None

    def forward(self, x):
        y = self.relu(self.norm1(self.conv1(x)))
        y = self.relu(self.norm2(self.conv2(y)))
        if self.downsample is not None:
            x = self.downsample(x)
        return self.relu(x + y)


class BasicEncoder(nn.Module):
    def __init__(self, output_dim: int, norm: str):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(64) if norm == "batch" else nn.InstanceNorm2d(64)
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3)
        self.relu1 = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(ResidualBlock(64, 64, norm, 1), ResidualBlock(64, 64, norm, 1))
        self.layer2 = nn.Sequential(ResidualBlock(64, 96, norm, 2), ResidualBlock(96, 96, norm, 1))
        self.layer3 = nn.Sequential(ResidualBlock(96, 128, norm, 2), ResidualBlock(128, 128, norm, 1))
        self.conv2 = nn.Conv2d(128, output_dim, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.relu1(self.norm1(self.conv1(x)))
        return self.conv2(self.layer3(self.layer2(self.layer1(x))))


class BasicMotionEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        planes = CORR_LEVELS * (2 * CORR_RADIUS + 1) ** 2
        self.convc1 = nn.Conv2d(planes, 256, 1)
        self.convc2 = nn.Conv2d(256, 192, 3, padding=1)
        self.convf1 = nn.Conv2d(2, 128, 7, padding=3)
        self.convf2 = nn.Conv2d(128, 64, 3, padding=1)
        self.conv = nn.Conv2d(64 + 192, 128 - 2, 3, padding=1)

    def forward(self, flow, corr):
        cor = F.relu(self.convc2(F.relu(self.convc1(corr))))
        flo = F.relu(self.convf2(F.relu(self.convf1(flow))))
        return torch.cat([F.relu(self.conv(torch.cat([cor, flo], 1))), flow], 1)


class SepConvGRU(nn.Module):
    def __init__(self, hidden: int = 128, inp: int = 256):
        super().__init__()
        c = hidden + inp
        self.convz1 = nn.Conv2d(c, hidden, (1, 5), padding=(0, 2))
        self.convr1 = nn.Conv2d(c, hidden, (1, 5), padding=(0, 2))
        self.convq1 = nn.Conv2d(c, hidden, (1, 5), padding=(0, 2))
        self.convz2 = nn.Conv2d(c, hidden, (5, 1), padding=(2, 0))
        self.convr2 = nn.Conv2d(c, hidden, (5, 1), padding=(2, 0))
        self.convq2 = nn.Conv2d(c, hidden, (5, 1), padding=(2, 0))

    @staticmethod
    def _step(h, x, cz, cr, cq):
        hx = torch.cat([h, x], 1)
        z, r = torch.sigmoid(cz(hx)), torch.sigmoid(cr(hx))
        q = torch.tanh(cq(torch.cat([r * h, x], 1)))
        return (1 - z) * h + z * q

    def forward(self, h, x):
        h = self._step(h, x, self.convz1, self.convr1, self.convq1)
        return self._step(h, x, self.convz2, self.convr2, self.convq2)


class FlowHead(nn.Module):
    def __init__(self, inp: int = 128, hidden: int = 256):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, hidden, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden, 2, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.conv2(self.relu(self.conv1(x)))


class BasicUpdateBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = BasicMotionEncoder()
        self.gru = SepConvGRU(HIDDEN, 128 + HIDDEN)
        self.flow_head = FlowHead(HIDDEN, 256)
        self.mask = nn.Sequential(nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(256, 64 * 9, 1))

    def forward(self, net, inp, corr, flow):
        inp = torch.cat([inp, self.encoder(flow, corr)], 1)
        net = self.gru(net, inp)
        return net, 0.25 * self.mask(net), self.flow_head(net)


def coords_grid(batch: int, ht: int, wd: int, device) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(ht, device=device), torch.arange(wd, device=device), indexing="ij")
    return torch.stack([xs, ys], 0).float()[None].repeat(batch, 1, 1, 1)


def bilinear_sampler(img: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    h, w = img.shape[-2:]
    x, y = coords.split([1, 1], dim=-1)
    grid = torch.cat([2 * x / (w - 1) - 1, 2 * y / (h - 1) - 1], dim=-1)
    return F.grid_sample(img, grid, align_corners=True)


class CorrPyramid:
    """All-pairs correlation volume and its average-pooled pyramid, looked up around the current coordinates."""

    def __init__(self, fmap1: torch.Tensor, fmap2: torch.Tensor):
        b, d, h, w = fmap1.shape
        corr = torch.matmul(fmap1.view(b, d, h * w).transpose(1, 2), fmap2.view(b, d, h * w))
        corr = (corr / torch.sqrt(torch.tensor(d).float())).reshape(b * h * w, 1, h, w)
        self.pyramid = [corr]
        for _ in range(CORR_LEVELS - 1):
            corr = F.avg_pool2d(corr, 2, stride=2)
            self.pyramid.append(corr)

    def __call__(self, coords: torch.Tensor) -> torch.Tensor:
        r = CORR_RADIUS
        coords = coords.permute(0, 2, 3, 1)
        b, h, w, _ = coords.shape
        d = torch.linspace(-r, r, 2 * r + 1, device=coords.device)
        delta = torch.stack(torch.meshgrid(d, d, indexing="ij"), dim=-1).view(1, 2 * r + 1, 2 * r + 1, 2)
        out = []
        for i, corr in enumerate(self.pyramid):
            centroid = coords.reshape(b * h * w, 1, 1, 2) / 2 ** i
            out.append(bilinear_sampler(corr, centroid + delta).view(b, h, w, -1))
        return torch.cat(out, dim=-1).permute(0, 3, 1, 2).contiguous().float()


class RAFT(nn.Module):
    def __init__(self):
        super().__init__()
        self.fnet = BasicEncoder(256, "instance")
        self.cnet = BasicEncoder(HIDDEN + CONTEXT, "batch")
        self.update_block = BasicUpdateBlock()

    @staticmethod
    def upsample_flow(flow: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, _, h, w = flow.shape
        mask = torch.softmax(mask.view(n, 1, 9, 8, 8, h, w), dim=2)
        up = F.unfold(8 * flow, [3, 3], padding=1).view(n, 2, 9, 1, 1, h, w)
        up = torch.sum(mask * up, dim=2).permute(0, 1, 4, 2, 5, 3)
        return up.reshape(n, 2, 8 * h, 8 * w)

    @torch.no_grad()
    def forward(self, image1: torch.Tensor, image2: torch.Tensor, iters: int = 12, test_mode: bool = True):
        image1 = (2 * (image1 / 255.0) - 1.0).contiguous()
        image2 = (2 * (image2 / 255.0) - 1.0).contiguous()
        n = image1.shape[0]
        fmaps = self.fnet(torch.cat([image1, image2], 0)).float()
        corr_fn = CorrPyramid(fmaps[:n], fmaps[n:])
        net, inp = torch.split(self.cnet(image1), [HIDDEN, CONTEXT], dim=1)
        net, inp = torch.tanh(net), torch.relu(inp)
        _, _, h, w = image1.shape
        coords0 = coords_grid(n, h // 8, w // 8, image1.device)
        coords1 = coords0.clone()
        flow_up = None
        for _ in range(iters):
            corr = corr_fn(coords1)
            net, mask, delta = self.update_block(net, inp, corr, coords1 - coords0)
            coords1 = coords1 + delta
            flow_up = self.upsample_flow(coords1 - coords0, mask)
        return coords1 - coords0, flow_up


def pad_to_multiple_of_8(x: torch.Tensor) -> torch.Tensor:
    """RAFT's ``InputPadder`` (sintel mode): replicate-pad H and W to multiples of 8, split evenly on both sides."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % 8, (-w) % 8
    if ph == 0 and pw == 0:
        return x
    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2], mode="replicate")


def raft_things(seed: int = 0, device: str | None = None) -> RAFT:
    torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        return RAFT().eval()


def load_raft(model: RAFT, path: str | Path | None, source: str) -> RAFT:
    """``raft-things.pth``: flat state_dict with ``module.`` on every key (VBench strips it), strict."""
    from vgbench.metrics.backbones.checkpoint import load_strict, read_state_dict, unwrap_state_dict

    if path is not None:
        load_strict(model, unwrap_state_dict(read_state_dict(path), wrapper_keys=()), source)
    return model
