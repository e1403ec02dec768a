"""Deferred imports for the component modules, so that listing and configuring them stays light.

``vgbench metrics list``, ``vgbench --help`` and ``import vgbench`` import every metric class to read its declared
metadata, but never run one; the heavy packages (torch, the backbones) are imported by a metric module through
:func:`lazy_import` and load on the first attribute access, i.e. when a metric first computes something (the pattern
of SciPy's ``lazy_loader`` (SPEC 1), without touching ``sys.modules`` until the real import).
"""
from __future__ import annotations

import functools
import importlib
import types
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class LazyModule(types.ModuleType):
    """Stands for module ``name``; the first attribute access imports it and every access reads from it."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__dict__["_lazy_name"] = name
        self.__dict__["_lazy_module"] = None

    def _load(self) -> types.ModuleType:
        mod = self.__dict__["_lazy_module"]
        if mod is None:
            mod = importlib.import_module(self.__dict__["_lazy_name"])
            self.__dict__["_lazy_module"] = mod
        return mod

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._load(), attr)

    def __dir__(self) -> list[str]:
        return dir(self._load())

    def __repr__(self) -> str:
        state = "loaded" if self.__dict__["_lazy_module"] is not None else "not loaded yet"
        return f"<lazy module {self.__dict__['_lazy_name']!r} ({state})>"


def lazy_import(name: str) -> Any:
    """A stand-in for ``import name`` that imports on first use (``torch = lazy_import("torch")``)."""
    return LazyModule(name)


def no_grad(fn: F) -> F:
    """``@torch.no_grad()`` without importing torch when the decorated function is defined."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import torch

        with torch.no_grad():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
