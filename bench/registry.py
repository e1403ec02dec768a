"""One typed registry for every kind of component: metrics, backbones, generators.

A :class:`Registry` maps a name to a component that is imported only when first asked for: built-in entries are
``"module:attribute"`` strings, and third-party packages add theirs through Python entry points (the registry's
``group``, e.g. ``[project.entry-points."vgbench.metrics"] my_metric = "my_pkg.metric:MyMetric"``), with no fork and
no import of vgbench's internals. Metadata is declared once, on the component itself (class attributes); the registry
only indexes names, so ``vgbench metrics list`` reads the metadata from the classes. Resolving checks that the
component is what the registry holds (a subclass of its ``base``) and that the name it declares matches.

Modelled on lm-evaluation-harness' typed registry and timm's lazy model registry.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterator, TypeVar

from vgbench.bench.errors import ConfigError, unknown_name

T = TypeVar("T")


def resolve(target: str):
    """The object a ``"module:attr.sub"`` string names (the one resolver of every lazy reference in vgbench).

    Raises:
        ImportError: the module (or a package it imports) cannot be imported. AttributeError: no such attribute.
    """
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class RegistryEntry:
    """One name: where its component lives (``target``: ``"module:attribute"``, or the object itself), what the
    registry adds to it (``extra``: e.g. a preset argument shared by several entries of one class) and where the entry
    came from (``origin``: ``"vgbench"`` or ``"entry point of <distribution>"``)."""

    name: str
    target: Any
    origin: str = "vgbench"
    extra: dict[str, Any] = field(default_factory=dict)


class Registry(Generic[T]):
    """Name → component of kind ``T``, lazily imported.

    Args:
        kind: what the entries are, for messages (``"metric"``).
        base: ``"module:Class"`` every component must subclass (checked on resolve); None for no check.
        group: the Python entry-point group third-party packages register into (``"vgbench.metrics"``).
        name_attribute: the component's attribute that must equal its registry name (``"name"``); None for none.
        listing: the command that lists the entries, for the unknown-name message.
        check: ``check(component)`` returns what is wrong with a component (None when it is fine), for what a base
            class cannot say (e.g. a protocol's methods).
    """

    def __init__(self, kind: str, *, base: str | None = None, group: str | None = None,
                 name_attribute: str | None = "name", listing: str = "",
                 check: Callable[[Any], str | None] | None = None):
        self.kind = kind
        self.base = base
        self.check = check
        self.group = group
        self.name_attribute = name_attribute
        self.listing = listing
        self._entries: dict[str, RegistryEntry] = {}
        self._loaded: dict[str, T] = {}
        self._entry_points_read = group is None
        self.ignored: list[str] = []  # entry points left out because their name was taken

    # ---- registering -------------------------------------------------------------------------------------------
    def add(self, name: str, target: Any, *, origin: str = "vgbench", **extra: Any) -> None:
        """Register ``name`` → ``target`` (``"module:attribute"`` imported on first use, or the object).

        Raises:
            ConfigError: ``name`` is registered already.
        """
        if name in self._entries:
            raise ConfigError(f"{self.kind} {name!r} is registered twice ({self._entries[name].origin} and {origin})")
        self._entries[name] = RegistryEntry(name, target, origin, dict(extra))

    def register(self, name: str | None = None, **extra: Any) -> Callable[[T], T]:
        """Decorator form of :meth:`add` for a component defined where it is registered (tests, notebooks)."""

        def deco(obj: T) -> T:
            self.add(name or getattr(obj, self.name_attribute or "__name__"), obj, origin="decorator", **extra)
            return obj

        return deco

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)
        self._loaded.pop(name, None)

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.group):
            dist = getattr(ep.dist, "name", None) or "?"
            if ep.name in self._entries:  # the first registration wins; the clash is reported, not fatal
                logging.getLogger("vgbench").warning(
                    f"vgbench: warning: {self.kind} {ep.name!r} from the entry point of {dist} is ignored: the name "
                    f"is registered already ({self._entries[ep.name].origin}); rename it in that package")
                self.ignored.append(f"{ep.name} ({dist})")
                continue
            self._entries[ep.name] = RegistryEntry(ep.name, ep.value, f"entry point of {dist}")

    # ---- reading -----------------------------------------------------------------------------------------------
    def names(self) -> list[str]:
        self._read_entry_points()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._read_entry_points()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def entry(self, name: str) -> RegistryEntry:
        """The entry of ``name``.

        Raises:
            UnknownNameError: unknown name (a usage error; the message suggests the closest and lists the known ones).
        """
        self._read_entry_points()
        try:
            return self._entries[name]
        except KeyError:
            raise unknown_name(self.kind, name, self.names(), self.listing or "") from None

    def get(self, name: str) -> T:
        """The component registered as ``name``, imported on first use and checked.

        Raises:
            ConfigError: unknown name; the target cannot be imported (the message names the entry and its origin);
                it is not a subclass of the registry's base; or it declares another name.
        """
        if name in self._loaded:
            return self._loaded[name]
        e = self.entry(name)
        obj = e.target
        if isinstance(obj, str):
            module = obj.partition(":")[0]
            try:
                obj = resolve(obj)
            except ImportError as exc:
                missing = getattr(exc, "name", None) or ""
                if missing and (missing == module or module.startswith(missing + ".")):
                    raise ConfigError(f"{self.kind} {name!r} ({e.origin}) points at {e.target!r}, which cannot be "
                                      f"imported: {exc}") from None
                if e.origin != "vgbench":  # a plug-in's own dependency: name the package that needs it
                    raise ConfigError(f"{self.kind} {name!r} ({e.origin}) cannot be imported: {exc}; install what "
                                      "that package needs") from None
                raise  # a package a built-in component needs is missing: the caller names the extra to install
            except AttributeError:
                raise ConfigError(f"{self.kind} {name!r} ({e.origin}) points at {e.target!r}, which does not "
                                  "exist") from None
        self._check(name, e, obj)
        self._loaded[name] = obj
        return obj

    def _check(self, name: str, e: RegistryEntry, obj: Any) -> None:
        if self.check is not None:
            problem = self.check(obj)
            if problem:
                raise ConfigError(f"{self.kind} {name!r} ({e.origin}) is {obj!r}: {problem}")
        if self.base is not None:
            base = resolve(self.base)
            if not (isinstance(obj, type) and issubclass(obj, base)):
                raise ConfigError(f"{self.kind} {name!r} ({e.origin}) is {obj!r}, not a subclass of {self.base}")
        if self.name_attribute and not e.extra.get("preset"):
            declared = getattr(obj, self.name_attribute, None)
            if declared != name:
                raise ConfigError(f"{self.kind} {name!r} ({e.origin}) declares {self.name_attribute} = {declared!r}; "
                                  "the registry name and the declared name must be the same")

    def items(self) -> list[tuple[str, T]]:
        return [(n, self.get(n)) for n in self.names()]

    def values(self) -> list[T]:
        return [self.get(n) for n in self.names()]

    def keys(self) -> list[str]:
        return self.names()

    def __getitem__(self, name: str) -> T:
        return self.get(name)
