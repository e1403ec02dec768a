"""The typed configurations of vgbench: one object per job, the same for the CLI, YAML/JSON files and the API.

* :class:`RunConfig`: generate a suite's videos with a model (``vgbench run``/``generate``, :func:`~vgbench.bench.runs.plan_run`);
* :class:`EvalConfig`: score a run folder or a folder of videos (``vgbench evaluate``,
  :func:`~vgbench.bench.evaluate.evaluate`).

Each has ``from_file(path)`` (YAML or JSON; unknown keys are an error naming the file and the known keys),
``from_cli(args)`` (an :mod:`argparse` namespace of the command) and ``to_dict()``. On the command line,
``--config FILE`` loads a file and the options given on the command line override its values. Relative paths in a
file are relative to the working directory, as on the command line. Fields are type-checked (a quoted ``'false'`` is
not a boolean): a mistake is a :class:`~vgbench.bench.errors.ConfigError` naming the file and the field.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from vgbench.bench.errors import BadArgumentError, ConfigError
from vgbench.bench.video.encode import QUALITY_PRESETS


def _read_mapping(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    from vgbench.bench.safeload import InputLimitError, load_json, load_yaml, read_input

    try:
        text = read_input(p)
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read the configuration file ({getattr(e, 'strerror', None) or e})") from None
    try:
        data = load_json(text, str(p)) if p.suffix.lower() == ".json" else load_yaml(text, str(p))
    except InputLimitError:
        raise
    except Exception as e:  # noqa: BLE001 - YAML and JSON parsers raise several types
        raise ConfigError(f"{p}: not valid {'JSON' if p.suffix.lower() == '.json' else 'YAML'}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: a configuration file holds one mapping of option: value")
    return data


def _build(cls, data: Mapping[str, Any], where: str):
    fields = dataclasses.fields(cls)
    names = {f.name for f in fields}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {', '.join(unknown)}; {cls.__name__} takes "
                          f"{', '.join(sorted(names))}")
    required = [f.name for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [n for n in required if data.get(n) is None]
    if missing:
        raise ConfigError(f"{where}: {cls.__name__} needs {', '.join(missing)}")
    try:
        return cls(**dict(data))
    except ConfigError as e:
        raise type(e)(f"{where}: {e}") from None  # keeps the kind (an unknown name stays a usage error)
    except TypeError as e:
        raise ConfigError(f"{where}: {e}") from None


class _ConfigIO:
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "configuration"):
        """Build from a mapping of field: value. Raises :class:`ConfigError` on unknown or invalid fields."""
        return _build(cls, data, where)

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any):
        """Read a YAML (``.yaml``/``.yml``) or JSON (``.json``) file of field: value; ``overrides`` (non-None) win.

        Raises:
            ConfigError: unreadable or invalid file, unknown fields (named with the file).
        """
        data = _read_mapping(path)
        for k, v in overrides.items():
            if v is None:
                continue
            if k in ("model_args", "weights") and isinstance(v, dict) and isinstance(data.get(k), dict):
                v = {**data[k], **v}  # a key given on the command line wins; the file's other keys stay
            data[k] = v
        return _build(cls, data, str(path))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any):
        return dataclasses.replace(self, **changes)


def _path(value: Any, name: str, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if isinstance(value, (str, os.PathLike)) and str(value).strip():
        return str(value)
    raise ConfigError(f"{name} must be a path, not {value!r}")


def _whole(value: Any, name: str, optional: bool = True) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number, not {value!r}")
    return value


def _flag(value: Any, name: str, optional: bool = False) -> bool | None:
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, not {value!r}")
    return value


def _executor_fields(executor: Any, workers: Any) -> None:
    if not isinstance(executor, str) or not executor.strip():
        from vgbench.bench.engine.executors import EXECUTORS

        raise ConfigError(f"executor must be a name ({', '.join(EXECUTORS.names())}), not {executor!r}")
    from vgbench.bench.engine.executors import EXECUTORS

    EXECUTORS.entry(executor)  # an unknown name fails here, listing the known ones
    _whole(workers, "workers")
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be at least 1, not {workers}")


def parse_shard(text: Any) -> tuple[int, int]:
    """``"I/N"`` → ``(I, N)`` with 1 ≤ I ≤ N.

    Raises:
        ConfigError: anything else.
    """
    m = re.fullmatch(r"([0-9]+)/([0-9]+)", str(text).strip()) if isinstance(text, str) else None
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise ConfigError(f"shard must be I/N with 1 <= I <= N (e.g. 2/8), not {text!r}")
    return int(m.group(1)), int(m.group(2))


def shard_of(key: str, n: int) -> int:
    """The shard (0-based, of ``n``) an item belongs to: a hash of its key (an item id, or a path in a folder),
    stable across machines and runs, so generation and evaluation shards hold the same items."""
    import hashlib

    return int.from_bytes(hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()[:8], "big") % n


def _csv(text: str | list | tuple | None, name: str = "value") -> tuple[str, ...]:
    if text is None:
        return ()
    if isinstance(text, str):
        return tuple(s.strip() for s in text.split(",") if s.strip())
    if not isinstance(text, (list, tuple)):
        raise ConfigError(f"{name} must be a list of names or one comma-separated string, not {text!r}")
    return tuple(str(s).strip() for s in text if str(s).strip())


@dataclass(frozen=True)
class RunConfig(_ConfigIO):
    """One typed configuration for the CLI and the Python API.

    Attributes:
        model: generator spec (``shapes``, ``static``, ``noise``, ``replay:DIR``, ``folder:DIR``).
        suite: built-in suite name or suite file path.
        samples: videos per prompt (default: the suite's / prompt's own).
        seed: base seed; sample ``i`` of every prompt uses ``seed + i``.
        frames, fps, width, height: generation settings (default: the generator's reference settings).
        out: output folder (run folders + ``vgbench.sqlite``).
        metrics: metrics scored after generation by ``vgbench run`` (no-reference metrics only).
        quality: encoding preset for written videos (``lossless``, ``near_lossless``, ``high``).
        model_args: extra generator options (``--model-arg key=value``).
        weights: user-supplied weights files for the metrics, ``{NAME: PATH}`` (``--weights NAME=PATH``; see
            :func:`vgbench.bench.evaluate.evaluate`).
        shard: ``"I/N"``: generate (and, with ``vgbench run``, score) only slice I of N of the items (by a hash of
            the item id) into the shared run folder; its records go to ``OUT/vgbench.shard-I-of-N.sqlite`` for
            ``vgbench merge``.
        executor: ``"local"`` (generate in this process) or ``"ray"`` (generator actors, one per GPU, that load the
            model once; the run folder must be on a file system the workers share); also used for the scoring.
        workers: generator actors (ray) / scoring workers; default: one per GPU (else per CPU) with ray, 1 locally.
        label: a human name for the run in every view (leaderboard, exports, compare); default: the model with its
            arguments. Not part of the run id: relabelling a run changes nothing else.
    """

    model: str
    suite: str
    samples: int | None = None
    seed: int = 0
    frames: int | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    out: str = "vgbench-out"
    metrics: tuple[str, ...] = ("temporal_flickering",)
    quality: str = "lossless"
    model_args: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, str] = field(default_factory=dict)
    shard: str | None = None
    executor: str = "local"
    workers: int | None = None
    label: str | None = None

    def __post_init__(self):
        if self.shard is not None:
            parse_shard(self.shard)
        _executor_fields(self.executor, self.workers)
        _label_field(self.label)
        for name in ("model", "suite"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ConfigError(f"{name} must be a name, not {getattr(self, name)!r}")
        for name in ("samples", "frames", "width", "height"):
            _whole(getattr(self, name), name)
        _whole(self.seed, "seed", optional=False)
        if self.fps is not None and (isinstance(self.fps, bool) or not isinstance(self.fps, (int, float))):
            raise ConfigError(f"fps must be a number, not {self.fps!r}")
        for name in ("model_args", "weights"):
            if not isinstance(getattr(self, name) or {}, dict):
                raise ConfigError(f"{name} must be a mapping of name: value, not {getattr(self, name)!r}")
        # paths as text: the configuration is written to run.json (JSON) and compared across runs
        object.__setattr__(self, "weights", {str(k): str(v) for k, v in (self.weights or {}).items()})
        object.__setattr__(self, "metrics", _csv(self.metrics, "metrics"))
        object.__setattr__(self, "out", _path(self.out, "out", optional=False))
        if self.samples is not None and self.samples < 1:
            raise ConfigError("--samples must be at least 1")
        if self.quality not in QUALITY_PRESETS:
            raise ConfigError(f"--quality must be one of {', '.join(QUALITY_PRESETS)}")
        for name in ("frames", "width", "height"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ConfigError(f"--{name} must be positive")
        if self.fps is not None and self.fps <= 0:
            raise ConfigError("--fps must be positive")

    def shard_index(self) -> tuple[int, int] | None:
        """``(I, N)`` of ``shard``, or None."""
        return None if self.shard is None else parse_shard(self.shard)

    @classmethod
    def from_cli(cls, args: Any, model_args: dict[str, Any] | None = None,
                 weights: dict[str, str] | None = None) -> "RunConfig":
        """From ``vgbench run``/``generate``'s parsed arguments; with ``--config FILE`` the file's values are the
        defaults and the options given on the command line win."""
        w, h = args.size if getattr(args, "size", None) else (None, None)
        given = {"model": args.model, "suite": args.suite, "samples": args.samples, "seed": args.seed,
                 "frames": args.frames, "fps": args.fps, "width": w, "height": h, "out": args.out,
                 # --metrics "" asks for no scoring (an empty tuple); absent, the default applies
                 "metrics": (_csv(args.metrics, "metrics") if getattr(args, "metrics", None) is not None else None),
                 "quality": args.quality,
                 "model_args": model_args or None, "weights": weights or None, "shard": getattr(args, "shard", None),
                 "executor": getattr(args, "executor", None), "workers": getattr(args, "workers", None),
                 "label": getattr(args, "label", None)}
        if getattr(args, "config", None):
            return cls.from_file(args.config, **given)
        return cls.from_dict({k: v for k, v in given.items() if v is not None}, "command line")


PRESETS_DIR = Path(__file__).resolve().parent / "presets"


def list_presets() -> list[str]:
    """Names of the packaged run configs (``vgbench run --preset NAME``)."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def preset_path(name: str) -> Path:
    """The packaged run config ``name`` (``bench/presets/<name>.yaml``).

    Raises:
        BadArgumentError: no such preset (the message names the closest one).
    """
    path = PRESETS_DIR / f"{name}.yaml"
    if not path.is_file():
        from vgbench.bench.errors import unknown_name

        raise unknown_name("preset", name, list_presets())
    return path


def _label_field(label) -> None:
    if label is not None and (not isinstance(label, str) or not label.strip() or len(label) > 200):
        raise BadArgumentError(f"label must be a short non-empty name (at most 200 characters), not {label!r}")


@dataclass(frozen=True)
class EvalConfig(_ConfigIO):
    """What to score and how: the one argument of :func:`~vgbench.bench.evaluate.evaluate`.

    Attributes:
        videos: run folder (has ``run.json``) or folder of videos.
        metrics: metric specs, ``NAME``, ``NAME/PROTOCOL`` or ``NAME/PROTOCOL@option=value`` (a list, or one
            comma-separated string).
        dimensions: VBench dimensions (``"all"`` or names; a list or a comma-separated string), added to ``metrics``
            as their metric specs (:mod:`vgbench.metrics.vbench.table`).
        reference: folder (or run folder) of reference videos, needed by paired and distribution metrics; for
            distribution metrics also a reference-statistics file (``.npz`` from ``vgbench refstats build``).
        db: results database (default: the run's ``OUT/vgbench.sqlite``, or ``./vgbench-out/vgbench.sqlite``).
        feature_cache: folder of cached per-video features (default: ``features/`` beside the database).
        allow_random_weights: development only: missing backbone weights become a seeded random init, and every
            such result is flagged (None: the ``VGBENCH_ALLOW_RANDOM_WEIGHTS`` environment variable).
        weights: user-supplied weights files, ``{NAME: PATH}`` (NAME a weights or backbone name): used if they load
            strictly into the official layout; results are flagged "user-supplied weights: not comparable with
            published values" unless the file is the official one. A name no requested metric uses is an error.
        progress: show progress (bars on a terminal, plain lines otherwise).
        shard: ``"I/N"``: score only the I-th of N deterministic slices of the items (by a hash of each item key),
            into this config's database; set-level values are left to ``vgbench merge``, which combines the N shard
            databases and computes them exactly as one process would.
        only_cached: compute nothing: every per-item value and feature must already be stored (what ``merge`` uses;
            a missing one fails its item as "not computed").
        executor: how the work units run: ``"local"`` (threads of this process), ``"processes"`` (worker
            processes, for CPU-bound metrics) or ``"ray"`` (Ray actors on the cluster at ``RAY_ADDRESS``, or a local
            Ray; extra ``vgbench[ray]``); see :mod:`vgbench.bench.engine`.
        workers: units processed at once (local: threads, default 1 plus a decode-prefetch thread; ray: actors,
            default one per GPU, else one per CPU). Results do not depend on it.
        label: a human name for the scored run in every view (see :class:`RunConfig`); given for a run folder, it
            relabels that run.
        batch: clips per backbone forward pass across videos (cross-video batches of the distribution metrics'
            video backbones: I3D, VideoMAE), for GPU throughput; default 1. With 1, features are bitwise independent
            of which videos are evaluated together (shards, resumes and any executor agree bit for bit). Above 1 the
            features agree to float rounding (~1e-6 relative), but a distance over fewer videos than feature
            dimensions can amplify that to percent, and shards or a resumed run group videos differently: features
            of a batch > 1 are cached apart (their own cache key), and the batch is recorded in the result.

    Raises:
        ConfigError: no metric and no dimension, or a malformed field.
    """

    videos: str
    metrics: tuple[str, ...] = ()
    dimensions: tuple[str, ...] = ()
    reference: str | None = None
    db: str | None = None
    feature_cache: str | None = None
    allow_random_weights: bool | None = None
    weights: dict[str, str] = field(default_factory=dict)
    progress: bool = True
    shard: str | None = None
    only_cached: bool = False
    executor: str = "local"
    workers: int | None = None
    label: str | None = None
    batch: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "videos", _path(self.videos, "videos", optional=False))
        _executor_fields(self.executor, self.workers)
        _label_field(self.label)
        _whole(self.batch, "batch")
        if self.batch is not None and self.batch < 1:
            raise BadArgumentError(f"batch must be at least 1, not {self.batch}")
        if self.shard is not None:
            self.shard_index()
        _flag(self.only_cached, "only_cached")
        for name in ("reference", "db", "feature_cache"):
            object.__setattr__(self, name, _path(getattr(self, name), name))
        _flag(self.allow_random_weights, "allow_random_weights", optional=True)
        _flag(self.progress, "progress")
        object.__setattr__(self, "metrics", _csv(self.metrics, "metrics"))
        object.__setattr__(self, "dimensions", _csv(self.dimensions, "dimensions"))
        w = self.weights
        if not isinstance(w, (dict, list, tuple, type(None))):
            raise ConfigError(f"weights must be a mapping NAME: PATH (or a list of NAME=PATH), not {w!r}")
        if isinstance(w, (list, tuple)):
            pairs = [str(x).partition("=") for x in w]
            bad = [a for a, sep, b in pairs if not sep or not a.strip() or not b.strip()]
            if bad:
                raise ConfigError(f"weights take NAME=PATH, not {bad[0]!r}")
            w = {a.strip(): b.strip() for a, _, b in pairs}
        object.__setattr__(self, "weights", {str(k): str(v) for k, v in (w or {}).items()})
        if not self.metrics and not self.dimensions:
            raise ConfigError("give metrics and/or dimensions to evaluate (--metrics, --dimensions)")

    def shard_index(self) -> tuple[int, int] | None:
        """``(I, N)`` of ``shard`` (1 ≤ I ≤ N), or None.

        Raises:
            ConfigError: not of the form ``I/N`` with whole numbers 1 ≤ I ≤ N.
        """
        return None if self.shard is None else parse_shard(self.shard)

    def batch_size(self) -> int:
        """:attr:`batch`, default 1 (opt in to cross-video batches on a GPU)."""
        return self.batch or 1

    def metric_specs(self) -> list[str]:
        """The metrics, then the dimensions' metric specs (duplicates once), checked against the registry.

        Raises:
            ConfigError: an unknown metric or dimension name.
        """
        from vgbench.metrics.registry import parse_metric_list

        specs = parse_metric_list(",".join(self.metrics)) if self.metrics else []
        if self.dimensions:
            from vgbench.metrics.vbench.table import dimension_specs

            specs += [d for d in dimension_specs(",".join(self.dimensions)) if d not in specs]
        return specs

    @classmethod
    def from_cli(cls, args: Any, weights: dict[str, str] | None = None) -> "EvalConfig":
        """From ``vgbench evaluate``'s parsed arguments; with ``--config FILE`` the file's values are the defaults."""
        given = {"videos": args.videos, "metrics": args.metrics, "dimensions": args.dimensions,
                 "reference": args.reference, "db": args.db, "feature_cache": args.feature_cache,
                 "allow_random_weights": True if args.allow_random_weights else None,
                 "weights": weights or None, "progress": False if args.no_progress else None,
                 "shard": getattr(args, "shard", None), "executor": getattr(args, "executor", None),
                 "workers": getattr(args, "workers", None), "label": getattr(args, "label", None),
                 "batch": getattr(args, "batch", None)}
        if getattr(args, "config", None):
            return cls.from_file(args.config, **given)
        return cls.from_dict({k: v for k, v in given.items() if v is not None}, "command line")
