"""Sharded evaluation: ``vgbench evaluate --shard I/N`` scores a deterministic slice of the items into its own
database, anywhere (another process, GPU, machine or Slurm array task); :func:`merge_shards` (``vgbench merge``)
combines the N databases and computes the set-level values from the merged per-item values and features, through the
same code as a single process, so 1 and N workers give the same per-item values and aggregates bit for bit.

Merging computes nothing and checks before it writes: every shard 1..N of each evaluation must be there (an
evaluation is the source, its metrics, its reference and weights), made with the same N, and the shards of a
distribution metric must have shared one feature cache, which the merge must see at the same path. Recorded paths are
absolute, so the merge can run from any folder (it re-hashes the videos to find their stored values).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vgbench.bench.config import EvalConfig
from vgbench.bench.errors import ConfigError
from vgbench.bench.evaluate import EvaluationReport, evaluate
from vgbench.bench.store import ResultsStore, read_meta


@dataclass
class MergeReport:
    db: str
    copied: dict[str, int] = field(default_factory=dict)
    evaluations: list[EvaluationReport] = field(default_factory=list)


def _groups(shard_dbs: list[str | Path]) -> dict[tuple[str, str], dict[int, dict]]:
    """(source id, evaluation) → {shard index: record}, checked: one N per evaluation, no shard twice."""
    groups: dict[tuple[str, str], dict[int, dict]] = {}
    seen_in: dict[tuple[str, str, int], str] = {}
    for db in shard_dbs:
        for rec in read_meta(db, "shard/").values():
            key = (rec["source_id"], rec["evaluation"])
            i, n = rec["shard"]
            if (*key, i) in seen_in:
                raise ConfigError(f"shard {i}/{n} of the same evaluation is in both {seen_in[(*key, i)]} and {db}")
            seen_in[(*key, i)] = str(db)
            groups.setdefault(key, {})[i] = rec
    if not groups:
        raise ConfigError("no shard records in " + ", ".join(map(str, shard_dbs)) +
                          ": make them with `vgbench evaluate ... --shard I/N --db SHARD.sqlite`")
    for shards in groups.values():
        cfg = next(iter(shards.values()))["config"]
        what = f"{cfg['videos']} ({', '.join(cfg['metrics'] or cfg['dimensions'])})"
        counts = sorted({r["shard"][1] for r in shards.values()})
        if len(counts) > 1:
            raise ConfigError(f"the shards of the evaluation of {what} were made with different N "
                              f"({', '.join(map(str, counts))}): merge the shards of one split")
        n = counts[0]
        missing = sorted(set(range(1, n + 1)) - set(shards))
        if missing:
            raise ConfigError(f"shards {', '.join(f'{i}/{n}' for i in missing)} of the evaluation of {what} are "
                              f"missing: run `vgbench evaluate {cfg['videos']} ... --shard I/{n}` for them and merge "
                              "again")
        caches = sorted({r["config"]["feature_cache"] for r in shards.values()})
        if any(r.get("distribution") for r in shards.values()):
            if len(caches) > 1:
                raise ConfigError(f"the shards of the evaluation of {what} used different feature caches "
                                  f"({', '.join(caches)}): its distribution metrics need every shard's features in "
                                  "one --feature-cache; rerun the shards with a shared one, or copy the folders into "
                                  "one")
            if not Path(caches[0]).is_dir():
                raise ConfigError(f"the feature cache of the evaluation of {what}, {caches[0]}, is not here: merge "
                                  "where the shards' shared --feature-cache is visible at that path")
    return groups


def merge_shards(shard_dbs: list[str | Path], db: str | Path, progress: bool = True) -> MergeReport:
    """Combine shard databases into ``db`` and compute every sharded evaluation's set-level values there.

    Raises:
        ConfigError: a database that is not a results database, ``db`` among the shards, no shard records, a missing
            or doubled shard, mixed N, unshared feature caches (each message names what and what to do).
    """
    out = Path(db)
    if any(Path(s).resolve() == out.resolve() for s in shard_dbs):
        raise ConfigError(f"{out} is one of the shard databases: merge into a new file")
    groups = _groups(shard_dbs)  # everything is checked before anything is written
    report = MergeReport(str(out))
    with ResultsStore(out) as store:
        for s in shard_dbs:
            for table, n in store.merge_from(s).items():
                report.copied[table] = report.copied.get(table, 0) + n
    for (source, evaluation), shards in sorted(groups.items()):
        cfg = dict(next(iter(shards.values()))["config"])
        cfg.update(db=str(out), only_cached=True, progress=progress, shard=None)
        failures = {p: e for r in shards.values() for p, e in (r.get("reference_failures") or {}).items()}
        report.evaluations.append(evaluate(EvalConfig.from_dict(cfg, f"shard record {source}/{evaluation}"),
                                           reference_failures=failures))
    return report
