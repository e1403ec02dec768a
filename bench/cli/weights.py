"""`vgbench weights`: list, fetch and verify the backbones' official weights files."""
from __future__ import annotations

from vgbench.bench.cli.common import EPILOG, FMT, emit_json, say
from vgbench.bench.errors import EXIT_CHECK_FAILED, EXIT_OK


def cmd_weights(args) -> int:
    from vgbench.metrics.backbones import weights as w
    from vgbench.metrics.backbones.registry import all_weights, get_weights_file, weights_status

    names = args.names if getattr(args, "names", None) else sorted(all_weights())
    files = [get_weights_file(n) for n in names]
    if args.weights_cmd == "list":
        rows = weights_status(names)
        if args.json:
            emit_json({"cache": str(w.weights_dir()), "lock": str(w.lock_path()), "weights": rows})
        else:
            print(f"cache: {w.weights_dir()}   lock file: {w.lock_path()}")
            for r in rows:
                state = f"present ({r['found_via']}: {r['present']})" if r["present"] else "MISSING"
                print(f"{r['name']:<20} {r['file']:<40} {state}")
                print(f"{'':<20} verified by {r['trust']}; used by {', '.join(r['used_by'])}; licence {r['license']}")
        return EXIT_OK
    if args.weights_cmd == "path":
        for wf in files:
            print(w.weights_dir() / wf.filename)
        return EXIT_OK
    if args.weights_cmd == "fetch":
        out = []
        for wf in files:
            if args.file:
                rw = w.copy_into_cache(wf, args.file)
            else:
                rw = w.resolve(wf, download=True, progress=not args.no_progress)
            out.append(rw.to_dict())
            say(f"{wf.name}: {rw.path} (SHA-256 {rw.sha256}, {rw.trust})")
        if args.json:
            emit_json(out)
        return EXIT_OK
    # verify
    out, bad = [], 0
    for wf in files:
        try:
            rw = w.resolve(wf, download=False)
            out.append(rw.to_dict() | {"ok": True})
            say(f"{wf.name}: OK {rw.path} ({rw.trust})")
        except w.WeightsMissingError:
            out.append({"name": wf.name, "ok": None, "error": "missing"})
            say(f"{wf.name}: missing (see `vgbench weights list`)")
        except w.WeightsError as e:
            bad += 1
            out.append({"name": wf.name, "ok": False, "error": str(e)})
            say(f"{wf.name}: FAILED {e}")
    if args.json:
        emit_json(out)
    return EXIT_CHECK_FAILED if bad else EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("weights", formatter_class=FMT, epilog=EPILOG, help="list, fetch and verify model weights",
                       description="Official checkpoints of the backbones, verified by SHA-256 (pinned, from the "
                                   "publisher's file name, from a git blob id, or recorded on first use in the lock "
                                   "file). A file is found by: explicit path → VGBENCH_WEIGHTS_<NAME> → the cache "
                                   "($VGBENCH_CACHE/weights, default ~/.cache/vgbench/weights) → torch.hub's "
                                   "checkpoint folder → download (only where the machine is online; "
                                   "VGBENCH_OFFLINE=1 forbids it).")
    wsub = p.add_subparsers(dest="weights_cmd", metavar="ACTION", required=True)
    q = wsub.add_parser("list", help="every weights file, where it comes from, whether it is present")
    q.add_argument("names", nargs="*", help="weights names (default: all)")
    q.add_argument("--json", action="store_true", help="JSON output")
    q = wsub.add_parser("fetch", help="download (or, with --file, import) and verify weights into the cache")
    q.add_argument("names", nargs="+", help="weights names (see `vgbench weights list`)")
    q.add_argument("--file", help="a copy obtained by hand: verify it and copy it into the cache")
    q.add_argument("--json", action="store_true", help="JSON output")
    q.add_argument("--no-progress", action="store_true", help="no progress bars")
    q = wsub.add_parser("verify", help="check present files against their hashes (exit 5 on a mismatch)")
    q.add_argument("names", nargs="*", help="weights names (default: all)")
    q.add_argument("--json", action="store_true", help="JSON output")
    q = wsub.add_parser("path", help="print where each file is expected in the cache")
    q.add_argument("names", nargs="*", help="weights names (default: all)")
    p.set_defaults(func=cmd_weights)

