"""Seeded weights files for the golden parity tests, one recipe per official weights file.

Each recipe says which layout (``tests/golden/layouts/<layout>.json``), seed and dtype make the tensors
(:func:`golden.seeded.seeded_state_dict`) and how the official file wraps them (a wrapper key such as
``{'state_dict': ...}``, a ``module.`` prefix), so that the reference code loads the file the way it loads the real
one, and vgbench loads it through ``--weights NAME=PATH`` (user-supplied weights: results are flagged as such).
The scratch drivers that produced the golden outputs used these same recipes; every golden records the
:func:`golden.seeded.state_dict_digest` of the weights it was made with, and the tests check it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from golden.seeded import load_layout, save, seeded_state_dict, state_dict_digest


@dataclass(frozen=True)
class Recipe:
    layout: str | dict
    filename: str
    seed: int = 0
    dtype: torch.dtype = torch.float32
    special: dict = field(default_factory=dict)
    wrap: str | None = None
    prefix: str = ""

    def state_dict(self, only: str = "") -> dict[str, torch.Tensor]:
        """The seeded tensors (``only``: just the keys starting with it; each key is seeded on its own, so these
        equal the full state_dict's)."""
        layout = load_layout(self.layout) if isinstance(self.layout, str) else self.layout
        if only:
            layout = {k: v for k, v in layout.items() if k.startswith(only)}
        return seeded_state_dict(layout, self.seed, self.dtype, self.special)


_LN100 = {"logit_scale": math.log(100.0)}

#: weights name (``vgbench weights list``) → recipe
RECIPES: dict[str, Recipe] = {
    "i3d_pretrained_400": Recipe("i3d", "i3d_pretrained_400.pt"),
    "dino_vitb16": Recipe("dino_vitb16", "dino_vitbase16_pretrain.pth"),
    "inception_v3_fid": Recipe("inception_v3_fid", "pt_inception-2015-12-05-6726825d.pth"),
    # OpenAI's archives hold fp16 tensors (logit_scale = ln 100, whose exp is 100.03 once rounded to fp16)
    "clip_vit_b32_openai": Recipe("clip_vit_b32_openai", "ViT-B-32.pt", dtype=torch.float16, special=_LN100),
    "clip_vit_l14_openai": Recipe("clip_vit_l14_openai", "ViT-L-14.pt", dtype=torch.float16, special=_LN100),
    "laion_aesthetic_vit_l14": Recipe({"weight": [1, 768], "bias": [1]}, "sa_0_4_vit_l_14_linear.pth"),
    "musiq_spaq": Recipe("musiq_spaq", "musiq_spaq_ckpt-358bb6af.pth"),
    "amt_s": Recipe("amt_s", "amt-s.pth", wrap="state_dict"),
    "raft_things": Recipe("raft_things", "raft-things.pth", prefix="module."),
    "umt_l16_k400": Recipe("umt_l16_k400", "l16_ptk710_ftk710_ftk400_f16_res224.pth"),
    "viclip_l14_internvid10m_flt": Recipe("viclip_l14", "ViClip-InternVid-10M-FLT.pth", wrap="model"),
    "alexnet_torchvision": Recipe("alexnet_torchvision", "alexnet-owt-7be5be79.pth"),
    "vgg16_torchvision": Recipe("vgg16_torchvision", "vgg16-397923af.pth"),
}


def digest(name: str) -> str:
    return state_dict_digest(RECIPES[name].state_dict())


def write(name: str, folder: str | Path, only: str = "") -> tuple[Path, str]:
    """Write the seeded file of ``name`` into ``folder`` (official file name); returns (path, digest of what was
    written). ``only``: just the keys starting with it (e.g. ``"features."`` of torchvision's AlexNet/VGG16, all that
    LPIPS loads), whose digest the golden records as ``digest_only[only]``."""
    r = RECIPES[name]
    sd = r.state_dict(only)
    path = save(sd, Path(folder) / r.filename, wrap=r.wrap, prefix=r.prefix)
    return path, state_dict_digest(sd)
