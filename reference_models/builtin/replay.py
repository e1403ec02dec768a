"""``replay``: serves real videos from a folder: the real-data upper bound of a suite.

Item → video: ``sha256(prompt, seed) mod n`` over the folder's sorted video files, so a run is reproducible and
every prompt/seed gets a real clip. The clip is sampled at the requested fps from the file's own frame rate (so
motion keeps its real speed), looped if too short, then centre-cropped to the requested aspect ratio and resized
(bilinear, antialiased) to the requested size.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from vgbench.bench.errors import ConfigError
from vgbench.bench.lazy import lazy_import
from vgbench.bench.video import VIDEO_EXTENSIONS, Video, read_video, sample_indices
from vgbench.reference_models.base import Capabilities, GenerationRequest

torch = lazy_import("torch")
F = lazy_import("torch.nn.functional")


def list_videos(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)


def resize_center_crop(frames: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """uint8 ``[T,H,W,3]`` → uint8 ``[T,height,width,3]``: centre crop to the target aspect, then bilinear antialiased."""
    t, h, w, _ = frames.shape
    if (h, w) == (height, width):
        return frames
    target = width / height
    if w / h > target:
        cw = max(1, round(h * target))
        x0 = (w - cw) // 2
        frames = frames[:, :, x0:x0 + cw]
    else:
        ch = max(1, round(w / target))
        y0 = (h - ch) // 2
        frames = frames[:, y0:y0 + ch]
    x = frames.permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


class ReplayGenerator:
    name = "replay"
    summary = "real videos from a folder, cropped/resized to the request (the upper bound)"
    #: what ``NAME:ARG`` takes
    argument = "FOLDER"

    capabilities = Capabilities(tasks=("t2v", "i2v", "v2v"), description="Serves real videos from a folder "
                                "(cropped/resized to the request): the real-data upper bound.")

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).expanduser().resolve()
        if not self.folder.is_dir():
            raise ConfigError(f"replay: {self.folder} is not a folder; use --model replay:/path/to/videos")
        self.videos = list_videos(self.folder)
        if not self.videos:
            raise ConfigError(f"replay: no videos ({', '.join(VIDEO_EXTENSIONS)}) under {self.folder}")
        listing = "\n".join(f"{p.relative_to(self.folder)}\t{p.stat().st_size}" for p in self.videos)
        self._listing_sha256 = hashlib.sha256(listing.encode()).hexdigest()
        self.model_id = f"replay:{self.folder.name}"

    def settings(self) -> dict:
        return {"folder": str(self.folder), "listing_sha256": self._listing_sha256, "resize": "center-crop+bilinear-aa"}

    def pick(self, request: GenerationRequest) -> Path:
        h = hashlib.sha256(f"{request.prompt}\x00{request.seed}".encode()).digest()
        return self.videos[int.from_bytes(h[:8], "little") % len(self.videos)]

    def generate(self, request: GenerationRequest) -> Video:
        path = self.pick(request)
        full = read_video(path)
        idx = sample_indices(f"fps:{request.fps}", full.num_frames, full.fps) or [0]
        idx = [idx[k % len(idx)] for k in range(request.num_frames)]
        frames = resize_center_crop(full.frames[idx], request.width, request.height)
        return Video(frames, request.fps)
