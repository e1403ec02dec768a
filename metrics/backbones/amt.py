"""AMT-S frame interpolation (MCG-NKU/AMT ``networks/AMT-S.py`` with ``corr_radius=3, corr_lvls=4, num_flows=3``),
VBench's motion-smoothness model.

Module names equal those of ``amt-s.pth``'s inner ``state_dict`` (213 keys, layout in ``../shared/golden/amt_s/``):
``feat_encoder`` (RAFT SmallEncoder, instance norm, 84-d), ``encoder.pyramid1..4`` (conv+PReLU pairs),
``decoder4`` (InitDecoder), ``decoder3``/``decoder2`` (IntermediateDecoder), ``decoder1`` (MultiFlowDecoder, 3 flows),
``update4/3/2`` (SmallUpdateBlock with a bidirectional correlation lookup), ``comb_block``.

Input: ``img0``, ``img1`` float ``[N,3,H,W]`` in [0, 1] (H, W multiples of 16), ``embt`` ``[N,1,1,1]`` (0.5 for the
middle frame). The model subtracts the per-sample mean of both frames and adds it back; the output is clamped to
[0, 1].
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from vgbench.metrics.backbones.raft import bilinear_sampler, coords_grid


def resize(x: torch.Tensor, scale_factor: float) -> torch.Tensor:
    return F.interpolate(x, scale_factor=scale_factor, mode="bilinear", align_corners=False)


def warp(img: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    b, _, h, w = flow.shape
    xx = torch.linspace(-1.0, 1.0, w).view(1, 1, 1, w).expand(b, -1, h, -1)
    yy = torch.linspace(-1.0, 1.0, h).view(1, 1, h, 1).expand(b, -1, -1, w)
    grid = torch.cat([xx, yy], 1).to(img)
    flow_ = torch.cat([flow[:, 0:1] / ((w - 1.0) / 2.0), flow[:, 1:2] / ((h - 1.0) / 2.0)], 1)
    return F.grid_sample(img, (grid + flow_).permute(0, 2, 3, 1), mode="bilinear", padding_mode="border",
                         align_corners=True)


def convrelu(cin: int, cout: int, k: int = 3, s: int = 1, p: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, p, bias=True), nn.PReLU(cout))


# ---- feature encoder (RAFT SmallEncoder) --------------------------------------------------------------------------
class BottleneckBlock(nn.Module):
    def __init__(self, cin: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes // 4, 1)
        self.conv2 = nn.Conv2d(planes // 4, planes // 4, 3, padding=1, stride=stride)
        self.conv3 = nn.Conv2d(planes // 4, planes, 1)
        self.relu = nn.ReLU(inplace=True)
        self.norm1, self.norm2 = nn.InstanceNorm2d(planes // 4), nn.InstanceNorm2d(planes // 4)
        self.norm3 = nn.InstanceNorm2d(planes)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, planes, 1, stride=stride), nn.InstanceNorm2d(planes))
                           if stride != 1 else None)

    def forward(self, x):
        y = self.relu(self.norm1(self.conv1(x)))
        y = self.relu(self.norm2(self.conv2(y)))
        y = self.relu(self.norm3(self.conv3(y)))
        if self.downsample is not None:
            x = self.downsample(x)
        return self.relu(x + y)


class SmallEncoder(nn.Module):
    def __init__(self, output_dim: int = 84):
        super().__init__()
        self.norm1 = nn.InstanceNorm2d(32)
        self.conv1 = nn.Conv2d(3, 32, 7, stride=2, padding=3)
        self.relu1 = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BottleneckBlock(32, 32, 1), BottleneckBlock(32, 32, 1))
        self.layer2 = nn.Sequential(BottleneckBlock(32, 64, 2), BottleneckBlock(64, 64, 1))
        self.layer3 = nn.Sequential(BottleneckBlock(64, 96, 2), BottleneckBlock(96, 96, 1))
        self.conv2 = nn.Conv2d(96, output_dim, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.relu1(self.norm1(self.conv1(x)))
        return self.conv2(self.layer3(self.layer2(self.layer1(x))))


# ---- IFRNet-style pyramid and decoders ----------------------------------------------------------------------------
class ResBlock(nn.Module):
    def __init__(self, cin: int, side: int):
        super().__init__()
        self.side = side
        self.conv1 = convrelu(cin, cin)
        self.conv2 = convrelu(side, side)
        self.conv3 = convrelu(cin, cin)
        self.conv4 = convrelu(side, side)
        self.conv5 = nn.Conv2d(cin, cin, 3, 1, 1, bias=True)
        self.prelu = nn.PReLU(cin)

    def forward(self, x):
        out = self.conv1(x)
        out = self.conv3(torch.cat([out[:, :-self.side], self.conv2(out[:, -self.side:])], 1))
        out = self.conv5(torch.cat([out[:, :-self.side], self.conv4(out[:, -self.side:])], 1))
        return self.prelu(x + out)


class Encoder(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.n = len(channels)
        prev = 3
        for i, ch in enumerate(channels, 1):
            self.add_module(f"pyramid{i}", nn.Sequential(convrelu(prev, ch, 3, 2, 1), convrelu(ch, ch, 3, 1, 1)))
            prev = ch

    def forward(self, x):
        fs = []
        for i in range(self.n):
            x = getattr(self, f"pyramid{i + 1}")(x)
            fs.append(x)
        return fs


class InitDecoder(nn.Module):
    def __init__(self, cin: int, cout: int, skip: int):
        super().__init__()
        self.convblock = nn.Sequential(convrelu(cin * 2 + 1, cin * 2), ResBlock(cin * 2, skip),
                                       nn.ConvTranspose2d(cin * 2, cout + 4, 4, 2, 1, bias=True))

    def forward(self, f0, f1, embt):
        h, w = f0.shape[2:]
        out = self.convblock(torch.cat([f0, f1, embt.repeat(1, 1, h, w)], 1))
        flow0, flow1 = torch.chunk(out[:, :4], 2, 1)
        return flow0, flow1, out[:, 4:]


class IntermediateDecoder(nn.Module):
    def __init__(self, cin: int, cout: int, skip: int):
        super().__init__()
        self.convblock = nn.Sequential(convrelu(cin * 3 + 4, cin * 3), ResBlock(cin * 3, skip),
                                       nn.ConvTranspose2d(cin * 3, cout + 4, 4, 2, 1, bias=True))

    def forward(self, ft_, f0, f1, flow0_in, flow1_in):
        out = self.convblock(torch.cat([ft_, warp(f0, flow0_in), warp(f1, flow1_in), flow0_in, flow1_in], 1))
        flow0, flow1 = torch.chunk(out[:, :4], 2, 1)
        flow0 = flow0 + 2.0 * resize(flow0_in, 2.0)
        flow1 = flow1 + 2.0 * resize(flow1_in, 2.0)
        return flow0, flow1, out[:, 4:]


class MultiFlowDecoder(nn.Module):
    def __init__(self, cin: int, skip: int, num_flows: int = 3):
        super().__init__()
        self.n = num_flows
        self.convblock = nn.Sequential(convrelu(cin * 3 + 4, cin * 3), ResBlock(cin * 3, skip),
                                       nn.ConvTranspose2d(cin * 3, 8 * num_flows, 4, 2, 1, bias=True))

    def forward(self, ft_, f0, f1, flow0, flow1):
        n = self.n
        out = self.convblock(torch.cat([ft_, warp(f0, flow0), warp(f1, flow1), flow0, flow1], 1))
        d0, d1, mask, img_res = torch.split(out, [2 * n, 2 * n, n, 3 * n], 1)
        flow0 = d0 + 2.0 * resize(flow0, 2.0).repeat(1, n, 1, 1)
        flow1 = d1 + 2.0 * resize(flow1, 2.0).repeat(1, n, 1, 1)
        return flow0, flow1, torch.sigmoid(mask), img_res


def multi_flow_combine(comb_block, img0, img1, flow0, flow1, mask, img_res, mean):
    b, c, h, w = flow0.shape
    n = c // 2
    flow0 = flow0.reshape(b, n, 2, h, w).reshape(-1, 2, h, w)
    flow1 = flow1.reshape(b, n, 2, h, w).reshape(-1, 2, h, w)
    mask = mask.reshape(b, n, 1, h, w).reshape(-1, 1, h, w)
    img_res = img_res.reshape(b, n, 3, h, w).reshape(-1, 3, h, w)
    img0 = torch.stack([img0] * n, 1).reshape(-1, 3, h, w)
    img1 = torch.stack([img1] * n, 1).reshape(-1, 3, h, w)
    mean = torch.stack([mean] * n, 1).reshape(-1, 1, 1, 1)
    warps = mask * warp(img0, flow0) + (1 - mask) * warp(img1, flow1) + mean + img_res
    warps = warps.reshape(b, n, 3, h, w)
    return warps.mean(1) + comb_block(warps.view(b, -1, h, w))


# ---- correlation and update ---------------------------------------------------------------------------------------
class BidirCorr:
    """Correlation pyramid of fmap0→fmap1 and its transpose, looked up around two coordinate fields."""

    def __init__(self, fmap0: torch.Tensor, fmap1: torch.Tensor, levels: int = 4, radius: int = 3):
        self.levels, self.radius = levels, radius
        b, d, h, w = fmap0.shape
        corr = torch.matmul(fmap0.view(b, d, h * w).transpose(1, 2), fmap1.view(b, d, h * w))
        corr = (corr / torch.sqrt(torch.tensor(d).float())).view(b, h, w, 1, h, w)
        corr_t = corr.clone().permute(0, 4, 5, 3, 1, 2).reshape(b * h * w, 1, h, w)
        corr = corr.reshape(b * h * w, 1, h, w)
        self.pyr, self.pyr_t = [corr], [corr_t]
        for _ in range(levels - 1):
            corr, corr_t = F.avg_pool2d(corr, 2, stride=2), F.avg_pool2d(corr_t, 2, stride=2)
            self.pyr.append(corr)
            self.pyr_t.append(corr_t)

    def __call__(self, coords0: torch.Tensor, coords1: torch.Tensor):
        r = self.radius
        c0, c1 = coords0.permute(0, 2, 3, 1), coords1.permute(0, 2, 3, 1)
        b, h, w, _ = c0.shape
        d = torch.linspace(-r, r, 2 * r + 1, device=c0.device)
        delta = torch.stack(torch.meshgrid(d, d, indexing="ij"), dim=-1).view(1, 2 * r + 1, 2 * r + 1, 2)
        out, out_t = [], []
        for i in range(self.levels):
            out.append(bilinear_sampler(self.pyr[i], c0.reshape(b * h * w, 1, 1, 2) / 2 ** i + delta).view(b, h, w, -1))
            out_t.append(bilinear_sampler(self.pyr_t[i], c1.reshape(b * h * w, 1, 1, 2) / 2 ** i + delta)
                         .view(b, h, w, -1))
        return (torch.cat(out, -1).permute(0, 3, 1, 2).contiguous().float(),
                torch.cat(out_t, -1).permute(0, 3, 1, 2).contiguous().float())


class SmallUpdateBlock(nn.Module):
    def __init__(self, cdim: int, hidden: int = 76, flow_dim: int = 20, corr_dim: int = 64, fc_dim: int = 68,
                 corr_levels: int = 4, radius: int = 3, scale_factor: float | None = None):
        super().__init__()
        planes = corr_levels * (2 * radius + 1) ** 2
        self.scale_factor = scale_factor
        self.convc1 = nn.Conv2d(2 * planes, corr_dim, 1)
        self.convf1 = nn.Conv2d(4, flow_dim * 2, 7, padding=3)
        self.convf2 = nn.Conv2d(flow_dim * 2, flow_dim, 3, padding=1)
        self.conv = nn.Conv2d(corr_dim + flow_dim, fc_dim, 3, padding=1)
        lrelu = lambda: nn.LeakyReLU(negative_slope=0.1, inplace=True)  # noqa: E731
        self.gru = nn.Sequential(nn.Conv2d(fc_dim + 4 + cdim, hidden, 3, padding=1), lrelu(),
                                 nn.Conv2d(hidden, hidden, 3, padding=1))
        self.feat_head = nn.Sequential(nn.Conv2d(hidden, hidden, 3, padding=1), lrelu(),
                                       nn.Conv2d(hidden, cdim, 3, padding=1))
        self.flow_head = nn.Sequential(nn.Conv2d(hidden, hidden, 3, padding=1), lrelu(),
                                       nn.Conv2d(hidden, 4, 3, padding=1))
        self.lrelu = lrelu()

    def forward(self, net, flow, corr):
        if self.scale_factor is not None:
            net = resize(net, 1 / self.scale_factor)
        cor = self.lrelu(self.convc1(corr))
        flo = self.lrelu(self.convf2(self.lrelu(self.convf1(flow))))
        inp = torch.cat([self.lrelu(self.conv(torch.cat([cor, flo], 1))), flow, net], 1)
        out = self.gru(inp)
        delta_net, delta_flow = self.feat_head(out), self.flow_head(out)
        if self.scale_factor is not None:
            delta_net = resize(delta_net, self.scale_factor)
            delta_flow = self.scale_factor * resize(delta_flow, self.scale_factor)
        return delta_net, delta_flow


class AMTS(nn.Module):
    def __init__(self, corr_radius: int = 3, corr_lvls: int = 4, num_flows: int = 3, channels=(20, 32, 44, 56),
                 skip_channels: int = 20):
        super().__init__()
        self.radius, self.levels, self.num_flows = corr_radius, corr_lvls, num_flows
        self.feat_encoder = SmallEncoder(84)
        self.encoder = Encoder(channels)
        self.decoder4 = InitDecoder(channels[3], channels[2], skip_channels)
        self.decoder3 = IntermediateDecoder(channels[2], channels[1], skip_channels)
        self.decoder2 = IntermediateDecoder(channels[1], channels[0], skip_channels)
        self.decoder1 = MultiFlowDecoder(channels[0], skip_channels, num_flows)
        upd = dict(corr_levels=corr_lvls, radius=corr_radius)
        self.update4 = SmallUpdateBlock(44, **upd)
        self.update3 = SmallUpdateBlock(32, scale_factor=2, **upd)
        self.update2 = SmallUpdateBlock(20, scale_factor=4, **upd)
        self.comb_block = nn.Sequential(nn.Conv2d(3 * num_flows, 6 * num_flows, 3, 1, 1), nn.PReLU(6 * num_flows),
                                        nn.Conv2d(6 * num_flows, 3, 3, 1, 1))

    @staticmethod
    def _lookup(corr_fn, coord, flow0, flow1, embt, downsample=1):
        t1_scale, t0_scale = 1.0 / embt, 1.0 / (1.0 - embt)
        if downsample != 1:
            inv = 1 / downsample
            flow0, flow1 = inv * resize(flow0, inv), inv * resize(flow1, inv)
        corr0, corr1 = corr_fn(coord + flow1 * t1_scale, coord + flow0 * t0_scale)
        return torch.cat([corr0, corr1], 1), torch.cat([flow0, flow1], 1)

    def _step(self, update, ft, flow0, flow1, corr_fn, coord, embt, down):
        corr, flow = self._lookup(corr_fn, coord, flow0, flow1, embt, down)
        d_ft, d_flow = update(ft, flow, corr)
        d0, d1 = torch.chunk(d_flow, 2, 1)
        return ft + d_ft, flow0 + d0, flow1 + d1

    @torch.no_grad()
    def forward(self, img0: torch.Tensor, img1: torch.Tensor, embt: torch.Tensor) -> torch.Tensor:
        mean_ = torch.cat([img0, img1], 2).mean(1, keepdim=True).mean(2, keepdim=True).mean(3, keepdim=True)
        img0, img1 = img0 - mean_, img1 - mean_
        b, _, h, w = img0.shape
        coord = coords_grid(b, h // 8, w // 8, img0.device)
        fmaps = self.feat_encoder(torch.cat([img0, img1], 0))
        corr_fn = BidirCorr(fmaps[:b], fmaps[b:], self.levels, self.radius)
        f0_1, f0_2, f0_3, f0_4 = self.encoder(img0)
        f1_1, f1_2, f1_3, f1_4 = self.encoder(img1)
        fl0, fl1, ft = self.decoder4(f0_4, f1_4, embt)
        ft, fl0, fl1 = self._step(self.update4, ft, fl0, fl1, corr_fn, coord, embt, 1)
        fl0, fl1, ft = self.decoder3(ft, f0_3, f1_3, fl0, fl1)
        ft, fl0, fl1 = self._step(self.update3, ft, fl0, fl1, corr_fn, coord, embt, 2)
        fl0, fl1, ft = self.decoder2(ft, f0_2, f1_2, fl0, fl1)
        ft, fl0, fl1 = self._step(self.update2, ft, fl0, fl1, corr_fn, coord, embt, 4)
        fl0, fl1, mask, img_res = self.decoder1(ft, f0_1, f1_1, fl0, fl1)
        pred = multi_flow_combine(self.comb_block, img0, img1, fl0, fl1, mask, img_res, mean_)
        return torch.clamp(pred, 0, 1)


def amt_s(seed: int = 0, device: str | None = None) -> AMTS:
    torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        return AMTS().eval()


def load_amt(model: AMTS, path: str | Path | None, source: str) -> AMTS:
    """``amt-s.pth``: ``ckpt['state_dict']`` (no prefix), strict; VBench loads it the same way."""
    from vgbench.metrics.backbones.checkpoint import load_strict, read_state_dict, unwrap_state_dict

    if path is not None:
        load_strict(model, unwrap_state_dict(read_state_dict(path), wrapper_keys=("state_dict",)), source)
    return model
