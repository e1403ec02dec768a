"""The metric engine: metric base types (:mod:`vgbench.metrics.base`), the registry (:mod:`vgbench.metrics.registry`) and one module
per metric family (``quality/``: PSNR, SSIM; ``vbench/``: VBench dimensions)."""
