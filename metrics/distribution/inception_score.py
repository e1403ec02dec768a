"""Inception Score (IS) of a set of videos, per frame or per clip: no reference set, higher is better.

``IS = exp(E_x KL(p(y|x) ‖ p(y)))`` over the 1008-way class probabilities of the TF ``inception-2015-12-05`` network
(pytorch-fid's port, ``pt_inception-2015-12-05-6726825d.pth``: the FID backbone), computed on ``splits`` parts of
the frames and averaged (Salimans et al. 2016, openai/improved-gan ``inception_score/model.py``). Two conventions:

* ``is/evalcrafter`` (default): EvalCrafter's ``metrics/is.py`` (evalcrafter/EvalCrafter@cc667017): every frame
  of every video ``/255``, pytorch-gan-metrics' ``get_inception_feature(..., dims=[2048, 1008], use_torch=True)``
  (w86763777/pytorch-gan-metrics@e13f328 ``core.py``: bilinear 299, ``2x − 1``, softmax of the fc without its
  bias, float32) and ``calculate_inception_score(probs, splits=10, use_torch=True)``: 10 contiguous splits, float32,
  mean and the **unbiased** standard deviation (``torch.std``) of the 10 split scores.
* ``is/torch-fidelity``: torch-fidelity 0.4.0's ``isc`` (``metric_isc.py::isc_features_to_metric``) on every frame:
  uint8 input, TF1 bilinear resize to 299, ``(x − 128)/128``, the bias-free logits, rows shuffled by
  ``np.random.RandomState(2020).permutation``, softmax in float64, 10 contiguous splits, mean and the **biased**
  standard deviation (``np.std``).

* ``is/tganv2``: the video IS of TGAN/TGANv2/MoCoGAN/DIGAN tables (pfnet-research/tgan2@f892bc432da3
  ``evaluations/inception_score.py`` with ``models/c3d/c3d_ucf101.py``): the first 16 frames of each video as
  ``(x − 128)/128`` (``datasets/h5video.py``), C3D fine-tuned on UCF-101 (``conv3d_deepnetA_ucf.npz`` and the mean clip
  ``mean2.npz``; :mod:`vgbench.metrics.backbones.c3d`), float32 softmax of its 101 logits, ``+ 1e-20``, 10
  contiguous splits of the videos in float64, mean and biased std. TGANv2 scores 10 fresh sets of 2048 generated
  videos (``splits=1`` each); on a fixed folder the 10 splits play those sets. StyleGAN-V's ``isv`` runs a
  TorchScript port of the same C3D but shuffles with ``RandomState(42)`` and adds no eps (not built).

Frames are taken in sorted item-key order (then frame order), so the value does not depend on shards or arrival order.
EvalCrafter takes ``os.listdir`` order, which its splits depend on: on the same folder its value can differ from
this one's by the assignment of frames to splits (not by the per-frame numbers). Where a probability underflows to
exactly 0 the reference's ``0 · log 0`` gives NaN; here that term is its limit, 0.

The 95 % interval resamples videos (all frames of a video together, 50 resamples); the standard deviation over
splits that papers print as "IS ± std" is in the details (``split_std``, ``split_scores``).
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from vgbench.bench.errors import ConfigError
from vgbench.metrics.base import MetricResult
from vgbench.metrics.distribution.base import DistributionMetric, DistributionProtocol

IS_PROTOCOLS = {
    "evalcrafter": DistributionProtocol(
        "inception-probs-frames", "all frames /255, InceptionV3 (pytorch-fid weights) softmax of the bias-free "
        "1008-way fc, 10 contiguous splits in sorted key order, float32, unbiased std (EvalCrafter with "
        "pytorch-gan-metrics)", options=(("splits", 10),)),
    "tganv2": DistributionProtocol(
        "c3d-tganv2", "per video: first 16 frames, (x-128)/128, C3D UCF-101 (TGANv2) softmax, + 1e-20, 10 "
        "contiguous splits of videos in sorted key order, float64, biased std (TGANv2 inception_score)",
        options=(("splits", 10),)),
    "torch-fidelity": DistributionProtocol(
        "inception-logits-tf1-frames", "all frames uint8, TF1 bilinear 299, (x-128)/128, bias-free 1008-way logits, "
        "shuffled with RandomState(2020), float64 softmax, 10 splits, biased std (torch-fidelity 0.4.0 isc)",
        options=(("splits", 10), ("shuffle_seed", 2020))),
}


def _split_scores_torch32(probs: np.ndarray, splits: int) -> list[float]:
    """pytorch-gan-metrics ``calculate_inception_score(use_torch=True)``'s per-split ``exp(mean KL)`` in float32."""
    import torch

    p = torch.from_numpy(np.ascontiguousarray(probs, dtype=np.float32))
    n = p.shape[0]
    out = []
    for i in range(splits):
        part = p[i * n // splits:(i + 1) * n // splits]
        q = torch.unsqueeze(torch.mean(part, 0), 0)
        kl = torch.where(part > 0, part * (torch.log(part) - torch.log(q)), torch.zeros((), dtype=part.dtype))
        out.append(torch.exp(torch.mean(torch.sum(kl, 1))))
    return [float(s) for s in out]


def _split_scores_float64(logits: np.ndarray, splits: int, shuffle_seed: int | None) -> list[float]:
    """torch-fidelity ``isc_features_to_metric``'s per-split scores: optional shuffle, float64 softmax."""
    import torch

    f = torch.from_numpy(np.ascontiguousarray(logits, dtype=np.float32))
    n = f.shape[0]
    if shuffle_seed is not None:
        f = f[np.random.RandomState(shuffle_seed).permutation(n), :]
    f = f.double()
    p, log_p = f.softmax(dim=1), f.log_softmax(dim=1)
    out = []
    for i in range(splits):
        pc, lc = p[i * n // splits:(i + 1) * n // splits], log_p[i * n // splits:(i + 1) * n // splits]
        q = pc.mean(dim=0, keepdim=True)
        out.append((pc * (lc - q.log())).sum(dim=1).mean().exp().item())
    return out


def _split_scores_eps64(probs: np.ndarray, splits: int, eps: float = 1e-20) -> list[float]:
    """TGANv2 ``inception_score``'s per-split scores: float64, ``part + eps``, contiguous splits."""
    ys = np.asarray(probs, dtype=np.float64)
    n = len(ys)
    out = []
    for i in range(splits):
        part = ys[(i * n // splits):((i + 1) * n // splits), :] + eps
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        out.append(float(np.exp(np.mean(np.sum(kl, 1)))))
    return out


def inception_score(x: np.ndarray, splits: int = 10, convention: str = "evalcrafter",
                    shuffle_seed: int | None = 2020) -> tuple[float, float, list[float]]:
    """The Inception Score of ``x`` (functional form).

    Args:
        x: ``[N, C]`` float: class probabilities (rows summing to 1) for ``"evalcrafter"``, logits for
            ``"torch-fidelity"``. ``N >= splits``.
        splits: number of contiguous parts (10 in both references).
        convention: ``"evalcrafter"`` (float32, unbiased std over splits), ``"torch-fidelity"`` (shuffled,
            float64 softmax, biased std) or ``"tganv2"`` (probabilities + 1e-20 in float64, biased std).
        shuffle_seed: torch-fidelity's ``rng_seed`` (None: no shuffle).

    Returns:
        (mean of the split scores, their standard deviation, the split scores); each score is in ``[1, C]``.

    Raises:
        ConfigError: unknown convention, or fewer rows than splits.
    """
    x = np.asarray(x)
    if x.ndim != 2 or len(x) < splits:
        raise ConfigError(f"the Inception Score needs at least {splits} rows (one per split); got shape {x.shape}")
    if convention == "evalcrafter":
        import torch

        scores = _split_scores_torch32(x, splits)
        t = torch.tensor(scores, dtype=torch.float32)
        return float(torch.mean(t)), float(torch.std(t)) if splits > 1 else 0.0, scores
    if convention == "tganv2":
        scores = _split_scores_eps64(x, splits)
        return float(np.mean(scores)), float(np.std(scores)), scores
    if convention == "torch-fidelity":
        scores = _split_scores_float64(x, splits, shuffle_seed)
        return float(np.mean(scores)), float(np.std(scores)), scores
    raise ConfigError(f"unknown Inception Score convention {convention!r}: evalcrafter, torch-fidelity or tganv2")


class InceptionScore(DistributionMetric):
    """Inception Score of the frames of the generated set (no reference). Value in ``[1, 1008]``, unitless."""

    name: ClassVar[str] = "is"
    summary = "Inception Score of all frames (InceptionV3; EvalCrafter or torch-fidelity convention), no reference"
    needs_reference: ClassVar[bool] = False
    higher_is_better: ClassVar[bool] = True
    needs_download = True
    requires = {"evalcrafter": ("torchvision",), "torch-fidelity": ("torchvision",), "tganv2": ()}
    uses_covariance: ClassVar[bool] = False
    protocol_specs = IS_PROTOCOLS
    protocols: ClassVar[dict[str, str]] = {k: v.description for k, v in IS_PROTOCOLS.items()}
    value_range = (1.0, 1008.0)
    aggregation = "frame"
    n_boot = 50

    def weights_needed(self) -> list[str]:
        return super().weights_needed() + (["c3d_ucf101_mean"] if self.protocol == "tganv2" else [])

    def _score(self, x: np.ndarray) -> tuple[float, float, list[float]]:
        seed = self.spec.option("shuffle_seed")
        return inception_score(x, int(self.spec.option("splits", 10)), self.protocol, seed)

    def compute(self) -> MetricResult:
        keys = self._keys("generated")
        x = self.features("generated")
        splits = int(self.spec.option("splits", 10))
        flags = list(self.extractor.flags) + self.parity_flags()
        details: dict[str, Any] = {"protocol_description": self.protocols[self.protocol], **self.parity_details(),
                                   "n_generated": len(keys), "rows_generated": int(len(x)), "splits": splits,
                                   "frame_order": "sorted item keys, then frame order",
                                   "extractor": self.extractor.describe()}
        value, ci = float("nan"), None
        if len(x) < splits:
            what = "frames" if self.extractor.per == "frame" else "videos"
            flags.append(f"too few {what} ({len(x)}): the Inception Score needs at least {splits} (one per split)")
        else:
            value, std, scores = self._score(x)
            details.update({"split_std": std, "split_scores": scores,
                            "std_kind": "unbiased (torch.std)" if self.protocol == "evalcrafter" else "biased (np.std)",
                            "rows": "frames" if self.extractor.per == "frame" else "videos"})
            if len(keys) >= 2 and self.n_boot:
                ci = self._bootstrap(keys, splits)
        return MetricResult(
            name=self.name, protocol=self.protocol_id, value=value, higher_is_better=self.higher_is_better,
            kind=self.kind.value, unit=self.unit, n_items=len(keys), n_failed=len(self._failed), per_item={},
            ci95=ci, ci_method=f"percentile bootstrap over videos, {self.n_boot} resamples" if ci else None,
            backbone=self.extractor.backbone, weights_sha256=self.extractor.weights_sha256, flags=flags,
            details=details)

    def _bootstrap(self, keys: list[str], splits: int) -> tuple[float, float] | None:
        rng = np.random.default_rng(0)
        vals = []
        for _ in range(self.n_boot):
            xi = np.concatenate([self._gen[keys[i]] for i in rng.integers(0, len(keys), len(keys))])
            if len(xi) >= splits:
                vals.append(self._score(xi)[0])
        if not vals:
            return None
        lo, hi = np.quantile(vals, [0.025, 0.975])
        return float(lo), float(hi)
