"""``python -m vgbench`` is the ``vgbench`` command."""
from vgbench.bench.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
