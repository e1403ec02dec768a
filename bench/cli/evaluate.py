"""`vgbench evaluate`: score a run folder or a folder of videos."""
from __future__ import annotations

import re

from vgbench.bench.cli.common import (EPILOG, FMT, WEIGHTS_HELP, emit_json, parse_weights, print_results,
                                      report_eval)
from vgbench.bench.errors import EXIT_ITEMS_FAILED, EXIT_OK, UsageError


def cmd_evaluate(args) -> int:
    from vgbench.bench.config import EvalConfig
    from vgbench.bench.evaluate import evaluate

    if not (args.metrics or args.dimensions or args.config):
        raise UsageError("give --metrics and/or --dimensions (or --config FILE)")
    if not (args.videos or args.config):
        raise UsageError("give VIDEOS: a run folder or a folder of videos (or --config FILE with `videos:`)")
    if args.shard is not None and not re.fullmatch(r"[0-9]+/[0-9]+", args.shard):
        raise UsageError(f"--shard takes I/N, e.g. 2/8, not {args.shard!r}")
    config = EvalConfig.from_cli(args, weights=parse_weights(args.weights))
    config.metric_specs()  # unknown names fail here, before anything is opened
    report = evaluate(config)
    report_eval(report, config.videos)
    if args.json:
        d = report.to_dict()
        if not args.per_item:
            for m in d["metrics"].values():
                m.pop("per_item", None)
        emit_json(d)
    else:
        print_results(report)
    return EXIT_ITEMS_FAILED if report.failures else EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("evaluate", formatter_class=FMT, epilog=EPILOG, help="score a run folder or a folder of videos",
                       description="Score every video under VIDEOS (a run folder or any folder of videos). Each video "
                                   "is decoded once for all metrics; scores are cached in the results database, so "
                                   "evaluating again recomputes nothing. A corrupt video fails only its item.")
    p.add_argument("videos", nargs="?", help="run folder (has run.json) or folder of videos")
    p.add_argument("--config", metavar="FILE", help="an evaluation config (YAML or JSON; the fields of "
                                                    "vgbench.EvalConfig: videos, metrics, dimensions, reference, db, "
                                                    "feature_cache, allow_random_weights, weights, progress, shard, "
                                                    "executor, workers); options "
                                                    "given on the command line override it")
    from vgbench.metrics.vbench.table import help_text as dimensions_help

    p.add_argument("--dimensions", help="VBench dimensions: 'all' (the 16) or a comma-separated list: "
                                        + dimensions_help() + ". A dimension scores only the prompts that serve it "
                                        "(the suite's `dimensions`); evaluated in the same pass as --metrics, "
                                        "sharing decoded frames and backbone features. Object/colour/spatial dims "
                                        "use OWLv2 in GRiT's place (vbench-style; results say so); the others, "
                                        "scene (Tag2Text) included, are vbench-exact. The VBench-I2V dimensions (i2v_subject, i2v_background, "
                                        "camera_motion) are not in 'all'. A dimension takes its metric's options as --metrics does: "
                                        "camera_motion@tracker=lk, scene@captioner=blip")
    p.add_argument("--metrics", help="comma-separated metrics, NAME, NAME/PROTOCOL or "
                                                    "NAME/PROTOCOL@option=value (e.g. clip_score/clipsim@frames="
                                                    "uniform:8; see `vgbench metrics list`). Prompts for clip_score "
                                                    "and viclip_score come from the run, a manifest.json or a .txt "
                                                    "file beside each video")
    p.add_argument("--reference", help="folder (or run folder) of reference videos: paired metrics (psnr, ssim, "
                                       "lpips, vmaf) "
                                       "pair by prompt id and sample, or by file name; distribution metrics (fvd, "
                                       "kvd, fvmd, fid, kid) use the whole set, or a .npz from `vgbench refstats build`")
    p.add_argument("--db", help="results database (default: the run's OUT/vgbench.sqlite, or ./vgbench-out/vgbench.sqlite)")
    p.add_argument("--feature-cache", metavar="DIR", help="per-video feature cache for distribution metrics "
                                                          "(default: features/ beside the database)")
    p.add_argument("--allow-random-weights", action="store_true",
                   help="development only: run backbones whose weights are missing with a seeded random "
                        "initialisation; every such result is marked 'random weights — not comparable'")
    p.add_argument("--weights", action="append", metavar="NAME=PATH", help=WEIGHTS_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout: {metrics: {NAME: {value, "
                                                       "protocol, ...}}, failed_items: [...]}")
    p.add_argument("--per-item", action="store_true", help="with --json, include per-item values")
    p.add_argument("--shard", metavar="I/N", help="score only slice I of N (items split by a hash of their key) into "
                                                  "--db; run the N shards anywhere (same --feature-cache for "
                                                  "distribution metrics), then `vgbench merge` their databases")
    p.add_argument("--executor", choices=None, metavar="NAME",
                   help="how the work runs: 'local' (threads of this process, default: best with a GPU, where one "
                        "loaded model serves every video), 'processes' (worker processes: CPU-bound metrics such as "
                        "psnr/ssim/flickering scale with the cores) or 'ray' (Ray actors that load the weights "
                        "once: the cluster at RAY_ADDRESS, else a local Ray; pip install 'vgbench[ray]'). Results "
                        "are the same with any executor and number of workers")
    p.add_argument("--workers", type=int, metavar="N",
                   help="videos processed at once (local: threads, default 1 plus a decode-prefetch thread; "
                        "processes: default one per core; ray: actors, default one per GPU, else per CPU)")
    p.add_argument("--batch", type=int, metavar="N",
                   help="clips per backbone forward pass across videos for the distribution metrics' video backbones "
                        "(I3D, VideoMAE), for GPU throughput; default 1: results bitwise the same however the videos "
                        "are split (shards, resumes, executors). Above 1, features equal up to float rounding, cached "
                        "apart; a distance over few videos (N < feature dimension, flagged) can amplify that")
    p.add_argument("--label", help="a human name for this run in the leaderboard, exports and compare (default: the "
                                   "model with its arguments, or the folder); relabels a run folder")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_evaluate)

