"""`vgbench compare`: is a candidate run significantly worse than a base run (the regression gate)?"""
from __future__ import annotations

from pathlib import Path

from vgbench.bench.cli.common import EPILOG, FMT, emit_json, say
from vgbench.bench.errors import EXIT_OK, EXIT_REGRESSION, ConfigError, UsageError


def _parse_tolerances(items: list[str] | None) -> dict[str, float]:
    out = {}
    for it in items or []:
        k, eq, v = it.partition("=")
        try:
            out[k.strip()] = float(v)
        except ValueError:
            eq = ""
        if not eq or not k.strip():
            raise UsageError(f"--tolerance {it!r}: use METRIC=VALUE, e.g. temporal_flickering=0.005")
        if not (0 <= out[k.strip()] < float("inf")):  # nan, inf or a negative value would disarm or invert the gate
            raise UsageError(f"--tolerance {it!r}: the allowed worsening must be a finite number >= 0, in the "
                             "metric's units")
    return out


def cmd_compare(args) -> int:
    from vgbench.bench.store import ResultsStore
    from vgbench.leaderboards.compare import compare_runs, format_report

    db = Path(args.db)
    if not db.exists():
        raise ConfigError(f"no results database at {db}; pass --db (it is <out>/vgbench.sqlite)")
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    with ResultsStore(db) as store:
        report = compare_runs(store, args.base, args.candidate, metrics, _parse_tolerances(args.tolerance),
                              alpha=args.alpha, seed=args.seed)
    if args.json:
        emit_json(report.to_dict())
    else:
        print(format_report(report))
    if args.fail_on_regression and report.regressions:
        say("regression gate failed: " + ", ".join(m.protocol for m in report.regressions))
        return EXIT_REGRESSION
    return EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("compare", formatter_class=FMT, epilog=EPILOG,
                       help="is CANDIDATE significantly worse than BASE? (the regression gate)",
                       description="Compare two scored runs on their common prompts: per metric the delta "
                                   "(candidate - base) with a bootstrap 95% CI over prompts, a sign-flip permutation "
                                   "p-value, Holm-adjusted across metrics, and the effect size d_z. Refuses runs of "
                                   "different suites, protocols or weights. With --fail-on-regression the exit code "
                                   "is 6 when a metric is significantly worse by more than its tolerance.")
    p.add_argument("base", help="run id (or unique prefix), run folder, run label, or unique model name")
    p.add_argument("candidate", help="the run to check against BASE")
    p.add_argument("--db", default="vgbench-out/vgbench.sqlite", help="results database holding both runs")
    p.add_argument("--metrics", help="comma-separated metric names or protocol ids (default: all in common)")
    p.add_argument("--tolerance", action="append", metavar="METRIC=VALUE",
                   help="allowed worsening in the metric's units before it counts as a regression (repeatable)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level after Holm correction (0.05)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and permutation draws")
    p.add_argument("--fail-on-regression", action="store_true", help="exit 6 if any metric regressed")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=cmd_compare)

