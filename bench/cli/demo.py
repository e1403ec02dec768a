"""`vgbench demo`: the built-in generators on the built-in `shapes` suite, end to end."""
from __future__ import annotations

from vgbench.bench.cli.common import EPILOG, FMT, emit_json, report_eval, say
from vgbench.bench.errors import EXIT_ITEMS_FAILED, EXIT_OK


def cmd_demo(args) -> int:
    from vgbench.bench.demo import run_demo
    from vgbench.bench.store import ResultsStore
    from vgbench.leaderboards.summary import format_summary, summary_rows

    demo = run_demo(args.suite, args.out, args.samples, progress=not args.no_progress, say=say,
                    on_evaluated=report_eval)
    with ResultsStore(demo.db) as store:
        rows = summary_rows(store, demo.run_ids)
    if args.json:
        emit_json({"runs": rows, "db": str(demo.db)})
    else:
        print(format_summary(rows))
        say(f"results: {demo.db} (export with `vgbench results export --db {demo.db} --output results.csv`)")
    return EXIT_ITEMS_FAILED if demo.failed else EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("demo", formatter_class=FMT, epilog=EPILOG, help="end-to-end demo with built-in generators",
                       description="Generate the built-in `shapes` suite with the shapes, static and noise "
                                   "generators, score temporal flickering, PSNR, SSIM and the offline frame FD "
                                   "on EfficientNet-Lite0 features (static and noise against shapes), store "
                                   "everything and print a summary. Running it again generates and recomputes "
                                   "nothing and prints the same numbers.")
    p.add_argument("--out", default="vgbench-out", help="output folder (default ./vgbench-out)")
    p.add_argument("--suite", default="shapes", help="suite (default shapes)")
    p.add_argument("--samples", type=int, help="videos per prompt (default: the suite's)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_demo)
