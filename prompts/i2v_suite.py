"""VBench-I2V's image suite: its prompts, camera labels and conditioning images, with VBench's adaptive crops.

Vchitect/VBench@45e79ec14e69:

* ``vbench2_beta_i2v/vbench2_i2v_full_info.json``: 1118 records ``{prompt_en, dimension[], image_type, image_name}``
  (the camera-motion prompts end in "camera pans left", ...; ``camera_motion.py::get_type`` maps those phrases to
  labels: :data:`CAMERA_LABELS`).
* ``vbench2_beta_i2v/crop_to_diff_ratio.py``: each image of the suite's ``i2v-bench-info.json`` (downloaded with the
  images) has a ``first_crop`` (``first_bbox`` in the original image) and, inside it, a ``second_crop`` (``width``,
  ``height`` of the first crop and the subject's ``second_bbox``). For a target ratio ``W-H`` (1:1 up to, not
  including, 16:9) ``get_other_ratio_crop`` keeps the whole short side, takes the long side ``int(short/H)·W``, and
  places the window at ``random.randint(lo, hi)`` over the positions that keep the subject box inside, **re-seeding
  Python's generator with 123 for every image**; ``transfer_bbox_to_origin_img`` moves it into the original image;
  ``crop`` is PIL's ``Image.crop`` saved under the original file name (so JPEG files are re-encoded with PIL's
  defaults, as VBench's crops are). :func:`target_bbox` and :func:`crop_image` do exactly that.

Images come from a folder the user points to; nothing is downloaded. Each prompt's ``image`` is the cropped file;
its SHA-256 then enters the item ids and ``run.json`` like every conditioning image.
"""
from __future__ import annotations

import json
import random
from pathlib import Path, PurePosixPath
from typing import Any

from vgbench.bench.errors import SuiteValidationError
from vgbench.bench.vbench_labels import CAMERA_LABELS, camera_label
from vgbench.prompts.schema import Prompt, Suite

RATIOS = ("1-1", "8-5", "7-4", "16-9")


def ratio_bbox(second_crop: dict[str, Any], ratio: str) -> list[int]:
    """``get_other_ratio_crop``: the ``ratio`` window ``[x, y, w, h]`` in the first crop's coordinates.

    Raises:
        ValueError: a ratio outside [1:1, 16:9) or a subject box the window cannot hold (VBench's asserts).
    """
    rng = random.Random(123)  # VBench calls random.seed(123) before every image
    ratio_w, ratio_h = map(int, ratio.split("-"))
    if not 1.0 <= ratio_w / ratio_h < 1.7778:
        raise ValueError(f"ratio {ratio}: VBench-I2V crops between 1:1 and 16:9")
    width, height = second_crop["width"], second_crop["height"]
    x, y, crop_w, crop_h = second_crop["second_bbox"]
    if width == height:
        target_w, target_h = int(width / ratio_w) * ratio_w, int(width / ratio_w) * ratio_h
        y_min, y_max = max(y - (target_h - crop_h), 0), min(y + target_h, height) - target_h
        if target_h < crop_h or y_max < y_min:
            raise ValueError(f"the {ratio} window cannot hold the subject box {second_crop['second_bbox']}")
        return [0, rng.randint(y_min, y_max), target_w, target_h]
    target_w, target_h = int(height / ratio_h) * ratio_w, int(height / ratio_h) * ratio_h
    x_min, x_max = max(x - (target_w - crop_w), 0), min(x + target_w, width) - target_w
    if target_w < crop_w or x_max < x_min:
        raise ValueError(f"the {ratio} window cannot hold the subject box {second_crop['second_bbox']}")
    return [rng.randint(x_min, x_max), 0, target_w, target_h]


def target_bbox(info: dict[str, Any], ratio: str) -> list[int]:
    """The crop ``[x, y, w, h]`` in the original image for one record of ``i2v-bench-info.json``
    (``transfer_bbox_to_origin_img(first_crop, get_other_ratio_crop(second_crop, ratio))``)."""
    x, y, _, _ = info["first_crop"]["first_bbox"]
    ox, oy, w, h = ratio_bbox(info["second_crop"], ratio)
    return [x + ox, y + oy, w, h]


def crop_image(src: str | Path, bbox: list[int], dst: str | Path) -> Path:
    """VBench-I2V's ``crop``: ``Image.open(src).crop((x, y, x + w, y + h))`` saved to ``dst`` (PIL's defaults for
    the format its suffix names)."""
    from PIL import Image

    x, y, w, h = map(int, bbox)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(src) as img:
        img.crop((x, y, x + w, y + h)).save(dst)
    return dst


def import_vbench_i2v(full_info: str | Path, crop_info: str | Path, images: str | Path, crops: str | Path,
                      ratio: str = "16-9", name: str = "vbench-i2v", samples_per_prompt: int = 5) -> Suite:
    """VBench-I2V's suite with the conditioning images cropped to ``ratio`` into ``crops/<ratio>/``.

    Raises:
        SuiteValidationError: a malformed file, an image missing from ``images``, unreadable or without crop
            information, two records of one prompt text, a camera_motion record whose text names no camera move,
            ``crops`` that would write into ``images``, or a ratio VBench does not crop to; every record is checked,
            and every image cropped, before any crop is put in place.
    """
    from vgbench.bench.safeload import load_json
    from vgbench.prompts.importers import read_text_input, slug_id

    if ratio not in RATIOS:
        raise SuiteValidationError(str(crop_info), None, f"ratio {ratio!r}: one of {', '.join(RATIOS)}")
    docs = []
    for path in (full_info, crop_info):
        try:
            docs.append(load_json(read_text_input(path), str(path)))
        except json.JSONDecodeError as e:
            raise SuiteValidationError(str(path), e.lineno, f"invalid JSON: {e.msg}") from e
    records, infos = docs
    for path, doc in ((full_info, records), (crop_info, infos)):
        if not isinstance(doc, list):
            raise SuiteValidationError(str(path), 1, "expected a JSON list of records")
    by_file = {i.get("file_name"): i for i in infos if isinstance(i, dict)}
    out_dir = Path(crops) / ratio
    if out_dir.resolve() == Path(images).resolve():  # the crops would replace the original images
        raise SuiteValidationError(str(crops), None, f"--crops {crops} would write the {ratio} crops into "
                                                     f"{out_dir}, which is the --images folder: the original images "
                                                     "would be replaced; give another --crops folder")
    # first every record is checked (nothing is written for a file that fails), then the images are cropped
    boxes: dict[str, tuple] = {}
    pending = []
    seen: dict[str, int] = {}
    for k, rec in enumerate(records):
        if not isinstance(rec, dict) or not isinstance(rec.get("prompt_en"), str) or "image_name" not in rec:
            raise SuiteValidationError(str(full_info), None, f"record {k}: needs 'prompt_en' and 'image_name'")
        image = rec["image_name"]
        posix = PurePosixPath(image.replace("\\", "/")) if isinstance(image, str) else None
        if posix is None or not image or posix.is_absolute() or ".." in posix.parts or Path(image).is_absolute() \
                or posix.name in ("", ".") or image.endswith(("/", "\\")):
            raise SuiteValidationError(str(full_info), None, f"record {k}: image_name {image!r} must be a file name "
                                                             "inside --images (no absolute path, no '..'); crops are "
                                                             "written under --crops by the same name")
        if image not in boxes:
            src = Path(images) / image
            if not src.is_file():
                raise SuiteValidationError(str(images), None, f"{src} is missing: point --images at the folder of "
                                                              "VBench-I2V's original images")
            if image not in by_file:
                raise SuiteValidationError(str(crop_info), None, f"no crop information for {image!r}")
            try:
                boxes[image] = target_bbox(by_file[image], ratio)
            except (KeyError, TypeError, ValueError) as e:
                raise SuiteValidationError(str(crop_info), None, f"{image}: {e}") from e
        text = rec["prompt_en"].strip()
        if not text:
            raise SuiteValidationError(str(full_info), None, f"record {k}: 'prompt_en' is empty")
        pid = slug_id(text)
        if pid in seen:  # VBench names a video by its prompt text: two records of one text cannot both be scored
            raise SuiteValidationError(str(full_info), None, f"records {seen[pid]} and {k} have the same prompt text "
                                                             f"({text[:60]!r}, id {pid}); keep one of them")
        seen[pid] = k
        dims = rec.get("dimension") or ()
        if isinstance(dims, str):  # one dimension written without its list
            dims = (dims,)
        if not isinstance(dims, (list, tuple)) or not all(isinstance(d, str) and d.strip() for d in dims):
            raise SuiteValidationError(str(full_info), None, f"record {k}: 'dimension' must be a list of dimension "
                                                             f"names, not {dims!r}")
        dims = tuple(d.strip() for d in dims)
        aux = {}
        label = camera_label(text)
        if "camera_motion" in dims:
            if not label:  # camera_motion would fail this prompt's every video after generation
                raise SuiteValidationError(str(full_info), None, f"record {k}: dimension camera_motion, but its text "
                                           f"{text[:60]!r} names no camera move VBench knows (one of: "
                                           f"{', '.join(CAMERA_LABELS)})")
            aux["camera_motion"] = {"camera_motion": label}
        tags = (str(rec["image_type"]),) if rec.get("image_type") else ()
        pending.append((pid, text, image, tags, dims, aux))
    # the crops go to a scratch folder beside their destination and are moved into place only when every image
    # could be cropped: an image PIL cannot decode leaves no half-written crop folder behind
    import os
    import shutil
    import tempfile

    created = [d for d in (out_dir.parent, out_dir) if not d.exists()]
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".vgbench-crops-", dir=out_dir))
    done: dict[str, Path] = {}
    try:
        for image, box in boxes.items():
            try:
                crop_image(Path(images) / image, box, scratch / image)
            except OSError as e:  # PIL cannot read it (or the crop cannot be written): name the file
                raise SuiteValidationError(str(Path(images) / image), None, f"cannot crop it: {e}") from e
        for image in boxes:
            dst, src = out_dir / image, Path(images) / image
            if dst.exists() and os.path.samefile(dst, src):  # a link between the folders: never replace a source
                raise SuiteValidationError(str(dst), None, f"is the original image {src}; give another --crops folder")
        for image in boxes:
            (out_dir / image).parent.mkdir(parents=True, exist_ok=True)
            os.replace(scratch / image, out_dir / image)
            done[image] = (out_dir / image).resolve()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        for d in reversed(created):  # folders made for crops that were not put in place
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
    prompts = [Prompt(pid, text, str(done[image]), tags, dims, aux) for pid, text, image, tags, dims, aux in pending]
    return Suite(name, tuple(prompts), ratio, f"VBench-I2V image suite imported from {Path(full_info).name}, "
                 f"images cropped to {ratio.replace('-', ':')} as crop_to_diff_ratio.py", samples_per_prompt,
                 str(full_info))
