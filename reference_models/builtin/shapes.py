"""``shapes``: a deterministic procedural text-to-video renderer.

It understands prompts of the form (the ``shapes`` suite is written in it)::

    a [small|large] <colour> <circle|square|triangle> moving <left|right|up|down> [slowly|quickly] on a <colour> background
    a [small|large] <colour> <shape> standing still on a <colour> background

The shape moves at 0.25 × frame width per second (× 0.5 slowly, × 2 quickly) and wraps around the edges; its start
position is jittered by the seed. Edges are anti-aliased (1-pixel coverage ramp). A prompt it cannot parse is still
rendered, with colour, shape and direction derived from a hash of the text (``parsed: false`` in the attributes),
so any suite runs. Same request → same frames, on every machine (pure NumPy float64).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass

import numpy as np

from vgbench.bench.errors import ConfigError
from vgbench.bench.video import Video
from vgbench.reference_models.base import Capabilities, GenerationRequest

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 70, 210), "yellow": (240, 210, 40),
    "white": (245, 245, 245), "black": (15, 15, 15), "orange": (245, 140, 30), "purple": (140, 60, 180),
    "pink": (245, 130, 180), "cyan": (40, 200, 220), "gray": (128, 128, 128), "grey": (128, 128, 128),
}
SHAPES = ("circle", "square", "triangle")
DIRECTIONS = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0), "still": (0.0, 0.0)}
SIZES = {"small": 0.10, "medium": 0.17, "large": 0.27}
SPEEDS = {"slowly": 0.5, "normal": 1.0, "quickly": 2.0}
BASE_SPEED = 0.25  # frame widths per second

_COLOUR_RE = "|".join(COLOURS)
_PATTERN = re.compile(
    rf"^an? (?:(?P<size>small|medium|large) )?(?P<colour>{_COLOUR_RE}) (?P<shape>circle|square|triangle) "
    rf"(?:moving (?P<dir>left|right|up|down)(?: (?P<speed>slowly|quickly))?|(?:standing|staying) still) "
    rf"on an? (?P<bg>{_COLOUR_RE}) background\.?$")


@dataclass(frozen=True)
class Scene:
    colour: str
    shape: str
    direction: str
    background: str
    size: str = "medium"
    speed: str = "normal"
    parsed: bool = True


def parse_prompt(text: str) -> Scene:
    """Parse a shapes prompt; an unparsable prompt gets attributes derived from its SHA-256 (``parsed=False``)."""
    m = _PATTERN.match(" ".join(text.lower().split()))
    if m:
        return Scene(m["colour"], m["shape"], m["dir"] or "still", m["bg"], m["size"] or "medium", m["speed"] or "normal")
    h = hashlib.sha256(text.encode()).digest()
    names = [c for c in COLOURS if c != "grey"]
    colour = names[h[0] % len(names)]
    bg = names[(h[0] + 1 + h[1] % (len(names) - 1)) % len(names)]
    return Scene(colour, SHAPES[h[2] % 3], list(DIRECTIONS)[h[3] % 5], bg, "medium", "normal", parsed=False)


def _coverage(scene: Scene, cx: np.ndarray, cy: np.ndarray, h: int, w: int) -> np.ndarray:
    """Anti-aliased coverage in [0,1], shape [T,H,W], for shape centres (cx, cy) per frame (pixels)."""
    r = SIZES[scene.size] * min(h, w)
    ys = (np.arange(h, dtype=np.float64) + 0.5)[None, :, None]
    xs = (np.arange(w, dtype=np.float64) + 0.5)[None, None, :]
    dx = xs - cx[:, None, None]
    dy = ys - cy[:, None, None]
    if scene.shape == "circle":
        d = np.sqrt(dx * dx + dy * dy) - r
    elif scene.shape == "square":
        d = np.maximum(np.abs(dx), np.abs(dy)) - r * 0.85
    else:  # upright equilateral triangle with circumradius r: max over the three edge half-planes
        px, py = dx, -dy
        ri = r / 2.0
        normals = ((0.0, -1.0), (np.cos(np.pi / 6), np.sin(np.pi / 6)), (-np.cos(np.pi / 6), np.sin(np.pi / 6)))
        d = np.max(np.stack([nx * px + ny * py for nx, ny in normals]), axis=0) - ri
    return np.clip(0.5 - d, 0.0, 1.0)


def render(scene: Scene, num_frames: int, width: int, height: int, fps: float, seed: int,
           frame_indices: np.ndarray | None = None) -> np.ndarray:
    """Render ``scene`` as uint8 ``[T,H,W,3]``. ``frame_indices`` renders only those time steps (default: all)."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x5EA])
    r = SIZES[scene.size] * min(height, width)
    x0 = width / 2 + rng.uniform(-0.15, 0.15) * width
    y0 = height / 2 + rng.uniform(-0.15, 0.15) * height
    t = np.arange(num_frames, dtype=np.float64) if frame_indices is None else np.asarray(frame_indices, np.float64)
    vx, vy = DIRECTIONS[scene.direction]
    speed = BASE_SPEED * SPEEDS[scene.speed] * width  # pixels per second
    span_x, span_y = width + 2 * r, height + 2 * r
    cx = np.mod(x0 + vx * speed * t / fps + r, span_x) - r
    cy = np.mod(y0 + vy * speed * t / fps + r, span_y) - r
    alpha = _coverage(scene, cx, cy, height, width)[..., None]
    fg = np.asarray(COLOURS[scene.colour], np.float64)
    bg = np.asarray(COLOURS[scene.background], np.float64)
    return np.rint(bg + alpha * (fg - bg)).astype(np.uint8)


class ShapesGenerator:
    """Procedural text-to-video renderer for the ``shapes`` suite (see module docstring)."""

    name = "shapes"
    summary = "procedural renderer for the `shapes` suite: coloured shapes moving over a plain background"

    model_id = "shapes"
    capabilities = Capabilities(
        tasks=("t2v",), default_frames=16, default_fps=8.0, default_width=128, default_height=128,
        description="Deterministic procedural renderer: coloured shapes moving over a plain background. "
                    "The moving-content sanity anchor.")
    RENDERER_VERSION = 1

    def settings(self) -> dict:
        return {"renderer_version": self.RENDERER_VERSION}

    def attributes(self, request: GenerationRequest) -> dict:
        return asdict(parse_prompt(request.prompt))

    def generate(self, request: GenerationRequest) -> Video:
        scene = parse_prompt(request.prompt)
        frames = render(scene, request.num_frames, request.width, request.height, request.fps, request.seed)
        return Video.from_numpy(frames, request.fps)


class NoisyShapesGenerator(ShapesGenerator):
    """``noisy-shapes:SIGMA``: the ``shapes`` renderer plus seeded Gaussian pixel noise of standard deviation SIGMA
    (0–255 units), independent per pixel and frame. A stand-in for a degraded checkpoint: the regression gate must
    catch it against ``shapes``."""

    name = "noisy-shapes"
    summary = "shapes plus seeded Gaussian pixel noise (a degraded 'checkpoint' for the regression gate)"
    #: what ``NAME:ARG`` takes
    argument = "SIGMA"
    #: the arguments, with their units (``vgbench models show``)
    parameters = {"sigma": "SIGMA: standard deviation of the added noise in 0–255 pixel units (not 0–1), e.g. 8; "
                           "below about 0.15 rounding to whole pixel values removes nearly all of it"}

    model_id = "noisy-shapes"
    capabilities = Capabilities(
        tasks=("t2v",), default_frames=16, default_fps=8.0, default_width=128, default_height=128,
        description="The shapes renderer with added Gaussian noise (noisy-shapes:SIGMA): a degraded 'checkpoint' "
                    "for testing comparisons and the regression gate.")

    def __init__(self, sigma: str | float = 8.0):
        try:
            self.sigma = float(sigma)
        except ValueError:
            raise ConfigError(f"noisy-shapes needs a noise level in 0-255 units, e.g. noisy-shapes:8 (got {sigma!r})")
        if not (self.sigma >= 0):
            raise ConfigError("noisy-shapes: the noise level must be >= 0")

    def settings(self) -> dict:
        return {**super().settings(), "noise_sigma": self.sigma}

    def warnings(self) -> list[str]:
        """A noise level that rounds away (the videos would equal ``shapes``'), said before generating."""
        from math import erfc, sqrt

        if self.sigma == 0:
            return ["noisy-shapes:0 adds no noise: the videos equal `shapes`'"]
        changed = erfc(0.5 / (self.sigma * sqrt(2)))  # P(|N(0, σ)| ≥ 0.5)
        if changed >= 1e-3:
            return []
        hint = (f" (for {self.sigma:g} on a 0–1 scale use noisy-shapes:{self.sigma * 255:g})"
                if self.sigma <= 1 else "")
        return [f"noisy-shapes:{self.sigma:g}: SIGMA is in 0–255 pixel units; at {self.sigma:g} rounding to whole "
                f"pixel values removes the noise from all but {changed:.1g} of the pixels, so the videos equal "
                f"`shapes`'{hint}"]

    def generate(self, request: GenerationRequest) -> Video:
        clean = super().generate(request).frames.numpy().astype(np.float64)
        rng = np.random.default_rng([request.seed & 0xFFFFFFFF, 0x9015E])
        noisy = np.clip(np.rint(clean + rng.normal(0.0, self.sigma, clean.shape)), 0, 255).astype(np.uint8)
        return Video.from_numpy(noisy, request.fps)
