"""Prompt suites: the schema, the loader, importers (VBench, plain lists) and the built-in suites (``suites/``).

Use :func:`load_suite` with a built-in name (``smoke``, ``shapes``) or a path to a ``.yaml``/``.jsonl`` file.
"""

from vgbench.prompts.schema import Prompt, Suite, load_suite, list_builtin_suites, suite_from_prompts, dump_suite_yaml

__all__ = ["Prompt", "Suite", "load_suite", "list_builtin_suites", "suite_from_prompts", "dump_suite_yaml"]
