"""MLPerf Inference's text-to-video accuracy gate (Wan2.2-T2V-A14B, six VBench dimensions).

The rule, from mlcommons/inference@b66003e10e2d ``text_to_video/wan-2.2-t2v-a14b/run_evaluation.py::parse_results``
and its README: VBench's standard mode scores the six dimensions (``subject_consistency``,
``dynamic_degree``, ``motion_smoothness``, ``appearance_style``, ``scene``, ``background_consistency``), each on its own
prompts of the suite; the accuracy is the plain mean of their raw values (``value[0]`` of VBench's
``eval_results.json``: no min-max normalisation, no weights), reported ×100; a submission passes when it reaches 99 %
of the BF16 reference, 70.48, i.e. **accuracy ≥ 69.7752**. ``parse_results`` averages the dimensions it finds;
here a missing dimension gives no verdict (a mean over five is not MLPerf's accuracy).

The verdict is MLPerf's only when every dimension ran VBench's own model and recipe (fidelity ``vbench-exact``; all
six are, ``scene`` with Tag2Text since revision 2), on the official weights, with MLPerf's settings; otherwise it is
marked indicative with each reason. Pure arithmetic (no torch).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from vgbench.leaderboards.schemes import Dimension, Scheme

#: the six dimensions, in run_evaluation.py's default order
DIMENSIONS = ("subject_consistency", "dynamic_degree", "motion_smoothness", "appearance_style", "scene",
              "background_consistency")
#: the BF16 reference accuracy (README "Reference Accuracy") and the fraction a submission must reach
REFERENCE_ACCURACY = 70.48
THRESHOLD_FRACTION = 0.99
SOURCE = "mlcommons/inference@b66003e10e2d text_to_video/wan-2.2-t2v-a14b/run_evaluation.py::parse_results + README"

#: the accuracy as a leaderboard scheme (``--scheme mlperf-t2v``): the mean of the six raw values, as a fraction
MLPERF_T2V = Scheme(
    "mlperf-t2v", tuple(Dimension(d, "accuracy") for d in DIMENSIONS), {"accuracy": 1.0}, total_name="accuracy",
    description="MLPerf Inference text-to-video accuracy: the plain mean of six raw VBench dimensions (×100 in "
                "MLPerf's reports; pass at ≥ 99 % of 70.48)")


@dataclass(frozen=True)
class Verdict:
    """The gate applied to one run's dimension values.

    Attributes:
        accuracy: mean of the six raw values ×100 (None when a dimension is missing).
        threshold: ``THRESHOLD_FRACTION · REFERENCE_ACCURACY`` (69.7752).
        passed: accuracy ≥ threshold (None without an accuracy).
        dimensions: dimension → raw value (0–1) or None.
        missing: dimensions without a value.
        not_exact: dimensions whose fidelity is not ``vbench-exact`` (the accuracy is then not MLPerf's).
    """

    accuracy: float | None
    threshold: float
    passed: bool | None
    dimensions: dict[str, float | None]
    missing: list[str]
    not_exact: list[str] = field(default_factory=list)
    #: how the run differs from MLPerf's settings (``"steps 2 (MLPerf: 20)"``); empty for an exact run or unknown
    deviations: list[str] = field(default_factory=list)
    #: dimensions scored on random or user-supplied weights
    not_official_weights: list[str] = field(default_factory=list)

    @property
    def indicative(self) -> bool:
        """True when the number is not MLPerf's: a substitute dimension, other settings or other weights."""
        return bool(self.not_exact or self.deviations or self.not_official_weights)

    def to_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "threshold": self.threshold, "reference_accuracy": REFERENCE_ACCURACY,
                "passed": self.passed, "dimensions": self.dimensions, "missing": self.missing,
                "not_exact": self.not_exact, "deviations": self.deviations,
                "not_official_weights": self.not_official_weights, "indicative": self.indicative, "rule": SOURCE}


def mlperf_accuracy(values: Mapping[str, float | None]) -> float | None:
    """The mean of the six raw dimension values (0–1 fractions) ×100, or None when one is missing or NaN."""
    got = [values.get(d) for d in DIMENSIONS]
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in got):
        return None
    return 100.0 * math.fsum(float(v) for v in got) / len(DIMENSIONS)


def verdict(values: Mapping[str, float | None], fidelity: Mapping[str, str | None] | None = None,
            deviations: list[str] | None = None, not_official_weights: list[str] | None = None) -> Verdict:
    """Apply the gate to ``values`` (dimension → raw 0–1 value); ``fidelity``: dimension → its result's fidelity;
    ``deviations`` / ``not_official_weights``: what makes the run other than MLPerf's (see :func:`run_verdict`)."""
    threshold = THRESHOLD_FRACTION * REFERENCE_ACCURACY
    acc = mlperf_accuracy(values)
    dims = {d: (None if values.get(d) is None else float(values[d])) for d in DIMENSIONS}
    missing = [d for d in DIMENSIONS if dims[d] is None or math.isnan(dims[d])]
    not_exact = sorted(d for d in DIMENSIONS if d not in missing and (fidelity or {}).get(d) != "vbench-exact")
    return Verdict(acc, threshold, None if acc is None else acc >= threshold, dims, missing, not_exact,
                   list(deviations or []), sorted(not_official_weights or []))


@functools.lru_cache(maxsize=1)
def _expected_settings() -> dict[str, Any]:
    return _read_expected_settings()


def expected_settings() -> dict[str, Any]:
    """MLPerf's generation settings as the ``mlperf-t2v`` preset plans them (run settings keys → value)."""
    return dict(_expected_settings())


def _read_expected_settings() -> dict[str, Any]:
    import yaml

    from vgbench.bench.config import preset_path
    from vgbench.prompts.schema import load_suite

    p = yaml.safe_load(preset_path("mlperf-t2v").read_text())
    a = p["model_args"]
    return {"model_id": "diffusers/" + p["model"], "frames": p["frames"], "fps": float(p["fps"]),
            "width": p["width"], "height": p["height"], "seed": p["seed"], "samples": p["samples"],
            "suite_sha256": load_suite(p["suite"]).sha256, "steps": a["steps"], "guidance": float(a["guidance"]),
            "dtype": a["dtype"], "negative_prompt": a["negative_prompt"], "vae_fp32": True,
            "call": {"guidance_scale_2": 3.0}, "load": {"boundary_ratio": 0.875}}


def settings_deviations(settings: Mapping[str, Any], suite_sha256: str | None) -> list[str]:
    """How a run's recorded settings differ from MLPerf's (empty when they are MLPerf's)."""
    want = expected_settings()
    adapter = settings.get("adapter_settings") or {}
    got = {k: settings.get(k) for k in ("model_id", "frames", "fps", "width", "height", "seed", "samples")}
    got |= {k: adapter.get(k) for k in ("steps", "guidance", "dtype", "negative_prompt", "vae_fp32", "call", "load")}
    got["suite_sha256"] = suite_sha256
    out = []
    for k, v in want.items():
        if got.get(k) != v:
            show = (lambda x: (repr(x)[:40] + "…") if len(repr(x)) > 40 else repr(x))
            out.append(f"{k} {show(got.get(k))} (MLPerf: {show(v)})")
    if not adapter.get("latents_sha256"):
        out.append("no fixed latents file (MLPerf passes data/fixed_latent.pt: --model-arg latents=PATH)")
    return out


def run_verdict(store, run_id: str) -> Verdict:
    """The gate for a stored run: its set values of the six dimensions' current VBench protocols (other revisions
    and option variants are not counted), with how its settings and weights differ from MLPerf's."""
    import json

    from vgbench.metrics.registry import create_metric

    current = {create_metric(f"{d}/vbench").protocol_id: d for d in DIMENSIONS}
    values: dict[str, float] = {}
    fidelity: dict[str, str] = {}
    weights: list[str] = []
    for s in store.set_metrics([run_id]):
        dim = current.get(s["protocol"])
        if dim is None or s["reference"]:
            continue
        res = json.loads(s["result_json"])
        values[dim] = s["value"]
        fidelity[dim] = res.get("details", {}).get("fidelity")
        if any("random weights" in f or "user-supplied weights" in f for f in res.get("flags", [])):
            weights.append(dim)
    row = store.query("SELECT config_json, suite_sha256 FROM runs WHERE run_id=?", (run_id,))
    deviations = ["not a generation run: its settings are unknown"]
    if row and row[0]["config_json"]:
        settings = json.loads(row[0]["config_json"]).get("settings")
        if settings:
            deviations = settings_deviations(settings, row[0]["suite_sha256"])
    return verdict(values, fidelity, deviations, weights)


def format_verdict(v: Verdict, label: str = "") -> str:
    """Lines as MLPerf prints them (each dimension, the mean) and the verdict."""
    lines = [f"MLPerf text-to-video accuracy{(' of ' + label) if label else ''} (rule: {SOURCE})"]
    for d in DIMENSIONS:
        x = v.dimensions[d]
        lines.append(f"  {d:30s}: {'missing' if x is None else format(x, '6.4f')}")
    if v.accuracy is None:
        lines.append(f"  no verdict: {', '.join(v.missing)} missing (MLPerf's accuracy is the mean of all six)")
        return "\n".join(lines)
    lines.append(f"  {'accuracy (mean ×100)':30s}: {v.accuracy:.4f}")
    word = ("PASS" if v.passed else "FAIL") + (" (indicative)" if v.indicative else "")
    lines.append(f"  {word}: {v.accuracy:.4f} {'>=' if v.passed else '<'} {v.threshold:.4f} "
                 f"(99 % of the BF16 reference {REFERENCE_ACCURACY})")
    if v.not_exact:
        lines.append(f"  ! not MLPerf's number: {', '.join(v.not_exact)} not vbench-exact (a substitute model or "
                     "recipe)")
    if v.not_official_weights:
        lines.append(f"  ! not MLPerf's number: {', '.join(v.not_official_weights)} scored on random or "
                     "user-supplied weights")
    if v.deviations:
        lines.append("  ! not MLPerf's settings: " + "; ".join(v.deviations))
    return "\n".join(lines)
