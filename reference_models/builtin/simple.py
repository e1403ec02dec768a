"""``static`` and ``noise``: the two extremes every temporal metric is checked against.

* ``static``: the ``shapes`` renderer's first frame repeated (no motion, no flicker: temporal flickering = 1).
* ``noise``: independent uniform uint8 noise per pixel and frame, seeded by (seed, prompt): the worst case.
"""
from __future__ import annotations

import hashlib

import numpy as np

from vgbench.bench.video import Video
from vgbench.reference_models.base import Capabilities, GenerationRequest
from vgbench.reference_models.builtin.shapes import parse_prompt, render


class StaticGenerator:
    name = "static"
    summary = "one rendered frame repeated (no motion)"

    model_id = "static"
    capabilities = Capabilities(description="The shapes renderer's first frame, repeated: a video with no motion.")

    def settings(self) -> dict:
        return {"renderer_version": 1}

    def generate(self, request: GenerationRequest) -> Video:
        first = render(parse_prompt(request.prompt), 1, request.width, request.height, request.fps, request.seed,
                       frame_indices=np.zeros(1))
        return Video.from_numpy(np.repeat(first, request.num_frames, axis=0), request.fps)


class NoiseGenerator:
    name = "noise"
    summary = "uniform random noise (the worst case)"

    model_id = "noise"
    capabilities = Capabilities(description="Uniform random noise in every pixel of every frame: the worst case.")

    def settings(self) -> dict:
        return {"distribution": "uniform-uint8"}

    def generate(self, request: GenerationRequest) -> Video:
        key = int.from_bytes(hashlib.sha256(request.prompt.encode()).digest()[:8], "little")
        rng = np.random.default_rng([request.seed & 0xFFFFFFFF, key])
        frames = rng.integers(0, 256, (request.num_frames, request.height, request.width, 3), dtype=np.uint8)
        return Video.from_numpy(frames, request.fps)
