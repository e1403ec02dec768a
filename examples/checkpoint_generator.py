"""Example: a training checkpoint directory as a vgbench generator (the regression-testing use).

    vgbench run --model python:examples/checkpoint_generator.py:CheckpointGenerator \
        --model-arg checkpoint=runs/ckpt_012000 --suite shapes --out eval/
    vgbench compare <run of ckpt_010000> <run of ckpt_012000> --db eval/vgbench.sqlite --fail-on-regression

The factory is built once per run with the ``--model-arg`` options, loads the checkpoint, and is then called for every
item. ``settings()`` names the checkpoint by the SHA-256 of its files, so a new checkpoint gets new item ids (and is
generated), while re-running the same one resumes. Replace ``_load_model`` and ``generate`` with your sampler.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from vgbench.reference_models.base import Capabilities, GenerationRequest


class CheckpointGenerator:
    capabilities = Capabilities(tasks=("t2v",), default_frames=16, default_fps=8.0, default_width=128,
                                default_height=128, needs_weights=True, license="in-house",
                                memory="as your model", description="a training checkpoint directory")

    def __init__(self, checkpoint: str, steps: str = "25"):
        self.checkpoint = Path(checkpoint)
        if not self.checkpoint.is_dir():
            raise FileNotFoundError(f"checkpoint directory {self.checkpoint} does not exist")
        self.steps = int(steps)
        self.digest = self._digest()
        self.model = self._load_model()
        self.model_id = f"ckpt-{self.checkpoint.name}"

    def _digest(self) -> str:
        h = hashlib.sha256()
        for f in sorted(p for p in self.checkpoint.rglob("*") if p.is_file()):
            h.update(f.relative_to(self.checkpoint).as_posix().encode())
            h.update(f.read_bytes())
        return h.hexdigest()

    def _load_model(self):
        # e.g. torch.load(self.checkpoint / "model.pt", weights_only=True) into your network; here: a stand-in
        return int(self.digest[:8], 16)

    def settings(self) -> dict:
        return {"checkpoint": self.checkpoint.name, "checkpoint_sha256": self.digest, "steps": self.steps}

    def generate(self, request: GenerationRequest) -> np.ndarray:
        rng = np.random.default_rng([request.seed, self.model])
        base = rng.uniform(0, 1, size=(1, request.height, request.width, 3))
        drift = np.linspace(0, 0.2, request.num_frames)[:, None, None, None]
        return np.clip(base + drift, 0, 1)  # float [T, H, W, 3] in [0, 1]
