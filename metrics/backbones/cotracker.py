"""CoTracker2 (``cotracker2.pth``) in plain PyTorch: the point tracker VBench-I2V's ``camera_motion`` runs.

Reference: Vchitect/VBench@45e79ec14e69 ``vbench2_beta_i2v/third_party/cotracker`` (CoTracker 2.0:
``models/core/cotracker/cotracker.py::CoTracker2``, ``blocks.py``, ``embeddings.py``, ``model_utils.py``,
``predictor.py::CoTrackerPredictor``). Module names are the checkpoint's keys (``fnet``, ``updateformer``,
``norm``, ``track_feat_updater``, ``vis_predictor``, buffers ``time_emb`` / ``pos_emb``).

:meth:`CoTracker2.track_grid` is ``CoTrackerPredictor(video, grid_size=n)`` without a support grid: the video
``[T, 3, H, W]`` float in [0, 255] resized to 384×512 (bilinear, ``align_corners=True``); the queries are
``get_points_on_a_grid(n, (384, 512))`` at frame 0; the network runs sliding windows of 8 frames with stride 4
(``2·x/255 − 1``, a stride-4 feature map, 4-level correlation pyramids of radius 3, 6 updates of the space–time
transformer with 64 virtual tracks); the query frame's positions are overwritten by the queries, and the tracks are
scaled back by ``((W−1)/511, (H−1)/383)``. Output ``[T, n², 2]`` (x, y) float32 in pixels of the input.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from vgbench.metrics.backbones.pips2 import BasicEncoder

RESOLUTION = (384, 512)


# ---- samplers and embeddings (model_utils.py, embeddings.py) ------------------------------------------------------
def bilinear_sampler(inp: torch.Tensor, coords: torch.Tensor, padding_mode: str = "border") -> torch.Tensor:
    """``grid_sample`` with pixel coordinates (``align_corners=True``); 5-D inputs take (t, x, y) triplets."""
    sizes = inp.shape[2:]
    if len(sizes) == 3:
        coords = coords[..., [1, 2, 0]]
    coords = coords * torch.tensor([2 / max(s - 1, 1) for s in reversed(sizes)], device=coords.device)
    coords = coords - 1
    return F.grid_sample(inp, coords, align_corners=True, padding_mode=padding_mode)


def sample_features4d(inp: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    b = inp.shape[0]
    feats = bilinear_sampler(inp, coords.unsqueeze(2))
    return feats.permute(0, 2, 1, 3).reshape(b, -1, feats.shape[1] * feats.shape[3])


def sample_features5d(inp: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    b = inp.shape[0]
    feats = bilinear_sampler(inp.permute(0, 2, 1, 3, 4), coords.unsqueeze(3))
    return feats.permute(0, 2, 3, 1, 4).reshape(b, feats.shape[2], feats.shape[3], feats.shape[1])


def sincos_1d(dim: int, pos: torch.Tensor) -> torch.Tensor:
    omega = torch.arange(dim // 2, dtype=torch.double)
    omega /= dim / 2.0
    omega = 1.0 / 10000 ** omega
    out = torch.einsum("m,d->md", pos.reshape(-1), omega)
    return torch.cat([torch.sin(out), torch.cos(out)], dim=1)[None].float()


def sincos_2d(dim: int, h: int, w: int) -> torch.Tensor:
    grid = torch.stack(torch.meshgrid(torch.arange(w, dtype=torch.float), torch.arange(h, dtype=torch.float),
                                      indexing="xy"), dim=0).reshape(2, 1, h, w)
    emb = torch.cat([sincos_1d(dim // 2, grid[0]), sincos_1d(dim // 2, grid[1])], dim=2)
    return emb.reshape(1, h, w, -1).permute(0, 3, 1, 2)


def embed_2d(xy: torch.Tensor, c: int) -> torch.Tensor:
    """``get_2d_embedding(xy, c, cat_coords=True)``: ``[B, N, 2]`` → ``[B, N, 2 + 2c]``."""
    b, n, _ = xy.shape
    x, y = xy[:, :, 0:1], xy[:, :, 1:2]
    div = (torch.arange(0, c, 2, device=xy.device, dtype=torch.float32) * (1000.0 / c)).reshape(1, 1, c // 2)
    pe_x = torch.zeros(b, n, c, device=xy.device)
    pe_y = torch.zeros(b, n, c, device=xy.device)
    pe_x[:, :, 0::2], pe_x[:, :, 1::2] = torch.sin(x * div), torch.cos(x * div)
    pe_y[:, :, 0::2], pe_y[:, :, 1::2] = torch.sin(y * div), torch.cos(y * div)
    return torch.cat([xy, pe_x, pe_y], dim=2)


def grid_queries(size: int, extent: tuple[int, int] = RESOLUTION) -> torch.Tensor:
    """``get_points_on_a_grid(size, extent)``: ``[size², 2]`` (x, y), margin ``W/64``, row-major."""
    h, w = extent
    margin = w / 64
    gy, gx = torch.meshgrid(torch.linspace(margin, h - margin, size), torch.linspace(margin, w - margin, size),
                            indexing="ij")
    return torch.stack([gx, gy], dim=-1).reshape(-1, 2)


# ---- blocks.py ------------------------------------------------------------------------------------------------------
class _Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class _Attention(nn.Module):
    def __init__(self, dim: int, context_dim: int | None = None, heads: int = 8, dim_head: int = 48):
        super().__init__()
        inner = dim_head * heads
        self.scale, self.heads = dim_head ** -0.5, heads
        self.to_q = nn.Linear(dim, inner, bias=True)
        self.to_kv = nn.Linear(context_dim or dim, inner * 2, bias=True)
        self.to_out = nn.Linear(inner, dim)

    def forward(self, x, context=None, attn_bias=None):
        b, n1, c = x.shape
        h = self.heads
        q = self.to_q(x).reshape(b, n1, h, c // h).permute(0, 2, 1, 3)
        context = x if context is None else context
        k, v = self.to_kv(context).chunk(2, dim=-1)
        n2 = context.shape[1]
        k = k.reshape(b, n2, h, c // h).permute(0, 2, 1, 3)
        v = v.reshape(b, n2, h, c // h).permute(0, 2, 1, 3)
        sim = (q @ k.transpose(-2, -1)) * self.scale
        if attn_bias is not None:
            sim = sim + attn_bias
        return self.to_out((sim.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n1, c))


class _AttnBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.attn = _Attention(dim, heads=heads)
        self.mlp = _Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(F.layer_norm(x, x.shape[-1:], eps=1e-6))
        return x + self.mlp(F.layer_norm(x, x.shape[-1:], eps=1e-6))


class _CrossAttnBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm_context = nn.LayerNorm(dim)
        self.cross_attn = _Attention(dim, context_dim=dim, heads=heads)
        self.mlp = _Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x, context, mask):
        if mask.shape[1] == x.shape[1]:
            m = mask[:, None, :, None].expand(-1, self.cross_attn.heads, -1, context.shape[1])
        else:
            m = mask[:, None, None].expand(-1, self.cross_attn.heads, x.shape[1], -1)
        bias = (~m) * -torch.finfo(x.dtype).max
        x = x + self.cross_attn(F.layer_norm(x, x.shape[-1:], eps=1e-6), context=self.norm_context(context),
                                attn_bias=bias)
        return x + self.mlp(F.layer_norm(x, x.shape[-1:], eps=1e-6))


class _UpdateFormer(nn.Module):
    def __init__(self, depth: int = 6, input_dim: int = 456, hidden: int = 384, heads: int = 8, output_dim: int = 130,
                 virtual: int = 64):
        super().__init__()
        self.num_virtual = virtual
        self.input_transform = nn.Linear(input_dim, hidden)
        self.flow_head = nn.Linear(hidden, output_dim)
        self.virual_tracks = nn.Parameter(torch.zeros(1, virtual, 1, hidden))  # (sic: the checkpoint's key)
        self.time_blocks = nn.ModuleList(_AttnBlock(hidden, heads) for _ in range(depth))
        self.space_virtual_blocks = nn.ModuleList(_AttnBlock(hidden, heads) for _ in range(depth))
        self.space_point2virtual_blocks = nn.ModuleList(_CrossAttnBlock(hidden, heads) for _ in range(depth))
        self.space_virtual2point_blocks = nn.ModuleList(_CrossAttnBlock(hidden, heads) for _ in range(depth))

    def forward(self, x, mask):
        tokens = self.input_transform(x)
        b, _, t, _ = tokens.shape
        tokens = torch.cat([tokens, self.virual_tracks.repeat(b, 1, t, 1)], dim=1)
        n = tokens.shape[1]
        every = len(self.time_blocks) // len(self.space_virtual_blocks)
        j = 0
        for i, blk in enumerate(self.time_blocks):
            tokens = blk(tokens.contiguous().view(b * n, t, -1)).view(b, n, t, -1)
            if i % every == 0:
                space = tokens.permute(0, 2, 1, 3).contiguous().view(b * t, n, -1)
                point, virt = space[:, : n - self.num_virtual], space[:, n - self.num_virtual:]
                virt = self.space_virtual2point_blocks[j](virt, point, mask)
                virt = self.space_virtual_blocks[j](virt)
                point = self.space_point2virtual_blocks[j](point, virt, mask)
                tokens = torch.cat([point, virt], dim=1).view(b, t, n, -1).permute(0, 2, 1, 3)
                j += 1
        return self.flow_head(tokens[:, : n - self.num_virtual])


class _CorrBlock:
    def __init__(self, fmaps: torch.Tensor, levels: int = 4, radius: int = 3):
        b, s, c, h, w = fmaps.shape
        self.levels, self.radius, self.c = levels, radius, c
        self.pyramid = [fmaps]
        for _ in range(levels - 1):
            f = F.avg_pool2d(fmaps.reshape(b * s, c, h, w), 2, stride=2)
            h, w = f.shape[-2:]
            fmaps = f.reshape(b, s, c, h, w)
            self.pyramid.append(fmaps)

    def corr(self, targets: torch.Tensor) -> None:
        b, s, n, c = targets.shape
        self.corrs = []
        for fmaps in self.pyramid:
            h, w = fmaps.shape[-2:]
            corrs = torch.matmul(targets, fmaps.view(b, s, c, h * w)).view(b, s, n, h, w)
            self.corrs.append(corrs / torch.sqrt(torch.tensor(c).float()))

    def sample(self, coords: torch.Tensor) -> torch.Tensor:
        r = self.radius
        b, s, n, _ = coords.shape
        out = []
        for i, corrs in enumerate(self.corrs):
            h, w = corrs.shape[-2:]
            d = torch.linspace(-r, r, 2 * r + 1)
            delta = torch.stack(torch.meshgrid(d, d, indexing="ij"), dim=-1).to(coords.device)
            pts = coords.reshape(b * s * n, 1, 1, 2) / 2 ** i + delta.view(1, 2 * r + 1, 2 * r + 1, 2)
            out.append(bilinear_sampler(corrs.reshape(b * s * n, 1, h, w), pts, padding_mode="border").view(b, s, n, -1))
        return torch.cat(out, dim=-1).permute(0, 2, 1, 3).contiguous().view(b * n, s, -1).float()


class CoTracker2(nn.Module):
    """CoTracker 2.0 (window 8, stride 4, 64 virtual tracks, 384×512); see the module docstring."""

    def __init__(self, window_len: int = 8, stride: int = 4):
        super().__init__()
        self.window_len, self.stride, self.latent_dim, self.input_dim = window_len, stride, 128, 456
        self.fnet = BasicEncoder(self.latent_dim, stride)  # PIPs++'s encoder, at stride 4
        self.updateformer = _UpdateFormer(input_dim=self.input_dim, output_dim=self.latent_dim + 2)
        self.register_buffer("time_emb", sincos_1d(self.input_dim, torch.linspace(0, window_len - 1, window_len)))
        self.register_buffer("pos_emb", sincos_2d(self.input_dim, RESOLUTION[0] // stride, RESOLUTION[1] // stride))
        self.norm = nn.GroupNorm(1, self.latent_dim)
        self.track_feat_updater = nn.Sequential(nn.Linear(self.latent_dim, self.latent_dim), nn.GELU())
        self.vis_predictor = nn.Sequential(nn.Linear(self.latent_dim, 1))

    def _window(self, fmaps, coords, track_feat, vis, track_mask, attention_mask, iters):
        b, s_init, n, _ = track_mask.shape
        s = fmaps.shape[1]
        track_mask = F.pad(track_mask, (0, 0, 0, 0, 0, s - s_init), "constant")
        mask_vis = torch.cat([track_mask, vis], dim=-1).permute(0, 2, 1, 3).reshape(b * n, s, 2)
        corr = _CorrBlock(fmaps)
        pos = sample_features4d(self.pos_emb.repeat(b, 1, 1, 1), coords[:, 0]).reshape(b * n, self.input_dim)[:, None]
        for _ in range(iters):
            coords = coords.detach()
            corr.corr(track_feat)
            fcorrs = corr.sample(coords)
            flows = (coords - coords[:, 0:1]).permute(0, 2, 1, 3).reshape(b * n, s, 2)
            feat = track_feat.permute(0, 2, 1, 3).reshape(b * n, s, self.latent_dim)
            x = torch.cat([embed_2d(flows, 64), fcorrs, feat, mask_vis], dim=2) + pos + self.time_emb
            delta = self.updateformer(x.view(b, n, s, -1), attention_mask.reshape(b * s, n))
            coords = coords + delta[..., :2].permute(0, 2, 1, 3)
            dfeat = delta[..., 2:].reshape(b * n * s, self.latent_dim)
            feat = track_feat.permute(0, 2, 1, 3).reshape(b * n * s, self.latent_dim)
            feat = self.track_feat_updater(self.norm(dfeat)) + feat
            track_feat = feat.reshape(b, n, s, self.latent_dim).permute(0, 2, 1, 3)
        return coords * self.stride, self.vis_predictor(track_feat).reshape(b, s, n)

    @torch.no_grad()
    def forward(self, video: torch.Tensor, queries: torch.Tensor, iters: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
        """``video`` ``[B, T, 3, 384, 512]`` in [0, 255], ``queries`` ``[B, N, 3]`` (t, x, y) at model resolution →
        (tracks ``[B, T, N, 2]``, visibility logits → probabilities ``[B, T, N]``)."""
        b, t, c, h, w = video.shape
        n = queries.shape[1]
        s = self.window_len
        step = s // 2
        video = 2 * (video / 255.0) - 1.0
        q_frames = queries[:, :, 0].long()
        q_coords = queries[..., 1:] / self.stride
        coords_pred = torch.zeros((b, t, n, 2), device=video.device)
        vis_pred = torch.zeros((b, t, n), device=video.device)
        pad = (s - t % s) % s
        video = F.pad(video.reshape(b, 1, t, c * h * w), (0, 0, 0, pad), "replicate").reshape(b, -1, c, h, w)
        fmaps = self.fnet(video.reshape(-1, c, h, w)).reshape(b, -1, self.latent_dim, h // self.stride,
                                                                w // self.stride)
        sample = torch.cat([q_frames[:, None, :, None].to(q_coords.dtype), q_coords[:, None]], dim=-1)
        track_feat = sample_features5d(fmaps, sample).repeat(1, s, 1, 1)
        windows = (t - s + step - 1) // step + 1
        coords_init = q_coords.reshape(b, 1, n, 2).expand(b, s, n, 2).float()
        vis_init = torch.ones((b, s, n, 1), device=video.device).float() * 10
        for ind in range(0, step * windows, step):
            overlap = s - step
            if ind > 0:
                copy = (q_frames < ind + overlap)[:, None, :, None]
                prev = F.pad(coords_pred[:, ind:ind + overlap] / self.stride, (0, 0, 0, 0, 0, step), "replicate")
                vprev = F.pad(vis_pred[:, ind:ind + overlap, :, None].clone(), (0, 0, 0, 0, 0, step), "replicate")
                coords_init = torch.where(copy.expand_as(coords_init), prev, coords_init)
                vis_init = torch.where(copy.expand_as(vis_init), vprev, vis_init)
            attention_mask = (q_frames < ind + s).reshape(b, 1, n).repeat(1, s, 1)
            track_mask = (q_frames[:, None, :, None]
                          <= torch.arange(ind, ind + s, device=video.device)[None, :, None, None]).contiguous()
            if ind > 0:
                track_mask[:, :overlap] = False
            coords, vis = self._window(fmaps[:, ind:ind + s], coords_init, attention_mask.unsqueeze(-1) * track_feat,
                                       vis_init, track_mask, attention_mask, iters)
            kept = min(t - ind, s)
            coords_pred[:, ind:ind + s] = coords[:, :kept]
            vis_pred[:, ind:ind + s] = vis[:, :kept]
        return coords_pred, torch.sigmoid(vis_pred)

    @torch.no_grad()
    def track_grid(self, video: torch.Tensor, grid_size: int = 10) -> torch.Tensor:
        """``CoTrackerPredictor(video[None], grid_size=grid_size)`` for one video ``[T, 3, H, W]`` float in [0, 255]
        (what VBench-I2V passes): tracks ``[T, grid_size², 2]`` in input pixels."""
        t, _, h, w = video.shape
        x = F.interpolate(video, RESOLUTION, mode="bilinear", align_corners=True)[None]
        pts = grid_queries(grid_size).to(video.device)
        queries = torch.cat([torch.zeros_like(pts[:, :1]), pts], dim=1)[None]
        tracks, _ = self(x, queries, iters=6)
        tracks[0, 0] = queries[0, :, 1:]  # the query frame shows the queries themselves (co-tracker issue 28)
        return tracks[0] * tracks.new_tensor([(w - 1) / (RESOLUTION[1] - 1), (h - 1) / (RESOLUTION[0] - 1)])


def cotracker2(seed: int = 0, device: str | None = None) -> CoTracker2:
    """Seeded random init (xavier linears as the reference's update former, kaiming convs)."""
    torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        model = CoTracker2()
    if (device or "cpu") != "meta":
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        nn.init.normal_(model.updateformer.virual_tracks)
    return model.eval()


def load_cotracker(model: CoTracker2, path, source: str) -> CoTracker2:
    """``cotracker2.pth``: a flat state_dict (or under ``model``), loaded strictly (``time_emb``/``pos_emb`` included,
    as the reference's ``load_state_dict`` requires)."""
    from vgbench.metrics.backbones.checkpoint import load_strict, read_state_dict, unwrap_state_dict

    if path is not None:
        load_strict(model, unwrap_state_dict(read_state_dict(path), wrapper_keys=("model",)), source)
    return model
