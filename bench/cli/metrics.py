"""`vgbench metrics`: list metrics, their protocols and parity status."""
from __future__ import annotations

from vgbench.bench.cli.common import EPILOG, FMT, describe_all, emit_json
from vgbench.bench.errors import EXIT_OK


def cmd_metrics(args) -> int:
    from vgbench.metrics.parity import NOT_VERIFIED_FLAG
    from vgbench.metrics.registry import describe_metric, metric_names

    rows = describe_all(metric_names(), describe_metric)
    if args.json:
        emit_json(rows)
    else:
        for r in rows:
            print(f"{r['name']:<22} {r['kind']:<9} {'↑' if r['higher_is_better'] else '↓'}  {r['summary']}")
            for p, d in r["protocols"].items():
                par = r["parity"][p]
                print(f"{'':22} {par['protocol_id']}: {d}")
                v = par["verified"]
                print(f"{'':26} " + (f"verified against {v['reference']} (golden tests/golden/{v['golden']}, measured "
                                      f"{v['measured']})" if v else NOT_VERIFIED_FLAG))
            for k, o in r["options"].items():
                default = "protocol default" if o["default"] is None else o["default"]
                print(f"{'':22} @{k}= {o['help']} [default: {default}]")
    return EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("metrics", formatter_class=FMT, epilog=EPILOG, help="list metrics and their protocols")
    msub = p.add_subparsers(dest="metrics_cmd", metavar="ACTION", required=True)
    q = msub.add_parser("list", help="list metrics")
    q.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=cmd_metrics)

