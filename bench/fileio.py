"""Safe files: every file vgbench writes appears whole or not at all, and every untrusted text it writes out is
neutralised for the format it goes into.

* :func:`atomic_path` / :func:`atomic_write_bytes` / :func:`atomic_write_text`: write to a temporary file in the
  destination's folder, ``fsync`` it, then ``os.replace`` it onto the destination (atomic on POSIX and Windows). On any
  failure (disk full, permission, quota) the temporary file is removed and :class:`OutputError` names the path and
  the cause (exit 3): a reader never sees a half-written export, site file, journal, cache entry or sidecar.
* :func:`csv_cell`: the OWASP rule against spreadsheet formula injection (a text cell starting with ``=``, ``+``,
  ``-``, ``@``, tab or CR gets a leading ``'``) and control characters (NUL, ESC, BEL, ...) escaped as ``\\xNN``.
  :func:`safe_frame` applies it to every text column of a DataFrame.
* :func:`printable`: control characters escaped for terminal and Markdown output (a prompt cannot move the cursor,
  clear the screen or ring the bell).
"""
from __future__ import annotations

import errno
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from vgbench.bench.errors import VgbenchError


class OutputError(VgbenchError):
    """A file could not be written (disk full, permission, quota); ``path`` names it. Nothing partial was left."""

    def __init__(self, path: str | os.PathLike, cause: BaseException | str):
        self.path = str(path)
        if isinstance(cause, OSError):
            why = os.strerror(cause.errno) if cause.errno else str(cause)
            hint = {errno.ENOSPC: "free some space and run the same command again",
                    errno.EDQUOT: "free some space (quota) and run the same command again",
                    errno.EACCES: "check the folder's permissions",
                    errno.EROFS: "write to another folder (the file system is read-only)",
                    errno.EFBIG: "the file is larger than this system allows (ulimit -f?)"}.get(cause.errno or 0, "")
        else:
            why, hint = str(cause), ""
        super().__init__(f"cannot write {self.path}: {why}" + (f"; {hint}" if hint else "")
                         + " (nothing partial was left behind)")


class StateError(VgbenchError):
    """A state file vgbench wrote earlier (run.json, a sidecar, a journal, a database, a cache) is corrupt or
    unreadable; the message names it and how to repair."""

    def __init__(self, path: str | os.PathLike, problem: str, repair: str):
        self.path = str(path)
        super().__init__(f"{self.path}: {problem}; {repair}")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()
#: the mode a new file gets from open() under this process's umask (mkstemp's files are 0600)
FILE_MODE = 0o666 & ~_UMASK


@contextmanager
def atomic_path(dest: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``dest`` (same suffix, so writers that pick a format by suffix work) that becomes
    ``dest`` when the block ends without error.

    Raises:
        OutputError: the folder cannot be created or the file cannot be written, synced or renamed (the
            temporary file is removed first).
    """
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp" + dest.suffix)
        os.close(fd)
    except OSError as e:
        raise OutputError(dest, e) from e
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; the file gets what open() would have given it
        os.replace(tmp_path, dest)
    except OSError as e:
        tmp_path.unlink(missing_ok=True)
        raise OutputError(dest, e) from e
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


class FolderLocked(VgbenchError):
    """Another vgbench process holds the lock of this output folder."""


@contextmanager
def folder_lock(folder: str | os.PathLike, name: str = ".vgbench.lock") -> Iterator[Path]:
    """Hold ``folder/name`` exclusively (an advisory ``flock``) for the block, so that two commands never write the
    same outputs at once. The operating system releases it when the holder exits or is killed, so a stale lock file
    never blocks anyone. The holder's pid and start time are written into it for the message.

    Raises:
        FolderLocked: another process holds it (the message names the pid and what to do).
        OutputError: the lock file cannot be created.
    """
    import fcntl
    import time

    path = Path(folder) / name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as e:
        raise OutputError(path, e) from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise FolderLocked(f"{path.parent} is in use by {holder} (lock {path}): wait for it to finish, or "
                               "give this command another --out; finished items are never generated twice") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"vgbench pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock


def read_state_json(path: str | os.PathLike, repair: str, *, keys: tuple[str, ...] = ()) -> Any:
    """The JSON document of a state file vgbench wrote (run.json, a journal, a sidecar), with the ``keys`` a mapping
    must have.

    Raises:
        StateError: unreadable, not UTF-8 JSON, or missing one of ``keys`` (the message names the file and
            ``repair``).
    """
    import json

    p = Path(path)
    try:
        doc = json.loads(p.read_bytes().decode("utf-8"))
    except OSError as e:
        raise StateError(p, f"cannot be read ({e.strerror or e})", repair) from e
    except (UnicodeDecodeError, ValueError) as e:
        raise StateError(p, f"is not valid JSON ({e})", repair) from e
    missing = [k for k in keys if not isinstance(doc, dict) or k not in doc]
    if missing:
        raise StateError(p, f"lacks {', '.join(missing)}", repair)
    return doc


def atomic_write_bytes(dest: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``dest`` atomically (see :func:`atomic_path`); returns ``dest``."""
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return Path(dest)


def atomic_write_text(dest: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``dest`` atomically (see :func:`atomic_path`); returns ``dest``."""
    return atomic_write_bytes(dest, text.encode("utf-8"))


def atomic_copy(src: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Copy ``src`` to ``dest`` atomically (see :func:`atomic_path`); returns ``dest``."""
    import shutil

    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    return Path(dest)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape_control(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", display_text(text))


def display_text(text: str) -> str:
    """``text`` with the lone surrogates of an undecodable file name (``os.fsdecode``) written as ``\\xNN``: what
    can be printed, stored in SQLite and written as UTF-8. Valid text is returned as is."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def csv_cell(value: Any) -> Any:
    """A text cell made safe for CSV/TSV opened in a spreadsheet (see the module docstring); other values as is."""
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START):
        value = "'" + value
    return _escape_control(value)


def safe_frame(df: Any) -> Any:
    """A copy of DataFrame ``df`` whose text cells are :func:`csv_cell`-safe."""
    from pandas.api.types import is_object_dtype, is_string_dtype

    out = df.copy()
    for col in out.columns:
        if is_object_dtype(out[col]) or is_string_dtype(out[col]):
            out[col] = out[col].map(csv_cell, na_action="ignore")
    return out


def printable(text: Any) -> str:
    """``text`` with control characters (other than newline and tab) escaped as ``\\xNN``: safe for a terminal or
    Markdown."""
    return _escape_control(str(text))
