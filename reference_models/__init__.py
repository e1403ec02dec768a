"""Generators: the :class:`~vgbench.reference_models.base.Generator` protocol, built-in reference generators that need no
weights (``shapes``, ``static``, ``noise``, ``replay``), the ``folder`` adapter for pre-generated videos, and the
registry behind ``vgbench models list``.
"""
