"""vgbench harness core: runs, video I/O, results store and the ``vgbench`` CLI.

Importing this package first installs the torchvision compatibility hook (see :mod:`bench._torchvision_compat`);
every other vgbench package imports :mod:`bench` before anything else for that reason. The import is light:
no torch, no numpy.
"""
from bench import _torchvision_compat

_torchvision_compat.install_hook()

__version__ = "0.1.0"
