"""``python:MODULE:CALLABLE``: any in-house model or training checkpoint as a vgbench generator.

``MODULE`` is an importable module name (``my_project.sampling``) or a path to a ``.py`` file
(``path/to/gen.py``); ``CALLABLE`` is a function or a class/factory in it.

* A **function** ``fn(request) -> video`` is called once per item.
* A **class or factory** (anything whose call takes the ``--model-arg`` options as keyword arguments and returns an
  object with a ``generate(request)`` method) is instantiated once, with those options: the place to load a
  checkpoint directory once and keep the model in memory (see ``examples/checkpoint_generator.py``).

``request`` is a :class:`~vgbench.reference_models.base.GenerationRequest` (prompt, seed, num_frames, fps, width, height,
image). The returned video may be a :class:`~vgbench.bench.video.Video`, a uint8 array/tensor ``[T, H, W, 3]`` (RGB; the
request's fps is used), or a float array in [0, 1].

Optional attributes on the callable or the object: ``capabilities`` (a :class:`Capabilities`: reference frames, fps,
size, tasks), ``settings()`` (content-defining settings, e.g. the checkpoint's step and hash: they enter the item
ids, so a new checkpoint regenerates) and ``model_id``. Without ``settings()``, the ``--model-arg`` options are the
settings.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

import numpy as np

from vgbench.bench.errors import ConfigError, GenerationError
from vgbench.bench.lazy import lazy_import
from vgbench.bench.video import Video
from vgbench.reference_models.base import Capabilities, GenerationRequest

torch = lazy_import("torch")


def _load_callable(spec: str):
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"python model {spec!r}: use python:MODULE:CALLABLE (e.g. python:my_pkg.gen:sample, or "
                          "python:path/to/file.py:MyGenerator)")
    if module_name.endswith(".py") or "/" in module_name:
        path = Path(module_name).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"python model: no such file {path}")
        name = f"vgbench_user_{abs(hash(str(path)))}"
        mod_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[name] = module
        try:
            mod_spec.loader.exec_module(module)
        except Exception as e:  # noqa: BLE001 - user code: report any import failure clearly
            raise ConfigError(f"python model: importing {path} failed: {type(e).__name__}: {e}") from e
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            raise ConfigError(f"python model: cannot import {module_name!r} ({e}); is it on PYTHONPATH?") from e
    try:
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise ConfigError(f"python model: {module_name} has no {attr!r}") from None
    if not callable(obj):
        raise ConfigError(f"python model: {module_name}:{attr} is not callable")
    return obj


def to_video(out: Any, fps: float) -> Video:
    """Video / uint8 ``[T,H,W,3]`` / float in [0,1] (numpy or torch) → :class:`Video`."""
    if isinstance(out, Video):
        return out
    if isinstance(out, torch.Tensor):
        out = out.detach().cpu().numpy()
    arr = np.asarray(out)
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise GenerationError(f"the python model returned an array of shape {arr.shape}; expected [T, H, W, 3] RGB")
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating):
            if not np.isfinite(arr).all():
                raise GenerationError("the python model returned non-finite pixel values")
            arr = np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)
        else:
            arr = np.clip(arr, 0, 255).astype(np.uint8)
    return Video.from_numpy(arr, fps)


class PythonGenerator:
    """Adapter around a user callable (see the module docstring)."""

    name = "python"
    summary = "an in-house model or checkpoint: python:MODULE:CALLABLE (a function or a factory)"
    #: what ``NAME:ARG`` takes
    argument = "MODULE:CALLABLE"

    def __init__(self, spec: str, **options: Any):
        self.spec = spec
        self.options = options
        target = _load_callable(spec)
        if inspect.isclass(target) or (not _takes_request(target)):
            try:
                self.impl = target(**options)
            except TypeError as e:
                raise ConfigError(f"python model {spec}: could not construct it with {options}: {e}") from e
            if not hasattr(self.impl, "generate"):
                raise ConfigError(f"python model {spec}: the object it returned has no generate(request) method")
            self._call = self.impl.generate
        else:
            if options:
                raise ConfigError(f"python model {spec} is a plain function: it takes no --model-arg options")
            self.impl = target
            self._call = target
        self.model_id = str(getattr(self.impl, "model_id", None) or f"python:{spec.rpartition(':')[2]}")
        caps = getattr(self.impl, "capabilities", None)
        self.capabilities = caps if isinstance(caps, Capabilities) else Capabilities(
            needs_weights=True, license="user-defined", memory="user-defined",
            description=f"user callable {spec}")

    def settings(self) -> dict:
        fn = getattr(self.impl, "settings", None)
        if callable(fn):
            return {"callable": self.spec, **fn()}
        return {"callable": self.spec, "options": {k: str(v) for k, v in sorted(self.options.items())}}

    def generate(self, request: GenerationRequest) -> Video:
        try:
            out = self._call(request)
        except (GenerationError, ValueError, RuntimeError, OSError):
            raise
        except Exception as e:  # noqa: BLE001 - user code fails the item, not the run
            raise GenerationError(f"{self.spec} raised {type(e).__name__}: {e}") from e
        return to_video(out, request.fps)


def _takes_request(fn) -> bool:
    """A plain function of one positional parameter is called per item; anything else is a factory."""
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    except (TypeError, ValueError):
        return True
    return len(params) == 1
