"""Weightless image-to-video sanity anchors: one that follows its conditioning image, one that ignores it.

* ``image-pan``: the conditioning image (resized to cover the frame, centre-cropped) panned slowly: frame ``t`` is the
  window shifted by ``t`` pixels along the longer side of a 10 %-larger resize, so every frame shows the image, with
  steady motion. Image-conditioned dimensions (``i2v_subject``) should score it high.
* ``image-ignore``: the ``shapes`` renderer's animation of the prompt; the image is accepted and not looked at. The
  same motion statistics, unrelated content: image-conditioned dimensions should score it lower.

Both are deterministic in (image content, prompt, seed, frames, size) and need no weights.
"""
from __future__ import annotations

import numpy as np

from vgbench.bench.errors import GenerationError
from vgbench.bench.video import Video
from vgbench.reference_models.base import Capabilities, GenerationRequest
from vgbench.reference_models.builtin.shapes import parse_prompt, render

_CAPS = dict(tasks=("i2v",), default_frames=16, default_fps=8.0, default_width=128, default_height=128)


def _cover(image_path: str, width: int, height: int) -> np.ndarray:
    """The image resized (PIL bicubic) to cover ``width``×``height`` with 10 % to spare, uint8 RGB."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(image_path) as im:
            im = im.convert("RGB")
            scale = 1.1 * max(width / im.width, height / im.height)
            size = (max(width + 1, round(im.width * scale)), max(height + 1, round(im.height * scale)))
            return np.asarray(im.resize(size, Image.BICUBIC))
    except (OSError, UnidentifiedImageError) as e:
        raise GenerationError(f"cannot read the conditioning image {image_path}: {e}") from e


class ImagePanGenerator:
    name = "image-pan"
    summary = "I2V anchor that follows its image: the conditioning image, slowly panned"

    model_id = "image-pan"
    capabilities = Capabilities(**_CAPS, description="Image-to-video sanity anchor: the conditioning image itself, "
                                                     "panned one pixel a frame (follows the image).")

    def settings(self) -> dict:
        return {"version": 1, "motion": "pan 1 px/frame along the longer side"}

    def generate(self, request: GenerationRequest) -> Video:
        if not request.image:
            raise GenerationError("image-pan is image-to-video: the prompt needs an 'image'")
        big = _cover(request.image, request.width, request.height)
        h, w = big.shape[:2]
        y0, x0 = (h - request.height) // 2, (w - request.width) // 2
        frames = []
        for t in range(request.num_frames):
            if w - request.width >= h - request.height:
                x = min(w - request.width, max(0, x0 - request.num_frames // 2 + t))
                frames.append(big[y0:y0 + request.height, x:x + request.width])
            else:
                y = min(h - request.height, max(0, y0 - request.num_frames // 2 + t))
                frames.append(big[y:y + request.height, x0:x0 + request.width])
        return Video.from_numpy(np.stack(frames), request.fps)


class ImageIgnoreGenerator:
    name = "image-ignore"
    summary = "I2V anchor that ignores its image: the shapes animation of the prompt"

    model_id = "image-ignore"
    capabilities = Capabilities(**_CAPS, description="Image-to-video sanity anchor: the shapes renderer's animation "
                                                     "of the prompt; the conditioning image is not used.")

    def settings(self) -> dict:
        return {"version": 1, "renderer": "shapes"}

    def generate(self, request: GenerationRequest) -> Video:
        frames = render(parse_prompt(request.prompt), request.num_frames, request.width, request.height,
                        request.fps, request.seed)
        return Video.from_numpy(frames, request.fps)
