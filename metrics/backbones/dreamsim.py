"""DreamSim's ensemble embedding (dreamsim 0.2.1 ``dreamsim(pretrained=True)``, the model VBench-I2V's
``i2v_background`` loads), in plain PyTorch.

Reference: ssundaram21/dreamsim 0.2.1 (PyPI) ``dreamsim/model.py`` (``PerceptualModel.embed``, ``normalize_embedding``),
``feature_extraction/extractor.py``, ``load_clip_as_dino.py``, ``load_open_clip_as_dino.py``, with peft's LoRA.
Three ViT-B/16, each fed the ``[B, 3, 224, 224]`` image in [0, 1] normalised its own way, each with a LoRA adapter on
every ``attn.qkv`` (``y = W x + b + (B A x) · lora_alpha / r``, applied unmerged as peft does):

* DINO ViT-B/16 (torch.hub's, weights ``dino_vitb16``), ImageNet mean/std: the class token of the **last block's
  output, before the final LayerNorm** (DreamSim hooks block 11) — 768;
* OpenAI CLIP ViT-B/16 as a DINO-style ViT (``pos_drop`` = ``ln_pre``, QuickGELU, LayerNorm eps 1e-5), CLIP mean/std:
  ``norm(tokens)[:, 0] @ proj`` — 512;
* OpenCLIP ViT-B/16 (LAION-400M) the same with GELU — 512.

The 1792 values are concatenated, their mean subtracted and the result divided by its L2 norm. The official file,
``dreamsim_ensemble_checkpoint.zip``, holds the two CLIP ViTs (``{"state_dict"}`` with ``proj``) and peft's adapter
(``ensemble_lora/adapter_config.json``, ``adapter_model.bin``); the DINO backbone is torch.hub's file.
"""
from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from pathlib import Path

import torch
from torch import nn

from vgbench.metrics.backbones.dino import DinoViT
from vgbench.metrics.backbones.layers import QuickGELU

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
OPENAI_CLIP = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))
#: zip members (by base name) and the extractor index peft's keys give each network
_CLIP_FILES = {"clip": "clip_vitb16_pretrain.pth.tar", "open_clip": "open_clip_vitb16_pretrain.pth.tar"}
_EXTRACTOR = {"dino": 0, "clip": 1, "open_clip": 2}
_LORA_KEY = re.compile(r"^base_model\.model\.extractor_list\.(\d+)\.model\.blocks\.(\d+)\.attn\.qkv\.lora_([AB])"
                       r"\.weight$")


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a low-rank update ``B(A(x)) · scaling`` (peft's LoRA layer in eval mode)."""

    def __init__(self, base: nn.Linear, r: int, scaling: float):
        super().__init__()
        self.base = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        self.scaling = scaling

    def forward(self, x):
        return self.base(x) + self.lora_B(self.lora_A(x)) * self.scaling


def _normalise(x: torch.Tensor, mean_std) -> torch.Tensor:
    mean = torch.tensor(mean_std[0], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(mean_std[1], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


class DreamSimCLIPs(nn.Module):
    """What the release zip holds: the CLIP and OpenCLIP ViTs with their projections, and the three LoRA adapters
    (``dino_lora``: the DINO network's, applied by :class:`DreamSim` to a copy of the ``dino_vitb16`` backbone)."""

    def __init__(self, r: int = 16, lora_alpha: float = 0.5):
        super().__init__()
        self.clip = DinoViT(eps=1e-5, act=QuickGELU, ln_pre=True)
        self.open_clip = DinoViT(eps=1e-5, ln_pre=True)
        self.clip_proj = nn.Parameter(torch.zeros(768, 512))
        self.open_clip_proj = nn.Parameter(torch.zeros(768, 512))
        self.set_lora(r, lora_alpha)

    def set_lora(self, r: int, lora_alpha: float) -> None:
        """(Re)create the adapters with rank ``r`` (zeros) and scaling ``lora_alpha / r``, in place."""
        self.r, self.lora_alpha = r, lora_alpha
        scaling = lora_alpha / r
        dev = self.clip_proj.device
        for vit in (self.clip, self.open_clip):
            for blk in vit.blocks:
                base = blk.attn.qkv.base if isinstance(blk.attn.qkv, LoRALinear) else blk.attn.qkv
                blk.attn.qkv = LoRALinear(base, r, scaling).to(dev)
        self.dino_lora = nn.ModuleList(LoRALinear(nn.Linear(768, 2304), r, scaling) for _ in range(12)).to(dev)
        for m in self.dino_lora:  # only the adapter matrices are kept here
            del m.base


class DreamSim(nn.Module):
    """``embed(x)``: ``[B, 3, 224, 224]`` float in [0, 1] → ``[B, 1792]`` DreamSim ensemble embeddings (mean 0, norm 1)."""

    def __init__(self, dino: DinoViT, clips: DreamSimCLIPs):
        super().__init__()
        self.dino = copy.deepcopy(dino)  # the shared dino_vitb16 backbone stays without adapters
        scaling = clips.lora_alpha / clips.r
        for blk, lora in zip(self.dino.blocks, clips.dino_lora):
            layer = LoRALinear(blk.attn.qkv, clips.r, scaling)
            layer.lora_A, layer.lora_B = lora.lora_A, lora.lora_B
            blk.attn.qkv = layer
        self.clips = clips

    @torch.no_grad()
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        c = self.clips
        feats = torch.cat([self.dino.tokens(_normalise(x, IMAGENET))[:, 0],
                           c.clip.norm(c.clip.tokens(_normalise(x, OPENAI_CLIP)))[:, 0] @ c.clip_proj,
                           c.open_clip.norm(c.open_clip.tokens(_normalise(x, OPENAI_CLIP)))[:, 0] @ c.open_clip_proj],
                          dim=-1)
        feats = feats - feats.mean(dim=1, keepdim=True)
        return feats / feats.norm(dim=1, keepdim=True)


def dreamsim_clips(seed: int = 0, device: str | None = None) -> DreamSimCLIPs:
    """Seeded random init (trunc-normal 0.02 linears; LoRA B zero, as peft initialises it)."""
    torch.manual_seed(seed)
    with torch.device(device or "cpu"):
        model = DreamSimCLIPs()
    if (device or "cpu") != "meta":
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
        for m in model.modules():
            if isinstance(m, LoRALinear):
                nn.init.zeros_(m.lora_B.weight)
    return model.eval()


def _member(z: zipfile.ZipFile, base: str) -> bytes:
    names = [n for n in z.namelist() if Path(n).name == base and "__MACOSX" not in n]
    if not names:
        raise ValueError(f"no {base} in the zip")
    return z.read(sorted(names, key=len)[0])


def _weights_only(data: bytes, what: str):
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for foreign/unsafe pickles
        raise ValueError(f"{what} cannot be read as a weights-only checkpoint ({type(e).__name__}); vgbench never "
                         "unpickles code") from e


def _lora_member(z: zipfile.ZipFile) -> dict:
    for base in ("adapter_model.safetensors", "adapter_model.bin"):
        hits = [n for n in z.namelist() if n.endswith(f"ensemble_lora/{base}")]
        if hits:
            data = z.read(hits[0])
            if base.endswith(".safetensors"):
                from safetensors.torch import load as load_st

                return load_st(data)
            return _weights_only(data, hits[0])
    raise ValueError("no ensemble_lora/adapter_model.bin (or .safetensors) in the zip")


def load_dreamsim(model: DreamSimCLIPs, path: str | Path | None, source: str) -> DreamSimCLIPs:
    """Load ``dreamsim_ensemble_checkpoint.zip`` strictly: both CLIP ViTs (every key, ``proj`` [768, 512]) and the 72
    LoRA matrices of ``ensemble_lora`` (``qkv`` of 12 blocks × 3 networks); the adapter must be plain LoRA on ``qkv``
    (no bias, DoRA or rsLoRA), its ``r`` and ``lora_alpha`` are taken from its ``adapter_config.json``.

    Raises:
        WeightsError: not a zip, a member is missing, a key is missing or unexpected, or the adapter is not plain LoRA
            (each names the file and what is wrong).
    """
    from vgbench.metrics.backbones.weights import WeightsError

    if path is None:
        return model
    try:
        return _load(model, path, source)
    except (ValueError, KeyError, zipfile.BadZipFile) as e:
        raise WeightsError(f"{source}: not DreamSim's ensemble checkpoint zip: {e}") from e


def _load(model: DreamSimCLIPs, path, source: str) -> DreamSimCLIPs:
    with zipfile.ZipFile(path) as z:
        cfg = json.loads(_member(z, "adapter_config.json"))
        bad = [k for k, want in (("bias", "none"), ("use_dora", False), ("use_rslora", False))
               if cfg.get(k, want) != want]
        if bad or list(cfg.get("target_modules") or []) != ["qkv"]:
            raise ValueError(f"{source}: adapter_config.json is not plain LoRA on qkv ({bad or cfg.get('target_modules')})")
        if int(cfg["r"]) != model.r or float(cfg["lora_alpha"]) != model.lora_alpha:
            model.set_lora(int(cfg["r"]), float(cfg["lora_alpha"]))
        for name, base in _CLIP_FILES.items():
            sd = dict(_weights_only(_member(z, base), base)["state_dict"])
            proj = sd.pop("proj")
            vit = getattr(model, name)
            own = {k.replace("qkv.base.", "qkv."): k for k in vit.state_dict() if "lora_" not in k}
            missing, unexpected = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
            if missing or unexpected:
                raise ValueError(f"{source}: {base}: missing {missing[:4]}, unexpected {unexpected[:4]}")
            vit.load_state_dict({own[k]: v for k, v in sd.items()}, strict=False)
            getattr(model, f"{name}_proj").data.copy_(proj)
        lora = _lora_member(z)
    targets = {0: model.dino_lora, 1: [b.attn.qkv for b in model.clip.blocks],
               2: [b.attn.qkv for b in model.open_clip.blocks]}
    seen = set()
    for key, value in lora.items():
        m = _LORA_KEY.match(key)
        if not m or int(m.group(1)) not in targets:
            raise ValueError(f"{source}: unexpected adapter key {key}")
        layer = targets[int(m.group(1))][int(m.group(2))]
        getattr(layer, f"lora_{m.group(3)}").weight.data.copy_(value)
        seen.add(key)
    if len(seen) != 72:
        raise ValueError(f"{source}: the adapter has {len(seen)} of the 72 qkv LoRA matrices")
    return model
