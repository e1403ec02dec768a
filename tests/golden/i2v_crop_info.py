"""Crop information in the format of VBench-I2V's ``i2v-bench-info.json`` for scikit-image's sample images (written as
JPEG by :func:`write_images`), chosen so that every ratio VBench crops to (1:1, 8:5, 7:4, 16:9) keeps the subject
box: a square first crop (astronaut, the ``width == height`` branch) and two wide ones (coffee, chelsea)."""
from __future__ import annotations

from pathlib import Path

INFO = [
    {"file_name": "astronaut.jpg", "first_crop": {"first_bbox": [0, 0, 512, 512]},
     "second_crop": {"width": 512, "height": 512, "second_bbox": [150, 40, 200, 250]}},
    {"file_name": "coffee.jpg", "first_crop": {"first_bbox": [0, 25, 600, 338]},
     "second_crop": {"width": 600, "height": 338, "second_bbox": [200, 40, 250, 250]}},
    {"file_name": "chelsea.jpg", "first_crop": {"first_bbox": [0, 20, 451, 253]},
     "second_crop": {"width": 451, "height": 253, "second_bbox": [120, 30, 200, 200]}},
]


def write_images(folder: str | Path) -> Path:
    """scikit-image's astronaut, coffee and chelsea as JPEG files (PIL defaults) in ``folder``."""
    from PIL import Image
    from skimage import data

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("astronaut", "coffee", "chelsea"):
        Image.fromarray(getattr(data, name)()[..., :3]).save(folder / f"{name}.jpg")
    return folder
