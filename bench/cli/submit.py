"""`vgbench submit`: run a sharded `evaluate` or `run` as a Slurm array job (through submitit) and merge it.

Shard I of N runs ``vgbench COMMAND ARGS --shard I/N`` into its own database; a merge job that depends on the whole
array (``afterok``) then runs ``vgbench merge``. ``--local`` runs the same jobs as local processes (submitit's local
executor: a laptop, a CI runner, or a test), waiting for the shards before the merge.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from vgbench.bench.cli.common import EPILOG, FMT, emit_json, say
from vgbench.bench.errors import EXIT_ITEMS_FAILED, EXIT_OK, ConfigError, UsageError

SHARDABLE = ("evaluate", "run", "generate")


def run_command(argv: list[str]) -> int:
    """One job: ``vgbench ARGV``. Exit 0 and 4 (some items failed, recorded) are a finished job; anything else
    raises, so that the job fails and a dependent merge does not start."""
    from vgbench.bench.cli import main

    code = main(list(argv))
    if code not in (EXIT_OK, EXIT_ITEMS_FAILED):
        raise RuntimeError(f"vgbench {' '.join(argv)} exited with {code} (see this job's stderr)")
    return code


def _shard_dbs(command: str, rest: list[str], n: int) -> tuple[list[Path], Path]:
    """The shard databases the N jobs write and the merged database."""
    from vgbench.bench.cli import build_parser

    args = build_parser().parse_args([command, *rest])
    if command == "evaluate":
        if not args.db:
            raise UsageError("vgbench submit ... evaluate needs --db: the merged database (shards are written beside it)")
        merged = Path(args.db)
        return [merged.with_name(f"{merged.stem}.shard-{i}-of-{n}{merged.suffix or '.sqlite'}")
                for i in range(1, n + 1)], merged
    from vgbench.bench.runs import DB_NAME

    out = Path(args.out or "vgbench-out")
    return [out / f"vgbench.shard-{i}-of-{n}.sqlite" for i in range(1, n + 1)], out / DB_NAME


def _with_db(rest: list[str], db: Path) -> list[str]:
    """``rest`` with its ``--db`` value replaced by ``db``."""
    out, skip = [], False
    for a in rest:
        if skip:
            skip = False
            continue
        if a == "--db":
            skip = True
            continue
        if a.startswith("--db="):
            continue
        out.append(a)
    return [*out, "--db", str(db)]


def cmd_submit(args) -> int:
    try:
        import submitit
    except ImportError as e:
        raise ConfigError("vgbench submit needs submitit: pip install 'vgbench[slurm]' (or pip install submitit)") from e
    if args.command not in SHARDABLE:
        raise UsageError(f"vgbench submit runs {', '.join(SHARDABLE)}, not {args.command!r}")
    rest = [a for a in args.args if a != "--"]
    if any(a == "--shard" or a.startswith("--shard=") for a in rest):
        raise UsageError("vgbench submit sets --shard itself (one array task per shard); leave it out")
    if args.shards < 1:
        raise UsageError(f"--shards must be at least 1, not {args.shards}")
    shard_dbs, merged = _shard_dbs(args.command, rest, args.shards)
    logs = Path(args.logs)
    executor = submitit.AutoExecutor(folder=logs / "%j", cluster="local" if args.local else "slurm")
    params = {"timeout_min": args.time, "cpus_per_task": args.cpus, "name": f"vgbench-{args.command}"}
    if args.gpus:
        params["gpus_per_node"] = args.gpus
    if args.mem:
        params["mem_gb"] = args.mem
    if not args.local:
        params["slurm_partition"] = args.slurm
        params["slurm_array_parallelism"] = args.parallel or args.shards
    executor.update_parameters(**params)
    shard_argv = []
    for i, db in enumerate(shard_dbs, 1):
        argv = [args.command, *rest, "--shard", f"{i}/{args.shards}", "--no-progress"]
        if args.command == "evaluate":
            argv = _with_db(argv, db)
        shard_argv.append(argv)
    jobs = executor.map_array(run_command, shard_argv)
    say(f"submitted {len(jobs)} shard job(s): {', '.join(j.job_id for j in jobs)} (logs in {logs})")
    merge_argv = ["merge", *map(str, shard_dbs), "--db", str(merged), "--no-progress"]
    if args.local:  # the local executor has no job dependencies: wait for the shards, then merge
        for j in jobs:
            j.result()
    else:
        executor.update_parameters(slurm_additional_parameters={"dependency": "afterok:" + ":".join(
            sorted({j.job_id.split("_")[0] for j in jobs}))}, slurm_array_parallelism=1)
    merge = executor.submit(run_command, merge_argv)
    say(f"submitted the merge job {merge.job_id} (after the shards): it writes {merged}")
    doc = {"shards": [{"job_id": j.job_id, "db": str(db)} for j, db in zip(jobs, shard_dbs)],
           "merge": {"job_id": merge.job_id, "db": str(merged)}, "logs": str(logs)}
    code = EXIT_OK
    if args.wait or args.local:
        code = merge.result()
        say(f"merged into {merged}; read it with `vgbench results export --db {merged} -o results.csv` or "
            f"`vgbench leaderboard build --db {merged} --out site/`")
    if args.json:
        emit_json(doc | {"exit_code": code})
    return code


def register(sub) -> None:
    p = sub.add_parser("submit", formatter_class=FMT, epilog=EPILOG,
                       help="run a sharded evaluate/run as a Slurm array job and merge it",
                       description="Submit `vgbench COMMAND ARGS` as N shards (a Slurm array job through submitit; "
                                   "shard I runs with --shard I/N into its own database) and a merge job that runs "
                                   "after all of them (`vgbench merge`). The merged results equal one process's bit "
                                   "for bit. Example: vgbench submit --slurm gpu --shards 16 --gpus 1 evaluate "
                                   "RUN --dimensions all --db out/vbench.sqlite")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--slurm", metavar="PARTITION", help="the Slurm partition to submit to")
    where.add_argument("--local", action="store_true", help="run the jobs as local processes instead (submitit's "
                                                            "local executor), then merge; waits for the result")
    p.add_argument("--shards", type=int, required=True, metavar="N", help="number of shards (array tasks)")
    p.add_argument("--parallel", type=int, metavar="K", help="at most K shards at once (default: all)")
    p.add_argument("--gpus", type=int, default=0, metavar="G", help="GPUs per shard (default 0)")
    p.add_argument("--cpus", type=int, default=4, metavar="C", help="CPUs per shard (default 4)")
    p.add_argument("--mem", type=int, metavar="GB", help="memory per shard in GB (default: the partition's)")
    p.add_argument("--time", type=int, default=24 * 60, metavar="MIN", help="time limit per job in minutes "
                                                                          "(default 1440)")
    p.add_argument("--logs", default="vgbench-jobs", metavar="DIR", help="submitit's folder for job logs and "
                                                                        "pickles (default vgbench-jobs/)")
    p.add_argument("--wait", action="store_true", help="wait for the merge job and exit with its code")
    p.add_argument("--json", action="store_true", help="print the job ids and databases as one JSON object")
    p.add_argument("command", metavar="COMMAND", help="evaluate, run or generate")
    p.add_argument("args", nargs=argparse.REMAINDER, help="its arguments (as for `vgbench COMMAND`), without --shard; "
                                                          "evaluate needs --db (the merged database; the shards' are "
                                                          "written beside it), run/generate use --out")
    p.set_defaults(func=cmd_submit)
