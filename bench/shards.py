"""Sharded evaluation: ``vgbench evaluate --shard I/N`` scores a deterministic slice of the items into its own
database, anywhere (another process, GPU, machine or Slurm array task); :func:`merge_shards` (``vgbench merge``)
combines the N databases and computes the set-level values from the merged per-item values and features, through the
same code as a single process, so 1 and N workers give the same per-item values and aggregates bit for bit. Merging
computes nothing: an item no shard scored fails as "not computed", and a missing shard is an error naming it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vgbench.bench.config import EvalConfig
from vgbench.bench.errors import ConfigError
from vgbench.bench.evaluate import EvaluationReport, evaluate
from vgbench.bench.store import ResultsStore


@dataclass
class MergeReport:
    db: str
    copied: dict[str, int] = field(default_factory=dict)
    evaluations: list[EvaluationReport] = field(default_factory=list)


def merge_shards(shard_dbs: list[str | Path], db: str | Path, progress: bool = True) -> MergeReport:
    """Combine shard databases into ``db`` and compute every sharded evaluation's set-level values there.

    Raises:
        ConfigError: a database that is not a results database, ``db`` among the shards, no shard records, or a
            missing shard (the message names which ones and the command that makes them).
    """
    out = Path(db)
    if any(Path(s).resolve() == out.resolve() for s in shard_dbs):
        raise ConfigError(f"{out} is one of the shard databases: merge into a new file")
    report = MergeReport(str(out))
    with ResultsStore(out) as store:
        for s in shard_dbs:
            for table, n in store.merge_from(s).items():
                report.copied[table] = report.copied.get(table, 0) + n
        records = store.meta_items("shard/")
    if not records:
        raise ConfigError("no shard records in " + ", ".join(map(str, shard_dbs)) +
                          ": make them with `vgbench evaluate ... --shard I/N --db SHARD.sqlite`")
    groups: dict[str, dict[int, dict]] = {}
    for key, rec in records.items():
        group = key.rsplit("/", 2)[0]
        groups.setdefault(group, {})[rec["shard"][0]] = rec
    for group, shards in sorted(groups.items()):
        n = next(iter(shards.values()))["shard"][1]
        missing = sorted(set(range(1, n + 1)) - set(shards))
        if missing or any(r["shard"][1] != n for r in shards.values()):
            cfg = next(iter(shards.values()))["config"]
            raise ConfigError(f"shards {', '.join(f'{i}/{n}' for i in missing)} of the evaluation of "
                              f"{cfg['videos']} ({', '.join(cfg['metrics'] or cfg['dimensions'])}) are missing: run "
                              f"`vgbench evaluate {cfg['videos']} ... --shard I/{n}` for them and merge again")
        cfg = dict(next(iter(shards.values()))["config"])
        cfg.update(db=str(out), only_cached=True, progress=progress, shard=None)
        report.evaluations.append(evaluate(EvalConfig.from_dict(cfg, f"shard record {group}")))
    return report
