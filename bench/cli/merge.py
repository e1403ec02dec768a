"""`vgbench merge`: combine the databases of a sharded evaluation and compute its set-level values."""
from __future__ import annotations

from vgbench.bench.cli.common import EPILOG, FMT, emit_json, print_results, report_eval, say
from vgbench.bench.errors import EXIT_ITEMS_FAILED, EXIT_OK


def cmd_merge(args) -> int:
    from vgbench.bench.shards import merge_shards

    rep = merge_shards(args.shards, args.db, progress=not args.no_progress)
    say(f"merged {len(args.shards)} shard database(s) into {rep.db}: " +
        ", ".join(f"{n} {t}" for t, n in rep.copied.items()))
    for ev in rep.evaluations:
        report_eval(ev, ev.run_id)
    if args.json:
        emit_json({"db": rep.db, "copied": rep.copied, "evaluations": [ev.to_dict() for ev in rep.evaluations]})
    else:
        for ev in rep.evaluations:
            print(f"{ev.run_id}" + (f" vs {ev.reference_id}" if ev.reference_id else ""))
            print_results(ev)
    return EXIT_ITEMS_FAILED if any(ev.failures for ev in rep.evaluations) else EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("merge", formatter_class=FMT, epilog=EPILOG, help="combine shard databases (evaluate --shard)",
                       description="Combine the results databases of `vgbench evaluate --shard I/N` runs into one and "
                                   "compute the set-level values from the merged per-item values (and, for "
                                   "distribution metrics, the features in the shards' shared --feature-cache), "
                                   "exactly as one process would. Nothing is recomputed: a missing shard is an error.")
    p.add_argument("shards", nargs="+", help="the shard databases")
    p.add_argument("--db", required=True, help="the merged database to write (a new file, or one to add to)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_merge)
