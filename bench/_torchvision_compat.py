"""Make ``import torchvision`` work on CPU-only torch with the CUDA-linked torchvision 0.28.0 wheel.

Why this exists
---------------
The only torchvision 0.28.0 wheel on PyPI is a CUDA build. On a CPU build of torch its C extension (``_C.so``)
cannot load, and ``import torchvision`` then raises ``RuntimeError: operator torchvision::nms does not exist``
(from ``torchvision/_meta_registrations.py``). Because it is a RuntimeError, it also breaks everything that imports
torchvision: timm, open_clip, torchmetrics, lpips, transformers' CLIP.

What it does
------------
Importing :mod:`bench` (which every vgbench package does first) installs a tiny import hook. The first time anything
imports ``torchvision``, the hook runs :func:`ensure_torchvision_importable` once and steps aside:

* torchvision not installed, or its ops already registered: nothing to do;
* the native ``_C.so`` loads (a matching CPU or CUDA build): nothing else to do;
* otherwise the schemas of ``torchvision::nms`` and ``torchvision::qnms`` are defined with :mod:`torch.library`,
  so the Python part of torchvision imports. Its C ops (nms, roi_align, deform_conv2d) and image decoding stay
  unavailable; vgbench uses none of them.

The hook costs nothing until torchvision is imported, so ``import bench`` and ``vgbench --help`` stay fast.
:data:`STATUS` records what happened; run provenance stores it.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys

#: What the compatibility step did: "not run yet", "torchvision not installed", "ops already registered",
#: "native _C loaded" or "schemas stubbed (C ops unavailable)".
STATUS = "not run yet"
_LIBRARY = None  # keeps the torch.library fragment alive


def ensure_torchvision_importable() -> str:
    """Define the torchvision op schemas if (and only if) torchvision's C extension cannot load. Idempotent."""
    global STATUS, _LIBRARY
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        STATUS = "torchvision not installed"
        return STATUS
    import torch

    if hasattr(torch.ops.torchvision, "nms"):
        STATUS = "ops already registered" if STATUS == "not run yet" else STATUS
        return STATUS
    try:
        torch.ops.load_library(os.path.join(os.path.dirname(spec.origin), "_C.so"))
        STATUS = "native _C loaded"
        return STATUS
    except (OSError, RuntimeError):
        pass
    lib = torch.library.Library("torchvision", "FRAGMENT")
    for op in ("nms", "qnms"):
        lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIBRARY = lib
    STATUS = "schemas stubbed (C ops unavailable)"
    return STATUS


class _TorchvisionImportHook(importlib.abc.MetaPathFinder):
    """Runs :func:`ensure_torchvision_importable` right before the first ``import torchvision``."""

    def find_spec(self, fullname, path=None, target=None):  # noqa: D401 - importlib protocol
        if fullname == "torchvision":
            uninstall_hook()
            ensure_torchvision_importable()
        return None  # let the normal finders import it


_HOOK = _TorchvisionImportHook()


def install_hook() -> None:
    """Install the hook (done by ``import bench``). If torchvision is already imported, there is nothing to fix."""
    if "torchvision" in sys.modules or _HOOK in sys.meta_path:
        return
    sys.meta_path.insert(0, _HOOK)


def uninstall_hook() -> None:
    try:
        sys.meta_path.remove(_HOOK)
    except ValueError:
        pass
