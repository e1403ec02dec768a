"""Reading checkpoints safely and fitting their keys to a module.

Checkpoints are read with ``safetensors`` or ``torch.load(weights_only=True)``: no pickled code is ever executed.
TorchScript files are loaded only by :func:`vgbench.metrics.backbones.registry.load_backbone` after their hash was verified.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

import torch
from torch import nn

from vgbench.metrics.backbones.weights import WeightsError


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A checkpoint's top-level mapping (may still hold wrapper entries such as ``model_state_dict``)."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for foreign/unsafe pickles
        first = (str(e).strip().splitlines() or [""])[0][:300]
        empty = " (the file is empty)" if path.stat().st_size == 0 else ""
        raise WeightsError(f"{path}: cannot be read as a weights-only checkpoint{empty} ({type(e).__name__}"
                           f"{': ' + first if first else ''}). vgbench never unpickles code from checkpoints; give "
                           "a state_dict saved with torch.save or safetensors") from e
    if not isinstance(obj, Mapping):
        raise WeightsError(f"{path}: expected a state_dict (a mapping of tensors), found {type(obj).__name__}")
    return dict(obj)


def unwrap_state_dict(sd: Mapping, wrapper_keys: Iterable[str] = ("model_state_dict", "state_dict", "model", "module"),
                      prefixes: Iterable[str] = ("module.",)) -> dict[str, torch.Tensor]:
    """Take the first wrapper entry that holds a mapping (``ckpt['model']``, ...) and strip a key prefix that every
    key carries (``module.`` from DataParallel)."""
    for k in wrapper_keys:
        if k in sd and isinstance(sd[k], Mapping):
            sd = sd[k]
            break
    sd = {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}
    for p in prefixes:
        if sd and all(k.startswith(p) for k in sd):
            sd = {k[len(p):]: v for k, v in sd.items()}
    return sd


def load_strict(model: nn.Module, sd: Mapping[str, torch.Tensor], source: str,
                optional: Iterable[str] = ("num_batches_tracked",)) -> None:
    """``load_state_dict(strict=True)`` with an error that lists missing/unexpected keys and shape mismatches.

    Keys ending in one of ``optional`` (BatchNorm's ``num_batches_tracked``) may be absent from the file.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in sd and not any(k.endswith(o) for o in optional)]
    unexpected = [k for k in sd if k not in own]
    shapes = [f"{k}: file {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}" for k in sd
              if k in own and tuple(sd[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        def few(xs):
            return ", ".join(xs[:8]) + (f" … (+{len(xs) - 8})" if len(xs) > 8 else "")
        raise WeightsError(f"{source}: checkpoint does not fit {type(model).__name__}: "
                           f"missing {len(missing)} [{few(missing)}], unexpected {len(unexpected)} [{few(unexpected)}], "
                           f"shape mismatches {len(shapes)} [{few(shapes)}]")
    full = dict(sd)
    for k in own:
        if k not in full:  # optional buffers absent from the file keep their initial value
            full[k] = own[k]
    model.load_state_dict(full, strict=True)


def state_dict_shapes(model: nn.Module) -> dict[str, list[int]]:
    """Key → shape of a module's state_dict (works on the ``meta`` device)."""
    return {k: list(v.shape) for k, v in model.state_dict().items()}
