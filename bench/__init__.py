"""vgbench's core and harness, and the ``vgbench`` CLI.

Core (imports nothing above it): :mod:`~vgbench.bench.errors`, :mod:`~vgbench.bench.settings`,
:mod:`~vgbench.bench.registry`, :mod:`~vgbench.bench.video`, :mod:`~vgbench.bench.provenance`,
:mod:`~vgbench.bench.store`, :mod:`~vgbench.bench.features`. Harness: :mod:`~vgbench.bench.runs`,
:mod:`~vgbench.bench.evaluate`. CLI: :mod:`vgbench.bench.cli`. See ``docs/architecture.md``.
"""
