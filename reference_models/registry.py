"""The generator registry: names → lazily imported classes, so listing models imports nothing heavy.

Model specs on the command line: ``NAME`` (``shapes``, ``static``, ``noise``) or ``NAME:ARG`` for generators that
take an argument (``replay:/videos``, ``folder:/api_outputs``, ``noisy-shapes:8``).

A generator class declares its metadata once (class attributes ``name``, ``summary``, ``argument`` when it takes
``NAME:ARG``, and ``capabilities``); the registry indexes the names. One class may serve several names through a
preset (the diffusers adapter: one entry per :data:`~vgbench.reference_models.diffusers_adapters.SPECS` row, so a
diffusers model is one spec). Third-party packages add generators through the ``vgbench.generators`` entry-point
group.
"""
from __future__ import annotations

from typing import Any

from vgbench.bench.errors import BadArgumentError, ConfigError
from vgbench.bench.registry import Registry

def _check_generator(cls: Any) -> str | None:
    missing = [m for m in ("generate", "settings") if not callable(getattr(cls, m, None))]
    if missing:
        return (f"not a generator: it has no {' or '.join(missing)}() method (see vgbench.reference_models.base."
                "Generator)")
    if not getattr(cls, "summary", None) and not (cls.__doc__ or "").strip():
        return "a generator declares `summary` (one line for `vgbench models list`)"
    return None


#: Every generator: name → its class (or, with ``preset=``, a class and the first argument it is built with).
GENERATORS: Registry[type] = Registry("model", group="vgbench.generators", listing="vgbench models list",
                                      check=_check_generator)

for _name, _target in (
    ("shapes", "vgbench.reference_models.builtin.shapes:ShapesGenerator"),
    ("noisy-shapes", "vgbench.reference_models.builtin.shapes:NoisyShapesGenerator"),
    ("static", "vgbench.reference_models.builtin.simple:StaticGenerator"),
    ("image-pan", "vgbench.reference_models.builtin.i2v_anchors:ImagePanGenerator"),
    ("image-ignore", "vgbench.reference_models.builtin.i2v_anchors:ImageIgnoreGenerator"),
    ("noise", "vgbench.reference_models.builtin.simple:NoiseGenerator"),
    ("replay", "vgbench.reference_models.builtin.replay:ReplayGenerator"),
    ("http", "vgbench.reference_models.http_api:HttpApiGenerator"),
    ("python", "vgbench.reference_models.python_adapter:PythonGenerator"),
    ("folder", "vgbench.reference_models.folder:FolderGenerator"),
):
    GENERATORS.add(_name, _target)


def _register_diffusers() -> None:
    from vgbench.reference_models.diffusers_adapters import diffusers_entries

    for name, summary in diffusers_entries():
        GENERATORS.add(name, "vgbench.reference_models.diffusers_adapters:DiffusersGenerator", preset=name,
                       summary=summary)


_register_diffusers()


def model_names() -> list[str]:
    """Every registered generator name (built-in, diffusers specs, entry points), sorted."""
    return GENERATORS.names()


def _declared(name: str) -> tuple[type, str, str | None, str | None]:
    """(class, summary, argument, preset) of generator ``name``."""
    entry = GENERATORS.entry(name)
    cls = GENERATORS.get(name)
    preset = entry.extra.get("preset")
    summary = entry.extra.get("summary") or getattr(cls, "summary", "") or (cls.__doc__ or "").strip().split("\n")[0]
    return cls, summary, getattr(cls, "argument", None) if preset is None else None, preset


def create_generator(spec: str, **kwargs: Any):
    """Build the generator for ``spec`` (``NAME`` or ``NAME:ARG``); ``kwargs`` are the generator's options.

    Raises:
        UnknownNameError: unknown model name or ``--model-arg`` name (usage errors, with the closest name).
        BadArgumentError: a missing or unexpected ``:ARG``, or the ``:ARG`` parameter given twice.
    """
    name, sep, arg = spec.partition(":")
    cls, _, argument, preset = _declared(name)
    import inspect

    params = [p["name"] for p in _parameters(cls, preset)]
    try:
        open_ended = cls.__init__ is not object.__init__ and any(
            p.kind == p.VAR_KEYWORD for p in inspect.signature(cls.__init__).parameters.values())
    except (TypeError, ValueError):
        open_ended = True
    unknown = [] if open_ended else [k for k in kwargs if k not in params]
    if unknown:
        from vgbench.bench.errors import unknown_name

        if not params:
            raise BadArgumentError(f"model {name!r} takes no --model-arg (got {', '.join(unknown)})")
        raise unknown_name(f"--model-arg of {name}", unknown, params, f"vgbench models show {name}")
    if argument:
        first = params[0] if params else None
        if first in kwargs:
            if arg:
                raise BadArgumentError(f"model {name!r}: {first} is given twice (--model {name}:{arg} and --model-arg "
                                 f"{first}={kwargs[first]}); give it once")
            arg = str(kwargs.pop(first))
        if not arg:
            raise BadArgumentError(f"model {name!r} needs {argument}: use --model {name}:{argument}")
        return cls(arg, **kwargs)
    if sep:
        raise BadArgumentError(f"model {name!r} takes no ':' argument")
    if preset is not None:
        return cls(preset, **kwargs)
    return cls(**kwargs)


def describe(name: str) -> dict[str, Any]:
    """Name, summary, argument, origin and the declared capabilities (for argument-taking generators, those of the
    class); JSON-ready."""
    from dataclasses import asdict

    cls, summary, argument, preset = _declared(name)
    caps = cls(preset).capabilities if preset is not None else getattr(cls, "capabilities", None)
    out = {"name": name, "summary": summary, "argument": argument, "origin": GENERATORS.entry(name).origin,
           "parameters": _parameters(cls, preset)}
    if caps is not None and not isinstance(caps, property):
        out["capabilities"] = asdict(caps)
    return out


def _parameters(cls: type, preset: str | None) -> list[dict[str, Any]]:
    """The generator's arguments (``NAME:ARG`` and ``--model-arg KEY=VALUE``): name, default and what it means with
    its unit, from the class's ``parameters`` mapping (name → help) and its ``__init__`` signature."""
    import inspect

    helps = getattr(cls, "parameters", {}) or {}
    if cls.__init__ is object.__init__:
        return []
    try:
        sig = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return []
    out = []
    params = [p for p in sig.parameters.values() if p.name != "self" and p.kind not in (p.VAR_POSITIONAL,
                                                                                        p.VAR_KEYWORD)]
    for i, p in enumerate(params):
        if preset is not None and i == 0:
            continue  # a preset fills the first argument
        default = None if p.default is inspect.Parameter.empty else p.default
        out.append({"name": p.name, "default": default if isinstance(default, (str, int, float, bool)) else
                    (None if default is None else repr(default)), "help": helps.get(p.name, "")})
    return out


def generator_doc(name: str) -> str:
    """The module docstring of generator ``name``'s class (``vgbench models show``)."""
    import sys

    cls = GENERATORS.get(name)
    mod = sys.modules.get(cls.__module__)
    doc = (mod.__doc__ or "").strip() if mod is not None else ""
    own = (cls.__dict__.get("__doc__") or "").strip()  # a variant's own docstring first (noisy-shapes in shapes.py)
    if own and name != getattr(mod, "__name__", "").rsplit(".", 1)[-1] and own not in doc:
        import inspect

        doc = inspect.cleandoc(own) + ("\n\n" + doc if doc else "")
    return doc
