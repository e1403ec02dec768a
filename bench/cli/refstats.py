"""`vgbench refstats`: reference-set statistics files for FVD and the other distribution metrics."""
from __future__ import annotations

from vgbench.bench.cli.common import EPILOG, FMT, WEIGHTS_HELP, emit_json, parse_weights, say
from vgbench.bench.errors import EXIT_ITEMS_FAILED, EXIT_OK


def cmd_refstats(args) -> int:
    from vgbench.bench.distribution_eval import build_refstats, load_refstats

    if args.refstats_cmd == "build":
        info = build_refstats(args.videos, args.metric, args.output, args.feature_cache, not args.no_progress,
                              args.allow_random_weights or None, weights=parse_weights(args.weights))
        if args.json:
            emit_json(info)
        else:
            say(f"wrote {info['file']}: {info['n_videos']} videos through {info['extractor']} "
                f"({info['features_extracted']} extracted, {info['features_cached']} from the cache, "
                f"{len(info['failed'])} failed)")
        return EXIT_ITEMS_FAILED if info["failed"] else EXIT_OK
    meta, feats = load_refstats(args.file)
    if args.json:
        emit_json(meta)
    else:
        ex = meta["extractor"]
        print(f"{args.file}: {meta['n_videos']} videos ({meta['n_rows']} feature rows) from {meta['source']}")
        print(f"extractor {ex['extractor']} ({ex['cache_key']}), backbone {ex['backbone']}, weights "
              f"{ex['weights_sha256']}, built {meta['created']}")
    return EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("refstats", formatter_class=FMT, epilog=EPILOG, help="reference-set statistics for FVD & co.",
                       description="Extract a reference set's features once into a file that `vgbench evaluate "
                                   "--reference FILE.npz` reuses. A file is tied to one feature extractor (backbone, "
                                   "weights hash, preprocessing, clip sampling): metrics that need another refuse it.")
    rsub = p.add_subparsers(dest="refstats_cmd", metavar="ACTION", required=True)
    q = rsub.add_parser("build", formatter_class=FMT, help="build a statistics file from a folder of videos")
    q.add_argument("videos", help="folder (or run folder) of reference videos")
    q.add_argument("--metric", required=True, help="distribution metric whose features to store, e.g. fvd, "
                                                   "fvd/common_metrics, fid/efficientnet-lite0")
    q.add_argument("-o", "--output", required=True, help="output .npz")
    q.add_argument("--feature-cache", metavar="DIR", help="feature cache (default ./vgbench-out/features)")
    q.add_argument("--allow-random-weights", action="store_true", help="development only (results are flagged)")
    q.add_argument("--weights", action="append", metavar="NAME=PATH", help=WEIGHTS_HELP)
    q.add_argument("--json", action="store_true", help="JSON output")
    q.add_argument("--no-progress", action="store_true", help="no progress bars")
    q = rsub.add_parser("show", help="describe a statistics file")
    q.add_argument("file", help=".npz file")
    q.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=cmd_refstats)

