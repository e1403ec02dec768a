"""Seeded weights in an official checkpoint layout: the same tensors on every machine, for the golden parity tests.

The golden parity tests run a reference implementation's own code (in a scratch environment, outside the project)
and vgbench on the *same* weights. Real checkpoints cannot be downloaded here, and most are too large to keep in the
repository, so both sides use weights made by :func:`seeded_state_dict` from a layout (key → shape) and a seed:

* every tensor is drawn from its own ``torch.Generator`` seeded with ``seed * 1_000_003 + crc32(key)``, so a tensor
  does not depend on the order or the presence of the other keys;
* values follow simple rules by role, so that a network's output depends on its input and does not explode:
  ≥ 2-d weights ``N(0, 1)·√(2/fan_in)`` (He; fan_in = product of all but the first axis); 1-d ``weight`` of a norm layer
  ``1 + 0.1·N``; 1-d ``bias`` ``0.02·N``; BatchNorm ``running_mean`` ``0.1·N``, ``running_var`` log-uniform in
  [1e-4, 1] and the BatchNorm ``weight`` ``√running_var · (1 + 0.1·N)`` (so the layer keeps the scale of its input
  while the eps a checkpoint is run with still changes the output); ``num_batches_tracked`` 0; other 1-d and 0-d
  tensors ``0.02·N``;
* ``special`` overrides any key with a constant (e.g. CLIP's ``logit_scale`` = ln 100) and ``skip`` leaves keys to
  the model (index buffers a model computes itself);
* values are drawn in float64 and rounded to ``dtype`` (float16 for OpenAI's CLIP archives, which hold fp16).

:func:`state_dict_digest` is the SHA-256 of all tensors (sorted keys, little-endian bytes); every golden README records
it and the tests check it, so a change in torch's generator would fail loudly instead of moving the numbers.
"""
from __future__ import annotations

import hashlib
import json
import math
import zlib
from pathlib import Path
from typing import Iterable, Mapping

import torch

LAYOUTS = Path(__file__).resolve().parent / "layouts"


def load_layout(name: str) -> dict[str, list[int]]:
    """An official layout kept in ``tests/golden/layouts/<name>.json`` (key → shape, in state_dict order)."""
    return json.loads((LAYOUTS / f"{name}.json").read_text())


def _generator(seed: int, key: str) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(key.encode()))


def _normal(seed: int, key: str, shape) -> torch.Tensor:
    return torch.randn(tuple(shape), generator=_generator(seed, key), dtype=torch.float64)


def seeded_state_dict(layout: Mapping[str, Iterable[int]], seed: int = 0, dtype: torch.dtype = torch.float32,
                      special: Mapping[str, float] | None = None, skip: Iterable[str] = ()) -> dict[str, torch.Tensor]:
    """Deterministic tensors for every key of ``layout`` (see the module docstring)."""
    special = dict(special or {})
    skip = set(skip)
    out: dict[str, torch.Tensor] = {}
    for key, shape in layout.items():
        if key in skip:
            continue
        shape = tuple(int(s) for s in shape)
        prefix, _, leaf = key.rpartition(".")
        prefix = prefix + "." if prefix else ""
        if key in special:
            t = torch.full(shape, float(special[key]), dtype=torch.float64)
        elif leaf == "num_batches_tracked":
            out[key] = torch.zeros(shape, dtype=torch.int64)
            continue
        elif leaf == "running_mean":
            t = 0.1 * _normal(seed, key, shape)
        elif leaf == "running_var":
            u = torch.rand(shape, generator=_generator(seed, key), dtype=torch.float64)
            t = torch.exp(math.log(1e-4) * (1 - u))
        elif leaf == "weight" and len(shape) == 1 and f"{prefix}running_var" in layout:
            var = seeded_state_dict({f"{prefix}running_var": shape}, seed)[f"{prefix}running_var"].double()
            t = var.sqrt() * (1 + 0.1 * _normal(seed, key, shape))
        elif len(shape) >= 2:
            fan_in = math.prod(shape[1:])
            t = _normal(seed, key, shape) * math.sqrt(2.0 / fan_in)
        elif leaf == "weight" and len(shape) == 1:
            t = 1 + 0.1 * _normal(seed, key, shape)
        else:
            t = 0.02 * _normal(seed, key, shape)
        out[key] = t.to(dtype)
    return out


def state_dict_digest(sd: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over the sorted keys and each tensor's dtype, shape and little-endian bytes."""
    h = hashlib.sha256()
    for k in sorted(sd):
        t = sd[k].detach().cpu().contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes())
    return h.hexdigest()


def save(sd: Mapping[str, torch.Tensor], path: str | Path, wrap: str | None = None, prefix: str = "") -> Path:
    """Write ``sd`` as a ``torch.save`` checkpoint the way the official file is laid out (``{wrap: sd}`` and a key
    prefix such as ``module.`` where the official file has them)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {prefix + k: v for k, v in sd.items()}
    torch.save({wrap: body} if wrap else body, str(path))
    return path
