"""The ``vgbench`` command line: a package, one module per command, each a thin translation of arguments into a
config object and one call of the library (``run.py``: run/generate; ``evaluate.py``; ``check.py``; ``prompts.py``;
``models.py``; ``metrics.py``; ``results.py``; ``compare.py``; ``leaderboard.py``; ``weights.py``; ``refstats.py``;
``demo.py``, ``merge.py``). Each module has ``register(subparsers)``; this module builds the parser from them and maps errors to
exit codes.

Exit codes: 0 success · 1 internal error · 2 usage error · 3 input error (missing/invalid file, unknown name) ·
4 completed but some items failed · 5 integrity check found problems · 6 regression gate failed.

Importing the CLI and building its parser import no torch (``vgbench --help`` and ``vgbench metrics list`` are
instant); the commands import what they need when they run.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from vgbench import __version__
from vgbench.bench.cli.common import EPILOG, FMT, say
from vgbench.bench.errors import EXIT_INTERNAL, EXIT_USAGE, VgbenchError

#: the command modules, in the order ``vgbench --help`` lists them
COMMANDS = ("run", "evaluate", "merge", "submit", "compare", "leaderboard", "check", "prompts", "models", "metrics",
            "results", "weights", "refstats", "demo")

DESCRIPTION = """\
vgbench: evaluate and benchmark video generation models.

Generate videos for a prompt suite with a model (`run`, `generate`), score them (`evaluate`),
check folders of videos (`check`), and export the results database (`results export`).
Distribution metrics (FVD, KVD, FVMD, FID) need verified backbone weights (`weights`) and
a reference set, as videos or as a statistics file (`refstats`); so do CLIP/ViCLIP scores,
DOVER and LPIPS (weights). PSNR, SSIM, VMAF and temporal flickering need no download.
`vgbench compare` tests whether one run is significantly worse than another (the CI gate);
`vgbench leaderboard build` publishes runs as a static site with confidence intervals.
`vgbench demo` runs the built-in generators on the built-in `shapes` suite end to end."""


def build_parser() -> argparse.ArgumentParser:
    """The full parser; each command module adds its subcommand(s) (``register``)."""
    parser = argparse.ArgumentParser(prog="vgbench", formatter_class=FMT, epilog=EPILOG, description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"vgbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"vgbench.bench.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one ``vgbench`` command; returns its exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: 0 for --help, 2 for usage errors
        return int(e.code or 0)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    restore = _stop_on_sigterm()
    try:
        return args.func(args)
    except VgbenchError as e:
        say(f"vgbench: error: {e}")
        return e.exit_code
    except KeyboardInterrupt:
        say("vgbench: interrupted (finished items are kept; run the same command again to resume)")
        return 130
    except BrokenPipeError:  # `vgbench ... | head`: the reader is gone, which is not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as e:  # noqa: BLE001 - last resort: a bug
        from vgbench.metrics.registry import OPTIONAL_PACKAGES, install_hint

        root = (getattr(e, "name", None) or "").split(".")[0] if isinstance(e, ModuleNotFoundError) else ""
        if root in OPTIONAL_PACKAGES:  # an optional package a path needs that no registry entry declared
            say(f"vgbench: error: this command needs {root}, which is not installed: {install_hint([root])}")
            return EXIT_USAGE
        import traceback

        traceback.print_exc()
        say("vgbench: internal error (a bug): please report it with the traceback above")
        return EXIT_INTERNAL
    finally:
        restore()


def _stop_on_sigterm():
    """SIGTERM (a Slurm time limit or preemption, `kill`) stops a command as Ctrl-C does: finished items are
    written, worker processes and actors are shut down. Returns what restores the previous handler."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    return lambda: signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
