"""MLPerf Inference's text-to-video accuracy gate (Wan2.2-T2V-A14B, six VBench dimensions).

The rule, from mlcommons/inference@b66003e10e2d ``text_to_video/wan-2.2-t2v-a14b/run_evaluation.py::parse_results``
and its README: VBench's standard mode scores the six dimensions (``subject_consistency``,
``dynamic_degree``, ``motion_smoothness``, ``appearance_style``, ``scene``, ``background_consistency``), each on its own
prompts of the suite; the accuracy is the plain mean of their raw values (``value[0]`` of VBench's
``eval_results.json``: no min-max normalisation, no weights), reported ×100; a submission passes when it reaches 99 %
of the BF16 reference, 70.48, i.e. **accuracy ≥ 69.7752**. ``parse_results`` averages the dimensions it finds;
here a missing dimension gives no verdict (a mean over five is not MLPerf's accuracy).

The verdict is MLPerf's only when every dimension ran VBench's own model and recipe (fidelity ``vbench-exact``):
``scene`` uses BLIP captions in Tag2Text's place (vbench-style), so the accuracy computed here says so and is not a
submission number. Pure arithmetic (no torch).
"""
from __future__ import annotations

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

    def to_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "threshold": self.threshold, "reference_accuracy": REFERENCE_ACCURACY,
                "passed": self.passed, "dimensions": self.dimensions, "missing": self.missing,
                "not_exact": self.not_exact, "rule": SOURCE}


def mlperf_accuracy(values: Mapping[str, float | None]) -> float | None:
    """The mean of the six raw dimension values (0–1 fractions) ×100, or None when one is missing or NaN."""
    got = [values.get(d) for d in DIMENSIONS]
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in got):
        return None
    return 100.0 * math.fsum(float(v) for v in got) / len(DIMENSIONS)


def verdict(values: Mapping[str, float | None], fidelity: Mapping[str, str | None] | None = None) -> Verdict:
    """Apply the gate to ``values`` (dimension → raw 0–1 value); ``fidelity``: dimension → its result's fidelity."""
    threshold = THRESHOLD_FRACTION * REFERENCE_ACCURACY
    acc = mlperf_accuracy(values)
    dims = {d: (None if values.get(d) is None else float(values[d])) for d in DIMENSIONS}
    missing = [d for d in DIMENSIONS if dims[d] is None or math.isnan(dims[d])]
    not_exact = sorted(d for d in DIMENSIONS if d not in missing and (fidelity or {}).get(d) != "vbench-exact")
    return Verdict(acc, threshold, None if acc is None else acc >= threshold, dims, missing, not_exact)


def run_verdict(store, run_id: str) -> Verdict:
    """The gate for a stored run: its set values of the six dimensions' VBench protocols (current revision)."""
    import json

    from vgbench.leaderboards.schemes import VBENCH_PROTOCOLS
    from vgbench.metrics.protocol_id import split_revision

    values: dict[str, float] = {}
    fidelity: dict[str, str] = {}
    for s in store.set_metrics([run_id]):
        if s["reference"]:
            continue
        dim = VBENCH_PROTOCOLS.get(split_revision(s["protocol"])[0])
        if dim in DIMENSIONS:
            res = json.loads(s["result_json"])
            values[dim] = s["value"]
            fidelity[dim] = res.get("details", {}).get("fidelity")
    return verdict(values, fidelity)


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
    word = "PASS" if v.passed else "FAIL"
    lines.append(f"  {word}: {v.accuracy:.4f} {'>=' if v.passed else '<'} {v.threshold:.4f} "
                 f"(99 % of the BF16 reference {REFERENCE_ACCURACY})")
    if v.not_exact:
        lines.append(f"  ! not MLPerf's number: {', '.join(v.not_exact)} not vbench-exact (a substitute model or "
                     "recipe); the verdict is indicative only")
    return "\n".join(lines)
