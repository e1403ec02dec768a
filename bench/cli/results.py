"""`vgbench results export`: export the results database."""
from __future__ import annotations

from pathlib import Path

from vgbench.bench.cli.common import EPILOG, FMT, say
from vgbench.bench.errors import EXIT_OK, ConfigError


def cmd_results(args) -> int:
    from vgbench.bench.store import ResultsStore

    db = Path(args.db)
    if not db.exists():
        raise ConfigError(f"no results database at {db}; pass --db (it is <out>/vgbench.sqlite)")
    with ResultsStore(db) as store:
        runs = store.resolve_runs(args.run)  # ids, labels or id prefixes; an unknown one is an error, not 0 rows
        dest = store.export(args.output, args.format, args.table, runs)
        n = len(store.dataframe(args.table, runs))
    say(f"wrote {n} rows of {args.table} to {dest}")
    return EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("results", formatter_class=FMT, epilog=EPILOG, help="export the results database")
    rsub = p.add_subparsers(dest="results_cmd", metavar="ACTION", required=True)
    q = rsub.add_parser("export", formatter_class=FMT, help="export a table as CSV, JSON or Parquet",
                        description="Export per-item metric values (default, joined with prompts and models), "
                                    "set-level values, items or runs.")
    q.add_argument("--db", default="vgbench-out/vgbench.sqlite", help="results database (default "
                                                                      "vgbench-out/vgbench.sqlite)")
    q.add_argument("-o", "--output", required=True, help="output file (.csv, .json or .parquet)")
    q.add_argument("--format", choices=["csv", "json", "parquet"], help="default: from the output suffix")
    q.add_argument("--table", default="item_metrics", choices=["item_metrics", "set_metrics", "items", "runs"],
                   help="item_metrics: one row per video and metric, with prompt, seed and model (default); "
                        "set_metrics: one row per run and metric with its CI; items; runs (config, provenance)")
    q.add_argument("--run", action="append", help="only this run: its id, a unique id prefix or its label (repeatable)")
    p.set_defaults(func=cmd_results)

