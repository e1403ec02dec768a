"""`vgbench weights`: list, fetch and verify the backbones' official weights files."""
from __future__ import annotations

from vgbench.bench.cli.common import EPILOG, FMT, emit_json, say
from vgbench.bench.errors import EXIT_CHECK_FAILED, EXIT_OK, UsageError


def _selection(args) -> list[str] | None:
    """The metric specs of ``--metrics``/``--dimensions`` (None when neither is given)."""
    if not (getattr(args, "metrics", None) or getattr(args, "dimensions", None)):
        return None
    from vgbench.bench.config import EvalConfig

    return EvalConfig(videos=".", metrics=[args.metrics] if args.metrics else [],
                      dimensions=[args.dimensions] if args.dimensions else []).metric_specs()


def _size(n: int | None) -> str:
    if n is None:
        return "size not published"
    return f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n / 1024:,.1f} KiB"


def _verified_by(r: dict) -> str:
    return (r["sha256"] and f"sha256 {r['sha256']}") or (r["sha256_prefix"] and f"sha256 {r['sha256_prefix']}…") \
        or (r["git_blob_sha1"] and f"git blob {r['git_blob_sha1']}") or "sha256 recorded on first use"


def cmd_needed(args) -> int:
    from vgbench.metrics.needs import needs

    specs = _selection(args)
    if specs is None:
        raise UsageError("give --metrics and/or --dimensions (e.g. --dimensions all)")
    need = needs(specs)
    if args.json:
        emit_json({"metrics": specs, **need})
        return EXIT_OK
    files, folders = need["files"], need["folders"]
    def n(k: int, what: str) -> str:
        return f"{k} {what}{'' if k == 1 else 's'}"
    print(f"{n(len(specs), 'metric')} need{'s' if len(specs) == 1 else ''} {n(len(files), 'weights file')} and "
          f"{n(len(folders), 'model folder')}; {len(need['missing'])} missing")
    for r in files:
        state = f"present ({r['found_via']}: {r['present']})" if r["present"] else f"MISSING → {r['place_at']}"
        print(f"\n{r['name']}  {r['file']}  {_size(r['size_bytes'])}  {state}")
        print(f"    used by: {', '.join(r['used_by'])}")
        print(f"    source:  {' or '.join(r['urls']) if r['urls'] else '(no direct URL) ' + r['manual']}")
        print(f"    verified by {_verified_by(r)}; or point {r['env_var']} at a copy")
    for r in folders:
        state = f"present ({r['present']})" if r["present"] else "MISSING"
        print(f"\n{r['name']}  Hugging Face folder {r['hub_id']}  {state}")
        print(f"    used by: {', '.join(r['used_by'])}")
        print(f"    get it:  {r['fetch']}; then {r['env_var']}=/path/{r['hub_id'].split('/')[-1]}")
    if need["missing"]:
        print(f"\nfetch what has a URL: vgbench weights fetch "
              + " ".join(f"--{k} {getattr(args, k)}" for k in ("metrics", "dimensions") if getattr(args, k)))
    return EXIT_OK


def _fetch_selection(args, specs: list[str]) -> int:
    """Fetch every file the selection needs; offline, print the full list of what to place where (exit 3)."""
    from vgbench.metrics.backbones import weights as w
    from vgbench.metrics.backbones.registry import get_weights_file
    from vgbench.metrics.needs import missing_report, needs

    need = needs(specs)
    if w.is_offline() and need["missing"]:
        raise w.WeightsMissingError("offline (VGBENCH_OFFLINE or HF_HUB_OFFLINE is set): nothing downloaded.\n"
                                    + missing_report(need))
    out, failed = [], []
    for r in need["files"]:
        try:
            rw = w.resolve(get_weights_file(r["name"]), download=True, progress=not args.no_progress)
            out.append(rw.to_dict())
            say(f"{r['name']}: {rw.path} (SHA-256 {rw.sha256}, {rw.trust})")
        except w.WeightsError as e:
            failed.append(str(e))
    folders = [r for r in need["folders"] if not r["present"]]
    for r in folders:
        failed.append(f"model folder {r['name']!r}: fetch it with `{r['fetch']}` and set {r['env_var']}")
    if args.json:
        emit_json({"fetched": out, "failed": failed})
    if failed:
        raise w.WeightsMissingError(f"{len(failed)} of {len(need['files']) + len(need['folders'])} not obtained:\n"
                                    + "\n".join(failed))
    return EXIT_OK


def cmd_weights(args) -> int:
    from vgbench.metrics.backbones import weights as w
    from vgbench.metrics.backbones.registry import all_weights, get_weights_file, weights_status

    if args.weights_cmd == "needed":
        return cmd_needed(args)
    if args.weights_cmd == "fetch":
        specs = _selection(args)
        if specs is not None:
            if args.names or args.file:
                raise UsageError("give weights names or --metrics/--dimensions, not both")
            return _fetch_selection(args, specs)
        if not args.names:
            raise UsageError("name the weights to fetch (see `vgbench weights list`), or select them with "
                             "--metrics/--dimensions")
    names = args.names if getattr(args, "names", None) else sorted(all_weights())
    files = [get_weights_file(n) for n in names]
    if args.weights_cmd == "list":
        rows = weights_status(names)
        if args.json:
            emit_json({"cache": str(w.weights_dir()), "lock": str(w.lock_path()), "weights": rows})
        else:
            print(f"cache: {w.weights_dir()}   lock file: {w.lock_path()}")
            nw = max((len(r["name"]) for r in rows), default=20)
            fw = max((len(r["file"]) for r in rows), default=40)
            for r in rows:
                state = f"present ({r['found_via']}: {r['present']})" if r["present"] else "MISSING"
                print(f"{r['name']:<{nw}}  {r['file']:<{fw}}  {state}")
                print(f"{'':<{nw}}  verified by {r['trust']}; used by {', '.join(r['used_by']) or '-'}; "
                      f"licence {r['license']}")
            print("which metrics need which files: vgbench weights needed --metrics ... --dimensions ...")
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
    q = wsub.add_parser("needed", help="every file and model folder a selection of metrics needs, present or "
                                       "missing, with size, source and hash",
                        description="What --metrics/--dimensions need before they can run: each weights file (size, "
                                    "source URL, the hash that verifies it, where it was found or where to place it, "
                                    "which of the metrics use it) and each Hugging Face model folder. Exit 0; "
                                    "--json for scripts (its `missing` lists what is absent).")
    q.add_argument("--metrics", help="comma-separated metrics (as for `vgbench evaluate`)")
    q.add_argument("--dimensions", help="'all' or comma-separated VBench dimensions")
    q.add_argument("--json", action="store_true", help="JSON output")
    q = wsub.add_parser("fetch", help="download (or, with --file, import) and verify weights into the cache")
    q.add_argument("names", nargs="*", help="weights names (see `vgbench weights list`)")
    q.add_argument("--metrics", help="fetch everything these metrics need (offline: list what to place where)")
    q.add_argument("--dimensions", help="fetch everything these VBench dimensions need ('all' for the 16)")
    q.add_argument("--file", help="a copy obtained by hand: verify it and copy it into the cache")
    q.add_argument("--json", action="store_true", help="JSON output")
    q.add_argument("--no-progress", action="store_true", help="no progress bars")
    q = wsub.add_parser("verify", help="check present files against their hashes (exit 5 on a mismatch)")
    q.add_argument("names", nargs="*", help="weights names (default: all)")
    q.add_argument("--json", action="store_true", help="JSON output")
    q = wsub.add_parser("path", help="print where each file is expected in the cache")
    q.add_argument("names", nargs="*", help="weights names (default: all)")
    p.set_defaults(func=cmd_weights)

