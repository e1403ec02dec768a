"""`vgbench leaderboard`: build a leaderboard site, or print an aggregation table."""
from __future__ import annotations

import json
from pathlib import Path

from vgbench.bench.cli.common import EPILOG, FMT, emit_json, say
from vgbench.bench.errors import EXIT_OK, ConfigError, UsageError


def cmd_leaderboard(args) -> int:
    if args.leaderboard_cmd == "table":
        return _leaderboard_table(args)
    if args.leaderboard_cmd == "mlperf":
        return _leaderboard_mlperf(args)
    from vgbench.leaderboards.site import build_site

    result = build_site([Path(d) for d in args.db], Path(args.out), run_ids=args.run or None, suite=args.suite,
                        scheme=args.scheme, published=args.published, title=args.title,
                        gallery=not args.no_gallery)
    for w in result["warnings"]:
        say(f"warning: {w}")
    if args.json:
        emit_json(result)
    else:
        say(f"leaderboard: {result['rows']} run(s), {len(result['columns'])} metric column(s) → {result['index']}")
        say(f"exports: {result['csv']}, {result['markdown']}")
    return EXIT_OK


def _leaderboard_table(args) -> int:
    from vgbench.bench.store import ResultsStore
    from vgbench.leaderboards import aggregate

    db = Path(args.db[0])
    if not db.exists():
        raise ConfigError(f"no results database at {db}")
    with ResultsStore(db) as store:
        fn = {"run": aggregate.per_run, "prompt": aggregate.per_prompt, "category": aggregate.per_category}[args.by]
        df = fn(store, store.resolve_runs(args.run) or None)
    if args.output:
        out = Path(args.output)
        from vgbench.bench.fileio import atomic_path, safe_frame

        if out.suffix not in (".csv", ".json"):
            raise UsageError("--output must end in .csv or .json")
        with atomic_path(out) as tmp:
            if out.suffix == ".csv":
                safe_frame(df).to_csv(tmp, index=False)
            else:
                df.to_json(tmp, orient="records", indent=1)
        say(f"wrote {len(df)} rows to {out}")
    elif args.json:
        emit_json(json.loads(df.to_json(orient="records")))
    else:
        from vgbench.bench.fileio import printable

        print(printable(df.to_string(index=False)) if len(df) else "(no results)")
    return EXIT_OK


def _leaderboard_mlperf(args) -> int:
    """MLPerf's text-to-video gate for stored runs; exit 6 (gate failed) when a run fails it or has no verdict."""
    from vgbench.bench.errors import EXIT_REGRESSION
    from vgbench.bench.store import ResultsStore
    from vgbench.leaderboards.mlperf import format_verdict, run_verdict

    db = Path(args.db)
    if not db.exists():
        raise ConfigError(f"no results database at {db}")
    with ResultsStore(db) as store:
        run_ids = store.resolve_runs(args.run) or [r["run_id"] for r in store.runs()]
        labels = store.labels()
        verdicts = {rid: run_verdict(store, rid) for rid in run_ids}
    if args.json:
        emit_json([{"run_id": rid, "label": labels.get(rid), **v.to_dict()} for rid, v in verdicts.items()])
    else:
        print("\n\n".join(format_verdict(v, f"{labels.get(rid) or rid} ({rid})") for rid, v in verdicts.items()))
    return EXIT_OK if verdicts and all(v.passed for v in verdicts.values()) else EXIT_REGRESSION


def register(sub) -> None:
    p = sub.add_parser("leaderboard", formatter_class=FMT, epilog=EPILOG, help="build a leaderboard site",
                       description="`vgbench leaderboard build`: a static site over the runs of one suite: sortable "
                                   "table with 95% CIs (bootstrap over prompts), radar chart per model, bars with "
                                   "error bars, per-prompt drill-down, video gallery, provenance; plus CSV and "
                                   "Markdown exports. Protocols are never mixed: each column is one protocol id.")
    lsub = p.add_subparsers(dest="leaderboard_cmd", metavar="ACTION", required=True)
    q = lsub.add_parser("build", formatter_class=FMT, help="build the site")
    q.add_argument("--db", action="append", required=True, help="results database (repeatable)")
    q.add_argument("--out", required=True, help="output folder for the site")
    q.add_argument("--run", action="append", help="run id to include (repeatable; default: every run of the suite)")
    q.add_argument("--suite", help="suite name (needed when the databases hold runs of several suites)")
    q.add_argument("--scheme", help="aggregation scheme: vbench (VBench Total), vbench-i2v (VBench-I2V Total), "
                                    "mlperf-t2v (MLPerf's six-dimension accuracy), or a YAML/JSON scheme file")
    q.add_argument("--published", help="published scores to show beside the measured runs (marked, each recomputed "
                                       "with the scheme): a CSV (model, source, total, group and dimension columns, "
                                       "percent) or a shipped table: vbench-i2v (the VBench-I2V leaderboard's rows)")
    q.add_argument("--title", default="vgbench leaderboard", help="page title (default: vgbench leaderboard)")
    q.add_argument("--no-gallery", action="store_true", help="skip the video thumbnails/previews")
    q.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    q.set_defaults(func=cmd_leaderboard)
    q = lsub.add_parser("table", formatter_class=FMT, help="aggregation table: per run, per prompt or per category")
    q.add_argument("--db", action="append", required=True, help="results database")
    q.add_argument("--by", choices=["run", "prompt", "category"], default="run",
                   help="run: mean and 95%% CI per run and protocol; prompt: mean over samples per prompt; "
                        "category: mean per prompt tag of the suite")
    q.add_argument("--run", action="append",
                   help="run to include: id, unique id prefix or label (repeatable; default all)")
    q.add_argument("--output", "-o", help="write .csv or .json instead of printing")
    q.add_argument("--json", action="store_true", help="print JSON records on stdout")
    q.set_defaults(func=cmd_leaderboard)

    q = lsub.add_parser("mlperf", formatter_class=FMT,
                        help="MLPerf Inference's text-to-video accuracy gate for stored runs",
                        description="For each run: the six VBench dimensions MLPerf scores, their mean ×100 (the "
                                    "accuracy) and PASS/FAIL against 99 % of the BF16 reference 70.48 "
                                    "(mlcommons/inference text_to_video/wan-2.2-t2v-a14b). Exit 0 when every run "
                                    "passes, 6 when one fails or has no verdict (a dimension missing). A verdict "
                                    "is marked indicative when a dimension is not vbench-exact or ran on random or "
                                    "user-supplied weights, or when the run's settings are not MLPerf's (each "
                                    "difference is named).")
    q.add_argument("--db", required=True, help="results database")
    q.add_argument("--run", action="append", help="run: id, unique id prefix or label (repeatable; default all)")
    q.add_argument("--json", action="store_true", help="print JSON records on stdout")
    q.set_defaults(func=cmd_leaderboard)

