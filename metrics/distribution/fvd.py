"""FVD (Fréchet Video Distance) with the protocols of the reference implementations (metric-recipes §1).

=================  ====================  ==============  ============  =====  ====================================
protocol           features              covariance      square root   N      clips
=================  ====================  ==============  ============  =====  ====================================
``styleganv``      I3D TorchScript,      population ÷N   scipy sqrtm   2048   16 frames: generated first 16,
 (default)         rescale+resize inside                                      reference random offset (seeded)
``common_metrics`` I3D TorchScript,      unbiased ÷N−1   scipy sqrtm   all    all frames (≥ 10)
                   short side 224 + crop
``videogpt``       i3d_pretrained_400    unbiased        SVD (TF-GAN)  256×4  16 frames
                   (BatchNorm eps 1e-5),                 float32 torch trials
                   short side 224 +
                   crop, [-1, 1]
``tats``           i3d_pretrained_400,   unbiased        SVD (TF-GAN)  2048   16 frames
                   squash 224, [-1, 1]                   float32 torch
``tf``             I3D (tf.hub port),    unbiased        SVD (TF-GAN)  all    first 16 frames
                   TF1 squash resize 224
``cdfvd-videomae`` VideoMAE-v2-g SSv2    population      scipy sqrtm   all    one random 16-frame clip (seeded)
                   1408-d
``efficientnet-``  EfficientNet-Lite0    population      scipy sqrtm   all    first 16 frames; offline and
``lite0``          [mean, mean |Δt|]                                          non-standard (flagged)
=================  ====================  ==============  ============  =====  ====================================

``videogpt`` follows wilson1yan/VideoGPT@733d2b1541e1 (``videogpt/fvd/fvd.py``, ``videogpt/data.py::preprocess``,
``scripts/compute_fvd.py``: 16-frame clips, trials of 256 videos). JunyaoHu/common_metrics_on_video_quality@
5f751734ce9c ``fvd/videogpt/fvd.py`` runs the same features and distance, but on all frames of each video and as one
FVD over the whole set: the two agree on 16-frame videos and fewer than 512 videos (the golden's case); ``tats`` follows songweige/TATS@03bbce1daa3d ``tats/fvd/fvd.py`` (``preprocess``,
``frechet_distance``; ``scripts/sample_vqgan_transformer_short_videos.py`` caps both sets at 2048). Both compute the
distance in float32 torch as their code does (:func:`~vgbench.metrics.distribution.frechet.frechet_distance_torch32`).

Each result reports N, a bootstrap 95 % interval over videos (resamples use an exact-identity fast form of the
distance, :func:`~vgbench.metrics.distribution.frechet.fast_frechet_distance_from_features`) and, from 20 generated videos on, FVD∞ (the value
extrapolated to infinitely many generated videos) beside FVD.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from vgbench.metrics.distribution.base import DistributionMetric, DistributionProtocol
from vgbench.metrics.distribution.frechet import fast_frechet_distance_from_features, frechet_distance_from_features
from vgbench.metrics.distribution.statistics import fd_infinity

PROTOCOLS: dict[str, DistributionProtocol] = {
    "styleganv": DistributionProtocol(
        "i3d-styleganv", "StyleGAN-V fvd2048_16f: TorchScript I3D (rescale, resize) on uint8 clips, 16 frames, first "
        "2048 videos, population covariance, scipy sqrtm", 2048, (("covariance", "population"), ("sqrt", "scipy")),
        revision=2, revision_note="revision 2 (vgbench 0.2): the TorchScript receives uint8 clips, as StyleGAN-V's "
                                  "dataset gives them (was float32 of the same values)"),
    "common_metrics": DistributionProtocol(
        "i3d-common_metrics", "common_metrics_on_video_quality: short side 224 + centre crop, [-1,1], all frames, "
        "np.cov (N-1), scipy sqrtm", None, (("covariance", "unbiased"), ("sqrt", "scipy"))),
    "videogpt": DistributionProtocol(
        "i3d-videogpt", "VideoGPT: i3d_pretrained_400 (BatchNorm eps 1e-5), 16 frames, short side 224 + crop, [-1,1], "
        "unbiased covariance, float32 torch SVD trace-sqrt, mean over trials of 256 videos from 512 videos on (below: "
        "one FVD, as common_metrics' fvd/videogpt, which feeds all frames of each video)",
        None, (("covariance", "unbiased"), ("sqrt", "svd-torch32"), ("trial_size", 256), ("trials", 4)), revision=2,
        revision_note="revision 2 (vgbench 0.2): I3D BatchNorm eps 1e-5 (was 1e-3), input [-1,1] (was [-0.5,0.5]), "
                      "float32 torch distance as VideoGPT's code (was float64)"),
    "tats": DistributionProtocol(
        "i3d-tats", "TATS: i3d_pretrained_400 (BatchNorm eps 1e-5), squash to 224x224, [-1,1], 16 frames, first 2048 "
        "videos, unbiased covariance, float32 torch SVD trace-sqrt", 2048,
        (("covariance", "unbiased"), ("sqrt", "svd-torch32"))),
    "tf": DistributionProtocol(
        "i3d-tf", "original TF FVD: TF1 squash resize to 224, [-1,1], tf.hub I3D (TorchScript port), unbiased "
        "covariance, SVD trace-sqrt (eps 1e-10)", None, (("covariance", "unbiased"), ("sqrt", "svd"))),
    "cdfvd-videomae": DistributionProtocol(
        "videomae-cdfvd", "content-debiased FVD: VideoMAE-v2-g SSv2 1408-d, short side 128 + crop then squash 224, "
        "[0,1], population covariance, scipy sqrtm", None, (("covariance", "population"), ("sqrt", "scipy"))),
    "efficientnet-lite0": DistributionProtocol(
        "efficientnet-video", "offline, non-standard: first 16 frames, EfficientNet-Lite0 ImageNet features, clip = "
        "[mean, mean |temporal difference|] (2560-d), population covariance, exact fast trace-sqrt identity", None,
        (("covariance", "population"), ("sqrt", "fast"))),
}


class FVD(DistributionMetric):
    name: ClassVar[str] = "fvd"
    summary = "Fréchet Video Distance vs a reference set (I3D / VideoMAE)"
    needs_download = True
    protocol_specs = PROTOCOLS
    protocols: ClassVar[dict[str, str]] = {k: v.description for k, v in PROTOCOLS.items()}
    value_range = (0.0, float("inf"))

    def distance(self, x: np.ndarray, y: np.ndarray) -> float:
        trial = self.spec.option("trial_size")
        if trial and min(len(x), len(y)) >= 2 * trial:
            return float(np.mean(self.trial_values(x, y)))
        if self.spec.option("sqrt") == "fast":
            return fast_frechet_distance_from_features(x, y, self.spec.option("covariance"))
        return frechet_distance_from_features(x, y, self.spec.option("covariance"), self.spec.option("sqrt"))

    def fast_distance(self, x: np.ndarray, y: np.ndarray) -> float:
        if self.spec.option("trial_size") and min(len(x), len(y)) >= 2 * self.spec.option("trial_size"):
            return self.distance(x, y)
        return fast_frechet_distance_from_features(x, y, self.spec.option("covariance"))

    def trial_values(self, x: np.ndarray, y: np.ndarray) -> list[float]:
        """VideoGPT: FVD on consecutive chunks of ``trial_size`` videos (up to ``trials``)."""
        t, k = self.spec.option("trial_size"), self.spec.option("trials")
        n = min(k, len(x) // t, len(y) // t)
        return [frechet_distance_from_features(x[i * t:(i + 1) * t], y[i * t:(i + 1) * t],
                                               self.spec.option("covariance"), self.spec.option("sqrt"))
                for i in range(n)]

    def extra_details(self, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {"covariance": self.spec.option("covariance"), "sqrt": self.spec.option("sqrt")}
        trial = self.spec.option("trial_size")
        if trial:
            if min(len(x), len(y)) >= 2 * trial:
                vals = self.trial_values(x, y)
                out["trials"] = {"size": trial, "values": vals, "std": float(np.std(vals))}
            else:
                out["trials"] = {"size": trial, "values": [], "note": "fewer than 2 trials' videos: one FVD on all"}
        inf = fd_infinity(lambda a, b: fast_frechet_distance_from_features(a, b, self.spec.option("covariance")), x, y)
        if inf is not None:
            out["fvd_infinity"] = inf
        return out
