"""`vgbench run` and `vgbench generate`: generate a suite's videos with a model (and score them)."""
from __future__ import annotations

import re

from vgbench.bench.cli.common import (EPILOG, FMT, WEIGHTS_HELP, add_generation_args, emit_json, parse_kv,
                                      parse_weights, report_eval, say)
from vgbench.bench.errors import EXIT_ITEMS_FAILED, EXIT_OK, EXIT_REGRESSION, UsageError


def _config_from(args):
    from vgbench.bench.config import RunConfig

    if getattr(args, "preset", None):
        from vgbench.bench.config import preset_path

        if args.config:
            raise UsageError("--preset and --config are two ways to give the run's config: use one")
        args.config = str(preset_path(args.preset))
    for opt in ("model", "suite"):
        if not getattr(args, opt) and not args.config:
            raise UsageError(f"--{opt} is required (or --config FILE with `{opt}:`, or --preset NAME)")
    if args.shard is not None and not re.fullmatch(r"[0-9]+/[0-9]+", args.shard):
        raise UsageError(f"--shard takes I/N, e.g. 2/8, not {args.shard!r}")
    return RunConfig.from_cli(args, model_args=parse_kv(args.model_arg),
                              weights=parse_weights(getattr(args, "weights", None)))


def _say_generated(plan, report) -> None:
    name = plan.settings["model_id"] + (f" (shard {plan.config.shard})" if plan.config.shard else "")
    if report.generated == 0 and not report.failed:
        say(f"{name}: nothing to generate: all {report.skipped} videos already exist in {plan.run_dir}")
    else:
        say(f"{name}: generated {report.generated} videos, {report.skipped} already there, "
            f"{len(report.failed)} failed ({report.seconds:.1f} s) → {plan.run_dir}")
    for f in report.failed:
        say(f"  FAILED item {f['item']} (prompt {f['prompt_id']}, sample {f['sample_index']}): {f['error']}")


def _say_planned(plan) -> None:
    """The generator's own warnings about its arguments (e.g. a noise level that rounds away), before generating."""
    from vgbench.reference_models.base import Warns

    if isinstance(plan.generator, Warns):
        for w in plan.generator.warnings():
            say(f"warning: {w}")


def _generate(args):
    from vgbench.bench.runs import execute_run, plan_run

    plan = plan_run(_config_from(args))
    _say_planned(plan)
    report = execute_run(plan, progress=not args.no_progress)
    _say_generated(plan, report)
    return plan, report


def cmd_generate(args) -> int:
    plan, report = _generate(args)
    if args.json:
        emit_json({"run_id": plan.run_id, "run_dir": str(plan.run_dir), "generated": report.generated,
                   "skipped": report.skipped, "failed": report.failed})
    return EXIT_ITEMS_FAILED if report.failed else EXIT_OK


def cmd_run(args) -> int:
    from vgbench.bench.pipeline import run
    from vgbench.bench.store import ResultsStore
    from vgbench.leaderboards.summary import format_summary, summary_rows

    config = _config_from(args)
    if getattr(args, "preset", None) == "mlperf-t2v" and not config.model_args.get("latents"):
        say("warning: no --model-arg latents=PATH: MLPerf passes its fixed latent tensor (data/fixed_latent.pt of its "
            "dataset) to every generation; without it the latents come from the seed and the verdict is indicative")
    result = run(config, progress=not args.no_progress, on_generated=_say_generated, on_planned=_say_planned)
    plan, report, ev = result.plan, result.generation, result.evaluation
    report_eval(ev, plan.settings["model_id"])
    gate = None
    if getattr(args, "preset", None) == "mlperf-t2v":
        from vgbench.leaderboards.mlperf import run_verdict

        with ResultsStore(plan.db_path) as store:
            gate = run_verdict(store, plan.run_id)
    if args.json:
        emit_json({"run_id": plan.run_id, "run_dir": str(plan.run_dir), "generated": report.generated,
                   "skipped": report.skipped, "failed_generation": report.failed, **ev.to_dict(),
                   **({"mlperf": gate.to_dict()} if gate else {})})
    else:
        with ResultsStore(plan.db_path) as store:
            print(format_summary(summary_rows(store, [plan.run_id])))
        if gate:
            from vgbench.leaderboards.mlperf import format_verdict

            print(format_verdict(gate))
    if report.failed or ev.failures:
        return EXIT_ITEMS_FAILED
    return EXIT_REGRESSION if gate is not None and not gate.passed else EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("run", formatter_class=FMT, epilog=EPILOG, help="generate a suite's videos and score them",
                       description="Generate every video of MODEL × SUITE × SAMPLES (resuming: finished videos are "
                                   "never redone), score them with no-reference metrics, store everything in "
                                   "OUT/vgbench.sqlite and print a summary table.")
    add_generation_args(p)
    p.add_argument("--metrics", help="comma-separated no-reference metrics, NAME or NAME/PROTOCOL (default "
                                     "temporal_flickering; \"\" to generate only)")
    p.add_argument("--weights", action="append", metavar="NAME=PATH", help=WEIGHTS_HELP)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("generate", formatter_class=FMT, epilog=EPILOG, help="generate a suite's videos only",
                       description="Generate every video of MODEL × SUITE × SAMPLES into a run folder; resumable.")
    add_generation_args(p)
    p.set_defaults(func=cmd_generate)

