"""Typed errors and the CLI exit codes they map to.

Every error a user can cause derives from :class:`VgbenchError` and says what to do. The CLI maps them to exit codes:

=====  ==========================================================================
code   meaning
=====  ==========================================================================
0      success
1      unexpected internal error (a bug: please report it with the traceback)
2      usage error (bad option or argument, an unknown name of a metric, dimension, model, suite, ...)
3      input error (missing or invalid file or configuration)
4      completed, but some items failed (listed on stderr and in the results)
5      integrity check found problems (``vgbench check``)
6      regression gate failed (``vgbench compare --fail-on-regression``)
=====  ==========================================================================
"""
from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_ITEMS_FAILED = 4
EXIT_CHECK_FAILED = 5
EXIT_REGRESSION = 6


class VgbenchError(Exception):
    """Base class of errors caused by input or configuration; the message says what to do."""

    exit_code = EXIT_INPUT


class UsageError(VgbenchError):
    exit_code = EXIT_USAGE


class ConfigError(VgbenchError):
    """An unknown model, suite or metric name, or inconsistent settings."""


class BadArgumentError(ConfigError):
    """A configuration error that is the command line's (a missing ``:ARG``, an option given twice): a usage error
    (exit 2) that is still a :class:`ConfigError` for API callers."""

    exit_code = EXIT_USAGE


class UnknownNameError(BadArgumentError):
    """A name that is not in its registry (a typo in ``--metrics``, ``--dimensions``, a model or suite name...): a
    usage error (exit 2). Build it with :func:`unknown_name`."""


def unknown_name(kind: str, names, valid, see: str = "") -> UnknownNameError:
    """The error for unknown ``names`` (one string or several) of ``kind``: each with its closest valid name
    (difflib, when one is close), then every valid name and, when given, the command that lists them (``see``)."""
    import difflib

    names = [names] if isinstance(names, str) else list(names)
    valid = list(valid)
    parts = []
    for n in names:
        close = difflib.get_close_matches(n, valid, n=1, cutoff=0.6)
        parts.append(repr(n) + (f" (did you mean {close[0]!r}?)" if close else ""))
    plural = "s" if len(names) > 1 else ""
    return UnknownNameError(f"unknown {kind}{plural} {', '.join(parts)}; available: {', '.join(valid)}"
                            + (f" (see `{see}`)" if see else ""))


class VideoError(VgbenchError):
    """A video file could not be used. ``path`` names the file."""

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class CorruptVideoError(VideoError):
    """The file is not a decodable video (garbage, missing header, unknown container)."""


class TruncatedVideoError(VideoError):
    """The container declares more frames than could be decoded (an interrupted write or download)."""


class EmptyVideoError(VideoError):
    """The file holds no video stream or no frames."""


class UnsupportedVideoError(VideoError):
    """The file's codec or format is not supported by any installed decoder."""


class SuiteValidationError(VgbenchError):
    """A prompt-suite file is invalid; the message names the file and line."""

    def __init__(self, path: str, line: int | None, message: str):
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class GenerationError(VgbenchError):
    """A generator failed to produce a valid video for one item."""


class MetricError(VgbenchError):
    """A metric could not be computed for one item (e.g. reference of a different size)."""
