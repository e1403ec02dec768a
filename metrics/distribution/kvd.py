"""KVD (Kernel Video Distance): MMD² with a cubic polynomial kernel on I3D features (metric-recipes §2).

* ``tats`` (default): TATS/DIGAN ``polynomial_mmd`` (songweige/TATS@03bbce1daa3d ``tats/fvd/fvd.py``) — one unbiased
  MMD² on the full sets, degree 3, γ = 1/d, c = 1, raw value (not ×1000), in float32 as sklearn computes it on the
  float32 features TATS passes; features of TATS's I3D pipeline (i3d_pretrained_400 with BatchNorm eps 1e-5, squash
  224, [-1,1], 16 frames).
* ``kid-subsets``: torch-fidelity's KID estimator (toshas/torch-fidelity 0.4.0 ``metric_kid.kid_features_to_metric``:
  100 subsets of m = min(N, M, 1000) without replacement, seed 2020, float32 kernel sums; mean, with the std over
  subsets in the details) on StyleGAN-V's I3D features.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from vgbench.metrics.distribution.base import DistributionMetric, DistributionProtocol
from vgbench.metrics.distribution.kernel import KidSubsetsMemo, mmd2_unbiased_full

PROTOCOLS = {
    "tats": DistributionProtocol(
        "i3d-tats", "TATS/DIGAN: full-set unbiased MMD², poly kernel (d=3, γ=1/d, c=1), float32 as sklearn, raw", 2048,
        (("estimator", "full"),), revision=2,
        revision_note="revision 2 (vgbench 0.2): I3D BatchNorm eps 1e-5 (was 1e-3), float32 kernel sums as TATS's "
                      "sklearn call (was float64)"),
    "kid-subsets": DistributionProtocol(
        "i3d-styleganv", "torch-fidelity KID: 100 subsets of min(N,M,1000) w/o replacement (seed 2020), mean ± std",
        None, (("estimator", "subsets"), ("n_subsets", 100), ("subset_size", 1000), ("seed", 2020)), revision=2,
        revision_note="revision 2 (vgbench 0.2): StyleGAN-V's TorchScript receives uint8 clips (was float32); the "
                      "kernel sums in float32 as torch-fidelity's on float32 features (was float64)"),
}


class KVD(DistributionMetric):
    name: ClassVar[str] = "kvd"
    summary = "Kernel Video Distance (MMD², I3D features) vs a reference set"
    needs_download = True
    uses_covariance: ClassVar[bool] = False
    protocol_specs = PROTOCOLS
    protocols: ClassVar[dict[str, str]] = {k: v.description for k, v in PROTOCOLS.items()}

    def _subsets(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float, list[float]]:
        if not hasattr(self, "_memo"):
            self._memo = KidSubsetsMemo(n_subsets=self.spec.option("n_subsets"),
                                        subset_size=self.spec.option("subset_size"), seed=self.spec.option("seed"),
                                        dtype=np.float32)  # as torch-fidelity computes it on float32 features
        return self._memo(x, y)

    def distance(self, x: np.ndarray, y: np.ndarray) -> float:
        if self.spec.option("estimator") == "full":
            return mmd2_unbiased_full(x, y, dtype=np.float32)
        return self._subsets(x, y)[0]

    def extra_details(self, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        if self.spec.option("estimator") == "full":
            return {"estimator": "unbiased MMD² on the full sets"}
        _, std, _ = self._subsets(x, y)
        return {"estimator": "subsets", "subset_std": std, "subset_size": min(len(x), len(y), 1000)}
