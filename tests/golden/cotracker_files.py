"""Seeded ``cotracker2.pth`` in the official layout (``tests/golden/layouts/cotracker2.json``, recorded from
VBench's vendored CoTracker2): every tensor by :func:`golden.seeded.seeded_state_dict` (seed 0), the 64 virtual-track
tokens redrawn at unit scale (seed 5, ×25: He scaling over their 24576 values would make them vanish), and the two
sin-cos buffers ``time_emb`` / ``pos_emb`` as the model computes them (their digest is checked against the
reference's). The update head is scaled by :data:`FLOW_SCALE`: a random tracker whose updates are large is chaotic
(a 1e-7 difference in a convolution, e.g. from parameters that do not require grad, grows to tens of pixels over the
windows), so the tracks could not be compared."""
from __future__ import annotations

from pathlib import Path

FLOW_SCALE = 0.02


def state_dict() -> tuple[dict, dict]:
    """(seeded weights, computed buffers)."""
    from golden.seeded import load_layout, seeded_state_dict
    from vgbench.metrics.backbones.cotracker import CoTracker2

    layout = {k: v for k, v in load_layout("cotracker2").items() if k not in ("time_emb", "pos_emb")}
    sd = seeded_state_dict(layout, 0)
    sd["updateformer.virual_tracks"] = seeded_state_dict({"v": [1, 64, 1, 384]}, 5)["v"] * 25
    for k in ("updateformer.flow_head.weight", "updateformer.flow_head.bias"):
        sd[k] = sd[k] * FLOW_SCALE
    import torch

    with torch.device("cpu"):
        m = CoTracker2()
    return sd, {"time_emb": m.time_emb.clone(), "pos_emb": m.pos_emb.clone()}


def write(path: str | Path) -> tuple[Path, str, str]:
    """Write the checkpoint; returns (path, digest of the weights, digest of the buffers)."""
    import torch

    from golden.seeded import state_dict_digest

    sd, buffers = state_dict()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**sd, **buffers}, str(path))
    return path, state_dict_digest(sd), state_dict_digest(buffers)
