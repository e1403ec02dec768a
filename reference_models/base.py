"""The generator protocol.

A generator turns a :class:`GenerationRequest` (prompt or image, seed, frames, fps, size) into a
:class:`~vgbench.bench.video.Video`. It declares :class:`Capabilities` (tasks, defaults) and returns its content-defining
``settings()``: everything besides the request that changes its output (checkpoint, steps, guidance, ...). Those
settings enter every item id, so changing one regenerates, and nothing else does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from vgbench.bench.video import Video

TASKS = ("t2v", "i2v", "v2v")


@dataclass(frozen=True)
class Capabilities:
    """What a generator can do and its reference settings.

    Attributes:
        tasks: subset of ``("t2v", "i2v", "v2v")``.
        default_frames, default_fps, default_width, default_height: the model's reference generation settings
            (from its model card or VBench's sampling manifest, not a pipeline default).
        frame_rule: constraint on the frame count, e.g. ``"any"``, ``"4k+1"``, ``"8k+1"``, ``"fixed:49"``.
        needs_weights: False for the built-in generators.
        license: the generator's (or its weights') licence.
        memory: rough peak memory need, in words (e.g. ``"<100 MB RAM"``, ``"24 GB GPU"``).
    """

    tasks: tuple[str, ...] = ("t2v",)
    default_frames: int = 16
    default_fps: float = 8.0
    default_width: int = 128
    default_height: int = 128
    frame_rule: str = "any"
    needs_weights: bool = False
    license: str = "Apache-2.0 (vgbench)"
    memory: str = "<100 MB RAM"
    description: str = ""

    def check_frames(self, n: int) -> None:
        """Raise ValueError if ``n`` frames break :attr:`frame_rule`."""
        rule = self.frame_rule
        ok = True
        if rule.startswith("fixed:"):
            ok = n == int(rule[6:])
        elif "k+" in rule:
            k, _, r = rule.partition("k+")
            ok = n >= int(r) and (n - int(r)) % int(k) == 0
        if not ok or n < 1:
            raise ValueError(f"{n} frames breaks this generator's frame rule {rule!r}")


@dataclass(frozen=True)
class GenerationRequest:
    """One video to generate. ``image`` is the conditioning image path for I2V; ``sample_index`` counts the videos
    of one prompt (0-based; adapters over pre-generated folders use it to find the file)."""

    prompt_id: str
    prompt: str
    seed: int
    num_frames: int
    fps: float
    width: int
    height: int
    image: str | None = None
    sample_index: int = 0
    aux: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@runtime_checkable
class Generator(Protocol):
    """What the harness needs from a generator."""

    #: Stable model id written into item ids and results (e.g. ``"shapes"``, ``"diffusers/CogVideoX-5b"``).
    model_id: str
    capabilities: Capabilities

    def settings(self) -> dict[str, Any]:
        """Content-defining settings beyond the request (JSON-serialisable)."""

    def generate(self, request: GenerationRequest) -> Video:
        """Produce the video for ``request``: exactly ``num_frames`` frames of ``height`` × ``width`` at ``fps``."""


# ---- optional capabilities a generator may declare (the harness checks them with isinstance) -----------------------
@runtime_checkable
class Warns(Protocol):
    """Has something to say about its own arguments before it generates (a value that makes an argument a no-op,
    a unit that is easy to get wrong); ``vgbench run``/``generate`` print each line as a warning."""

    def warnings(self) -> list[str]:
        """Human-readable warnings about this generator's settings (empty when there is nothing to say)."""



@runtime_checkable
class CopiesFiles(Protocol):
    """Its videos already exist as files (a folder, a replay): the harness copies the file itself, after checking it
    decodes, instead of re-encoding decoded frames."""

    def source_file(self, request: GenerationRequest) -> Path:
        """The existing file that answers ``request``."""


@runtime_checkable
class DescribesItems(Protocol):
    """It knows facts about each generated item (e.g. the shapes it drew), stored in the item's sidecar."""

    def attributes(self, request: GenerationRequest) -> dict[str, Any]:
        """JSON-serialisable facts about the video generated for ``request``."""


@runtime_checkable
class BindsRun(Protocol):
    """It keeps state in the run folder (e.g. the HTTP adapter journals job ids so a resumed run never pays twice)."""

    def bind_run(self, run_dir: Path) -> None:
        """Called once with the run folder before the first item is generated."""
