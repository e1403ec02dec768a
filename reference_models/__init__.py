"""Generators: the :class:`~reference_models.base.Generator` protocol, built-in reference generators that need no
weights (``shapes``, ``static``, ``noise``, ``replay``), the ``folder`` adapter for pre-generated videos, and the
registry behind ``vgbench models list``.
"""
import bench  # noqa: F401  (installs the torchvision compatibility hook before anything imports torchvision)
