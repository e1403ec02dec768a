"""The end-to-end demo pipeline (``vgbench demo``): the built-in generators ``shapes``, ``static`` and ``noise`` on a
built-in suite, scored with temporal flickering, then ``static`` and ``noise`` against ``shapes`` with PSNR, SSIM,
VMAF (when ffmpeg has libvmaf) and the offline frame FD on EfficientNet-Lite0 features. Everything is stored; running
it again generates and recomputes nothing and gives the same numbers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from vgbench.bench.config import EvalConfig, RunConfig
from vgbench.bench.errors import ConfigError
from vgbench.bench.evaluate import EvaluationReport, evaluate
from vgbench.bench.runs import RunPlan, execute_run, plan_run

MODELS = ("shapes", "static", "noise")
BASELINE = "shapes"


@dataclass
class DemoReport:
    """The demo's runs (model → plan), every evaluation report with its label, and the number of failed items."""

    plans: dict[str, RunPlan] = field(default_factory=dict)
    evaluations: list[tuple[str, EvaluationReport]] = field(default_factory=list)
    failed: int = 0
    skipped_metrics: list[str] = field(default_factory=list)

    @property
    def db(self) -> Path:
        return self.plans[BASELINE].db_path

    @property
    def run_ids(self) -> list[str]:
        return [p.run_id for p in self.plans.values()]


def paired_metrics(say: Callable[[str], None] = lambda m: None) -> list[str]:
    """The reference-based metrics of the demo: VMAF only when this ffmpeg has libvmaf."""
    paired = ["psnr", "ssim", "fid/efficientnet-lite0"]
    try:
        from vgbench.metrics.quality.vmaf import find_ffmpeg

        find_ffmpeg()
        paired.insert(2, "vmaf")
    except ConfigError as e:
        say(f"skipping vmaf: {e}")
    return paired


def run_demo(suite: str = "shapes", out: str = "vgbench-out", samples: int | None = None, progress: bool = True,
             say: Callable[[str], None] = lambda m: None,
             on_evaluated: Callable[[EvaluationReport, str], None] = lambda r, label: None) -> DemoReport:
    """Generate, score and store the demo; ``say`` gets progress messages, ``on_evaluated`` each evaluation."""
    rep = DemoReport()
    for model in MODELS:
        plan = plan_run(RunConfig(model=model, suite=suite, out=out, samples=samples))
        gen = execute_run(plan, progress=progress)
        if gen.generated == 0 and not gen.failed:
            say(f"{model}: nothing to generate: all {gen.skipped} videos already exist ({plan.run_dir})")
        else:
            say(f"{model}: generated {gen.generated} videos, {gen.skipped} already there ({plan.run_dir})")
        rep.failed += len(gen.failed)
        ev = evaluate(EvalConfig(videos=plan.run_dir, metrics=["temporal_flickering"], db=plan.db_path,
                                 progress=progress))
        rep.evaluations.append((f"{model} temporal_flickering", ev))
        on_evaluated(ev, f"{model} temporal_flickering")
        rep.failed += len(ev.failures)
        rep.plans[model] = plan
    paired = paired_metrics(say)
    for model in MODELS:
        if model == BASELINE:
            continue
        ev = evaluate(EvalConfig(videos=rep.plans[model].run_dir, metrics=paired,
                                 reference=rep.plans[BASELINE].run_dir, db=rep.plans[model].db_path,
                                 progress=progress))
        label = f"{model} {','.join(paired)} vs {BASELINE}"
        rep.evaluations.append((label, ev))
        on_evaluated(ev, label)
        rep.failed += len(ev.failures)
    return rep
