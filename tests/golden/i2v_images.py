"""The conditioning images of the I2V goldens: scikit-image's sample images (``astronaut`` 512×512, ``coffee``
400×600, ``chelsea`` 300×451) and the first frame of a golden clip, written as PNG (lossless), with the SHA-256 of
their pixels recorded by the goldens."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

#: image name → ("skimage", function) or ("clip", golden clip whose first frame it is)
IMAGES = {"astronaut": ("skimage", "astronaut"), "coffee": ("skimage", "coffee"), "chelsea": ("skimage", "chelsea"),
          "bikes_odd_first": ("clip", "bikes_odd")}


def pixels(name: str) -> np.ndarray:
    kind, what = IMAGES[name]
    if kind == "skimage":
        from skimage import data

        return np.ascontiguousarray(getattr(data, what)()[..., :3])
    from golden.clips import CLIPS, clip_frames

    return np.ascontiguousarray(clip_frames(CLIPS[what])[0][0])


def write(name: str, folder: str | Path) -> tuple[Path, str]:
    from PIL import Image

    arr = pixels(name)
    path = Path(folder) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path, hashlib.sha256(arr.tobytes()).hexdigest()
