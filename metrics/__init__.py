"""The metric engine: metric base types (:mod:`metrics.base`), the registry (:mod:`metrics.registry`) and one module
per metric family (``quality/``: PSNR, SSIM; ``vbench/``: VBench dimensions)."""
import bench  # noqa: F401  (installs the torchvision compatibility hook before anything imports torchvision)
