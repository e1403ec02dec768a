"""``vgbench run`` as one call: generate a suite's videos with a model, then score them with the config's
no-reference metrics (:attr:`RunConfig.metrics`), everything stored in ``OUT/vgbench.sqlite``. With
``RunConfig.shard = "I/N"`` both steps take slice I of N (the same items) into ``OUT/vgbench.shard-I-of-N.sqlite``;
``vgbench merge`` then gives the whole run's values."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from vgbench.bench.config import EvalConfig, RunConfig
from vgbench.bench.errors import UsageError
from vgbench.bench.evaluate import EvaluationReport, evaluate
from vgbench.bench.runs import RunPlan, RunReport, execute_run, plan_run


@dataclass
class RunResult:
    plan: RunPlan
    generation: RunReport
    evaluation: EvaluationReport


def check_run_metrics(config: RunConfig) -> list[str]:
    """The metric specs of ``config``, checked before anything is generated (generation can take hours): they exist,
    need no reference video, and the user-supplied weights files are ones they use.

    Raises:
        UsageError: a paired or distribution metric (they need `vgbench evaluate --reference`). ConfigError: an
            unknown metric, or a weights name no metric uses.
    """
    from vgbench.metrics.backbones.registry import UserWeights
    from vgbench.metrics.registry import create_metric, parse_metric_list

    if not config.metrics:  # `--metrics ""` / `metrics: []`: generate only
        UserWeights(config.weights).check_needed([])
        return []
    specs = parse_metric_list(",".join(config.metrics))
    metrics = [create_metric(s) for s in specs]
    paired = [s for s, m in zip(specs, metrics) if m.needs_reference]
    if paired:
        raise UsageError(f"`vgbench run` scores no-reference metrics; for {', '.join(paired)} use "
                         "`vgbench evaluate RUN_DIR --reference DIR`")
    UserWeights(config.weights).check_needed(metrics)
    return specs


def run(config: RunConfig, progress: bool = True,
        on_generated: Callable[[RunPlan, RunReport], None] = lambda plan, report: None,
        on_planned: Callable[[RunPlan], None] = lambda plan: None) -> RunResult:
    """Generate (resuming: finished videos are never redone), then score with ``config.metrics``. ``on_planned`` is
    called with the plan before anything is generated (e.g. to print the generator's warnings)."""
    specs = check_run_metrics(config)
    plan = plan_run(config)
    on_planned(plan)
    generation = execute_run(plan, progress=progress)
    on_generated(plan, generation)
    if not specs:  # `--metrics ""`: generate only, score nothing
        from vgbench.bench.evaluate import EvaluationReport

        return RunResult(plan, generation, EvaluationReport(plan.run_id, "", str(plan.db_path),
                                                            items_total=len(plan.items)))
    evaluation = evaluate(EvalConfig(videos=plan.run_dir, metrics=specs, db=plan.db_path, progress=progress,
                                     weights=config.weights, shard=config.shard,
                                     executor=config.executor, workers=config.workers))
    return RunResult(plan, generation, evaluation)
