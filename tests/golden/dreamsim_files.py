"""DreamSim ensemble test files: a seeded ``dreamsim_ensemble_checkpoint.zip`` in the official layout.

The release zip (ssundaram21/dreamsim v0.2.0-checkpoints) unpacks to ``dino_vitb16_pretrain.pth`` (DINO's checkpoint;
the ensemble uses only its ``student`` head keys, and not in the embedding), ``clip_vitb16_pretrain.pth.tar`` and
``open_clip_vitb16_pretrain.pth.tar`` (``{"state_dict": ...}``: CLIP ViT-B/16 and OpenCLIP ViT-B/16 rewritten as
DINO-style ViTs, ``pos_drop`` being CLIP's ``ln_pre`` and ``proj`` the visual projection) and ``ensemble_lora/``
(peft's ``adapter_config.json`` and ``adapter_model.bin``). The DINO ViT-B/16 backbone itself is torch.hub's
``dino_vitbase16_pretrain.pth`` (vgbench's ``dino_vitb16`` weights, ``tests/golden/weights.py``).

Every tensor is drawn by :func:`golden.seeded.seeded_state_dict` from the layouts recorded from dreamsim 0.2.1 and
peft 0.21.2 (``tests/golden/layouts/dreamsim_clip_vitb16.json``, ``dreamsim_ensemble_lora.json``); LoRA's B
matrices are drawn like any weight (not zero), so that the adapters change the embedding.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

#: the LoRA settings of the golden's adapter (the release's own adapter_config.json is read at load time)
LORA_CONFIG = {"peft_type": "LORA", "task_type": None, "inference_mode": True, "r": 16, "lora_alpha": 0.5,
               "lora_dropout": 0.3, "bias": "none", "target_modules": ["qkv"], "fan_in_fan_out": False}
DINO_HEAD = {"module.head.mlp.0.weight": [2048, 768], "module.head.mlp.0.bias": [2048],
             "module.head.mlp.2.weight": [2048, 2048], "module.head.mlp.2.bias": [2048],
             "module.head.mlp.4.weight": [256, 2048], "module.head.mlp.4.bias": [256],
             "module.head.last_layer.weight": [2048, 256]}
SEEDS = {"clip": 11, "open_clip": 12, "lora": 13, "dino_head": 14}


def state_dicts() -> dict[str, dict]:
    """The seeded tensors of each member: ``clip``, ``open_clip``, ``lora`` (peft's saved keys), ``dino_head``."""
    from golden.seeded import load_layout, seeded_state_dict

    vit = load_layout("dreamsim_clip_vitb16")
    return {"clip": seeded_state_dict(vit, SEEDS["clip"]), "open_clip": seeded_state_dict(vit, SEEDS["open_clip"]),
            "lora": seeded_state_dict(load_layout("dreamsim_ensemble_lora"), SEEDS["lora"]),
            "dino_head": seeded_state_dict(DINO_HEAD, SEEDS["dino_head"])}


def digest(sds: dict[str, dict] | None = None) -> str:
    from golden.seeded import state_dict_digest

    sds = sds or state_dicts()
    return state_dict_digest({f"{m}/{k}": v for m, sd in sorted(sds.items()) for k, v in sd.items()})


def _members(sds) -> dict[str, bytes]:
    import torch

    def pt(obj) -> bytes:
        buf = io.BytesIO()
        torch.save(obj, buf)
        return buf.getvalue()

    return {"dino_vitb16_pretrain.pth": pt({"student": sds["dino_head"]}),
            "clip_vitb16_pretrain.pth.tar": pt({"state_dict": sds["clip"]}),
            "open_clip_vitb16_pretrain.pth.tar": pt({"state_dict": sds["open_clip"]}),
            "ensemble_lora/adapter_config.json": json.dumps(LORA_CONFIG).encode(),
            "ensemble_lora/adapter_model.bin": pt(sds["lora"])}


def write_zip(path: str | Path) -> tuple[Path, str]:
    """The seeded ``dreamsim_ensemble_checkpoint.zip``; returns (path, digest)."""
    sds = state_dicts()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in _members(sds).items():
            z.writestr(name, data)
    return path, digest(sds)


def write_folder(folder: str | Path) -> tuple[Path, str]:
    """The same files unpacked (what dreamsim's ``download_weights`` leaves in its cache dir)."""
    sds = state_dicts()
    folder = Path(folder)
    for name, data in _members(sds).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder, digest(sds)
