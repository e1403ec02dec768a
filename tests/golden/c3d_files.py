"""Seeded files in the layout of TGANv2's C3D (``conv3d_deepnetA_ucf.npz``, chainer npz keys ``conv1a/W`` ...) and of
its mean clip (``mean2.npz``, ``mean`` ``[3, 16, 128, 171]``), for the ``is/tganv2`` golden. The tensors come from
:func:`golden.seeded.seeded_state_dict` on ``layouts/c3d_ucf101.json`` (seed 3); the mean clip is
``60 + 80·U[0, 1)`` from ``np.random.default_rng(5)`` in float32. fc8 is divided by 80, so that the seeded network's
logits (hundreds of units otherwise) leave the softmax unsaturated."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from golden.seeded import load_layout, seeded_state_dict, state_dict_digest


def write_weights(folder: str | Path) -> tuple[Path, str]:
    sd = seeded_state_dict(load_layout("c3d_ucf101"), 3)
    sd["fc8.weight"] = sd["fc8.weight"] / 80  # logits of a few units, not hundreds: softmax not saturated
    sd["fc8.bias"] = sd["fc8.bias"] / 80
    path = Path(folder) / "conv3d_deepnetA_ucf.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {k.replace(".weight", "/W").replace(".bias", "/b"): v.numpy() for k, v in sd.items()}
    np.savez(path, **arrays)
    return path, state_dict_digest(sd)


def write_mean(folder: str | Path) -> tuple[Path, str]:
    import hashlib

    mean = (60 + 80 * np.random.default_rng(5).random((3, 16, 128, 171))).astype(np.float32)
    path = Path(folder) / "mean2.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, mean=mean)
    return path, hashlib.sha256(mean.tobytes()).hexdigest()
