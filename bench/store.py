"""The results store: one SQLite database (default ``<out>/vgbench.sqlite``) holding runs, items, per-item metric
values and set-level metric values.

Safe under concurrent writers (several processes evaluating shards): WAL journal, a 60 s busy timeout and short
``BEGIN IMMEDIATE`` transactions. Per-item metric values double as a cache: an item whose video (by SHA-256),
reference and metric protocol were scored before is not scored again. Export to CSV, JSON and Parquet.

Tables
------
``runs``          run_id, kind (generation | evaluation), model, suite, suite_sha256, run_dir, config, provenance
``items``         one row per video of a run: prompt, sample, seed, file, SHA-256, status/error, frames, fps, size
``item_metrics``  one row per (run, item, metric protocol, reference): value, weight, status/error, extra (JSON)
``set_metrics``   one row per (run, metric protocol, reference): the aggregate, its CI, counts and full result JSON
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from vgbench.bench.fileio import OutputError, StateError, atomic_path, display_text, safe_frame

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, model TEXT, suite TEXT, suite_sha256 TEXT, run_dir TEXT,
    config_json TEXT, provenance_json TEXT, created_at REAL, updated_at REAL);
CREATE TABLE IF NOT EXISTS items (
    run_id TEXT NOT NULL, item_key TEXT NOT NULL, item_id TEXT, prompt_id TEXT, prompt TEXT, sample_index INTEGER,
    seed INTEGER, video_path TEXT, video_sha256 TEXT, status TEXT NOT NULL, error TEXT, num_frames INTEGER,
    fps REAL, width INTEGER, height INTEGER, gen_seconds REAL, updated_at REAL,
    PRIMARY KEY (run_id, item_key));
CREATE TABLE IF NOT EXISTS item_metrics (
    run_id TEXT NOT NULL, item_key TEXT NOT NULL, metric TEXT NOT NULL, protocol TEXT NOT NULL,
    reference TEXT NOT NULL DEFAULT '', video_sha256 TEXT, reference_sha256 TEXT NOT NULL DEFAULT '',
    value REAL, weight REAL, status TEXT NOT NULL, error TEXT, extra_json TEXT, backbone TEXT, weights_sha256 TEXT,
    updated_at REAL, PRIMARY KEY (run_id, item_key, protocol, reference));
CREATE INDEX IF NOT EXISTS item_metrics_cache ON item_metrics (video_sha256, reference_sha256, protocol, status);
CREATE TABLE IF NOT EXISTS set_metrics (
    run_id TEXT NOT NULL, metric TEXT NOT NULL, protocol TEXT NOT NULL, reference TEXT NOT NULL DEFAULT '',
    value REAL, ci_low REAL, ci_high REAL, n_items INTEGER, n_failed INTEGER, result_json TEXT, updated_at REAL,
    PRIMARY KEY (run_id, protocol, reference));
"""


def run_label(run) -> str:
    """How a run is named wherever it is shown: the ``--label`` given to it, else the model as it was asked for with
    its arguments (``noisy-shapes:8``, ``svd-xt steps=25``), else the stored model name, else the run id. Views show
    the run id beside it (two runs of one model and arguments differ only there).

    ``run``: a row of the ``runs`` table (mapping with ``run_id``, ``model``, ``config_json``)."""
    try:
        config = json.loads(run["config_json"] or "{}")
    except (KeyError, IndexError, TypeError, ValueError):
        config = {}
    if config.get("label"):
        return str(config["label"])
    model = config.get("model") or run["model"] or run["run_id"]
    args = config.get("model_args") or {}
    return str(model) + "".join(f" {k}={v}" for k, v in sorted(args.items()))


@dataclass(frozen=True)
class CachedScore:
    value: float
    weight: float
    extra: dict[str, Any]


def read_meta(path: str | os.PathLike, prefix: str) -> dict[str, Any]:
    """``meta`` entries of the database at ``path`` whose key starts with ``prefix``, read without writing to it.

    Raises:
        ConfigError: no such file, or not a readable vgbench results database (the message names it).
    """
    from vgbench.bench.errors import ConfigError

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such results database")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT key, value FROM meta WHERE substr(key, 1, ?) = ?",
                                (len(prefix), prefix)).fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise ConfigError(f"{path}: not a readable vgbench results database ({e})") from None
    return {k: json.loads(v) for k, v in rows}


def _texts(values: tuple) -> tuple:
    """Values as SQLite can store them: text from an undecodable file name has its surrogates escaped."""
    return tuple(display_text(v) if isinstance(v, str) else v for v in values)


class ResultsStore:
    """A connection to one results database. Cheap to open; use one per process (or thread)."""

    def __init__(self, path: str | os.PathLike):
        """Open (or create) the database at ``path``.

        Raises:
            StateError: the file is not a vgbench database or is corrupt (the message names it and the repair).
            OutputError: it cannot be created (permission, disk full).
        """
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(self.path, e) from e
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA busy_timeout = 60000")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            with self.transaction() as c:
                for stmt in _SCHEMA.strip().split(";"):
                    if stmt.strip():
                        c.execute(stmt)
                c.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as e:
            raise self._state_error(e) from e

    def _state_error(self, e: sqlite3.Error) -> Exception:
        text = str(e)
        if "full" in text or "disk I/O" in text:
            return OutputError(self.path, f"{text} (SQLite)")
        return StateError(self.path, f"not a usable results database ({text})",
                          "move it aside and run the same command again: scores are recomputed, run folders "
                          "(videos, run.json, sidecars) are kept and re-registered; `vgbench check` verifies them")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction (``BEGIN IMMEDIATE``: takes the write lock up front, so writers never deadlock)."""
        for attempt in range(20):
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as e:  # pragma: no cover - only under heavy contention
                if "locked" not in str(e) or attempt == 19:
                    raise
                time.sleep(0.05 * (attempt + 1))
        try:
            yield self._conn
        except sqlite3.DatabaseError as e:  # disk full, a corrupt page: name the database
            self._rollback()
            raise self._state_error(e) from e
        except BaseException:
            self._rollback()
            raise
        else:
            try:
                self._conn.execute("COMMIT")
            except sqlite3.DatabaseError as e:
                self._rollback()
                raise self._state_error(e) from e

    def _rollback(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error:  # no transaction left to roll back (SQLite rolled it back itself)
            pass

    # ---- writes ------------------------------------------------------------------------------------------------
    def upsert_run(self, run_id: str, kind: str, model: str | None, suite: str | None, suite_sha256: str | None,
                   run_dir: str | None, config: dict, provenance: dict) -> None:
        """Record a run (replacing its record); a label the run was given before is kept unless ``config`` sets
        another."""
        now = time.time()
        if not config.get("label"):
            old = self.query("SELECT config_json FROM runs WHERE run_id=?", (run_id,))
            label = json.loads(old[0]["config_json"] or "{}").get("label") if old else None
            if label:
                config = {**config, "label": label}
        with self.transaction() as c:
            c.execute("""INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)
                         ON CONFLICT(run_id) DO UPDATE SET kind=excluded.kind, model=excluded.model,
                         suite=excluded.suite, suite_sha256=excluded.suite_sha256, run_dir=excluded.run_dir,
                         config_json=excluded.config_json, provenance_json=excluded.provenance_json,
                         updated_at=excluded.updated_at""",
                      _texts((run_id, kind, model, suite, suite_sha256, run_dir, json.dumps(config, sort_keys=True),
                              json.dumps(provenance, sort_keys=True), now, now)))

    def upsert_items(self, run_id: str, rows: Iterable[dict[str, Any]]) -> None:
        cols = ("item_key", "item_id", "prompt_id", "prompt", "sample_index", "seed", "video_path", "video_sha256",
                "status", "error", "num_frames", "fps", "width", "height", "gen_seconds")
        now = time.time()
        data = [_texts((run_id, *(r.get(k) for k in cols), now)) for r in rows]
        if not data:
            return
        with self.transaction() as c:
            c.executemany(f"INSERT OR REPLACE INTO items (run_id, {', '.join(cols)}, updated_at) "
                          f"VALUES ({', '.join('?' * (len(cols) + 2))})", data)

    def put_item_metrics(self, rows: Iterable[dict[str, Any]]) -> None:
        cols = ("run_id", "item_key", "metric", "protocol", "reference", "video_sha256", "reference_sha256", "value",
                "weight", "status", "error", "extra_json", "backbone", "weights_sha256")
        now = time.time()
        data = []
        for r in rows:
            r = dict(r)
            r.setdefault("reference", "")
            r.setdefault("reference_sha256", "")
            r["extra_json"] = json.dumps(r.pop("extra", None) or {}, sort_keys=True)
            data.append(_texts((*(r.get(k) for k in cols), now)))
        if not data:
            return
        with self.transaction() as c:
            c.executemany(f"INSERT OR REPLACE INTO item_metrics ({', '.join(cols)}, updated_at) "
                          f"VALUES ({', '.join('?' * (len(cols) + 1))})", data)

    def put_set_metric(self, run_id: str, reference: str, result) -> None:
        ci = result.ci95 or (None, None)
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO set_metrics VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                      (run_id, result.name, result.protocol, reference or "", result.value, ci[0], ci[1],
                       result.n_items, result.n_failed, json.dumps(result.to_dict(), sort_keys=True), time.time()))

    # ---- reads -------------------------------------------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON value under ``key`` in the ``meta`` table (e.g. what a shard evaluated)."""
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value, sort_keys=True)))

    def meta_items(self, prefix: str) -> dict[str, Any]:
        """``meta`` entries whose key starts with ``prefix`` → their JSON values."""
        rows = self._conn.execute("SELECT key, value FROM meta WHERE key LIKE ? ESCAPE '\\'",
                                  (prefix.replace("%", "\\%").replace("_", "\\_") + "%",)).fetchall()
        return {r["key"]: json.loads(r["value"]) for r in rows}

    def merge_from(self, other: str | os.PathLike) -> dict[str, int]:
        """Copy the runs, items, per-item values and ``shard/`` records of another results database into this one
        (rows with the same key are replaced: shards of one evaluation hold disjoint items). Set-level values are not
        copied: they are recomputed from the merged per-item values. Returns the rows copied per table.

        Raises:
            ConfigError: ``other`` is not a vgbench results database (the message names it).
        """
        from vgbench.bench.errors import ConfigError

        other = Path(other)
        if not other.is_file():
            raise ConfigError(f"{other}: no such results database")
        try:
            src = sqlite3.connect(f"file:{other}?mode=ro", uri=True)
            src.row_factory = sqlite3.Row
            tables = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as e:
            raise ConfigError(f"{other}: not a readable results database ({e})") from None
        if not {"runs", "items", "item_metrics", "meta"} <= tables:
            src.close()
            raise ConfigError(f"{other}: not a vgbench results database (tables {sorted(tables)})")
        counts = {}
        try:
            with self.transaction() as c:
                for table in ("runs", "items", "item_metrics"):
                    rows = src.execute(f"SELECT * FROM {table}").fetchall()
                    if rows:
                        cols = rows[0].keys()
                        c.executemany(f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) VALUES "
                                      f"({', '.join('?' * len(cols))})", [tuple(r) for r in rows])
                    counts[table] = len(rows)
                shard_rows = src.execute("SELECT key, value FROM meta WHERE substr(key, 1, 6) = 'shard/'").fetchall()
                c.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [tuple(r) for r in shard_rows])
                counts["shards"] = len(shard_rows)
        finally:
            src.close()
        return counts

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        try:
            return list(self._conn.execute(sql, params))
        except sqlite3.DatabaseError as e:
            raise self._state_error(e) from e

    def cached_score(self, video_sha256: str, reference_sha256: str, protocol: str,
                     weights_sha256: str | None = None) -> CachedScore | None:
        """A previously computed score for the same video content, reference content, protocol and (for metrics
        that run a network) the same weights, if any."""
        row = self._conn.execute(
            "SELECT value, weight, extra_json FROM item_metrics WHERE video_sha256=? AND reference_sha256=? "
            "AND protocol=? AND status='ok' AND weights_sha256 IS ? ORDER BY updated_at DESC LIMIT 1",
            (video_sha256, reference_sha256 or "", protocol, weights_sha256)).fetchone()
        if row is None:
            return None
        return CachedScore(row["value"], row["weight"], json.loads(row["extra_json"] or "{}"))

    def item_scores(self, run_id: str, protocol: str, reference: str = "") -> list[sqlite3.Row]:
        return self.query("SELECT * FROM item_metrics WHERE run_id=? AND protocol=? AND reference=? ORDER BY item_key",
                          (run_id, protocol, reference or ""))

    def runs(self) -> list[sqlite3.Row]:
        return self.query("SELECT * FROM runs ORDER BY created_at")

    def labels(self) -> dict[str, str]:
        """run id → :func:`run_label` of every run."""
        return {r["run_id"]: run_label(r) for r in self.runs()}

    def resolve_runs(self, names: list[str] | None) -> list[str] | None:
        """Run ids for ``names``; None stays None. Each name is, in this order: a run id, a unique prefix of one, a
        run's label, or a unique model name (the one way every command names a run).

        Raises:
            BadArgumentError: a name that matches several runs (they are listed).
            UnknownNameError: a name that matches none (the closest label or id is suggested).
        """
        if not names:
            return names
        from vgbench.bench.errors import BadArgumentError, unknown_name

        rows = self.runs()
        labels = {r["run_id"]: run_label(r) for r in rows}
        models = {r["run_id"]: r["model"] for r in rows}
        out = []
        for name in names:
            hits = [rid for rid in labels if rid == name]
            if not hits:
                prefix = [rid for rid in labels if rid.startswith(name)]
                hits = prefix if len(prefix) == 1 else (
                    [rid for rid, lab in labels.items() if lab == name]
                    or [rid for rid, m in models.items() if m == name] or prefix)
            if len(hits) > 1:
                raise BadArgumentError(f"run {name!r} matches {len(hits)} runs in {self.path}: "
                                       + ", ".join(f"{r} ({labels[r]})" for r in hits) + "; give a run id")
            if not hits:
                raise unknown_name("run", name, [*labels.values(), *labels])
            out.append(hits[0])
        return out

    def set_label(self, run_id: str, label: str) -> None:
        """Give run ``run_id`` the human name ``label`` (kept in its configuration; the run id does not change)."""
        with self.transaction() as c:
            row = c.execute("SELECT config_json FROM runs WHERE run_id=?", (run_id,)).fetchone()
            if row is None:
                from vgbench.bench.errors import ConfigError

                raise ConfigError(f"no run {run_id!r} in {self.path}")
            config = json.loads(row[0] or "{}") | {"label": label}
            c.execute("UPDATE runs SET config_json=? WHERE run_id=?",
                      _texts((json.dumps(config, sort_keys=True), run_id)))

    def set_metrics(self, run_ids: list[str] | None = None) -> list[sqlite3.Row]:
        if run_ids:
            marks = ",".join("?" * len(run_ids))
            return self.query(f"SELECT * FROM set_metrics WHERE run_id IN ({marks}) ORDER BY run_id, protocol",
                              tuple(run_ids))
        return self.query("SELECT * FROM set_metrics ORDER BY run_id, protocol")

    # ---- export ------------------------------------------------------------------------------------------------
    def dataframe(self, table: str = "item_metrics", run_ids: list[str] | None = None):
        """A pandas DataFrame of ``item_metrics`` (joined with item and run facts), ``set_metrics``, ``items`` or
        ``runs``."""
        import pandas as pd

        where, params = "", ()
        if run_ids:
            where = f" WHERE t.run_id IN ({','.join('?' * len(run_ids))})"
            params = tuple(run_ids)
        if table == "item_metrics":
            sql = ("SELECT t.run_id, r.model, r.suite, t.item_key, i.prompt_id, i.prompt, i.sample_index, i.seed, "
                   "i.video_path, t.metric, t.protocol, t.reference, t.value, t.weight, t.status, t.error, "
                   "t.backbone, t.weights_sha256, t.video_sha256, t.extra_json FROM item_metrics t "
                   "LEFT JOIN items i ON i.run_id=t.run_id AND i.item_key=t.item_key "
                   "LEFT JOIN runs r ON r.run_id=t.run_id" + where + " ORDER BY t.run_id, t.item_key, t.protocol")
        elif table == "set_metrics":
            sql = ("SELECT t.run_id, r.model, r.suite, t.metric, t.protocol, t.reference, t.value, t.ci_low, t.ci_high, "
                   "t.n_items, t.n_failed, t.result_json FROM set_metrics t LEFT JOIN runs r ON r.run_id=t.run_id"
                   + where + " ORDER BY t.run_id, t.protocol")
        elif table in ("items", "runs"):
            sql = f"SELECT * FROM {table} t" + where
        else:
            raise ValueError("table must be item_metrics, set_metrics, items or runs")
        try:
            df = pd.read_sql_query(sql, self._conn, params=params)
        except (sqlite3.DatabaseError, pd.errors.DatabaseError) as e:  # pandas wraps SQLite's errors
            raise self._state_error(e) from e
        if table != "items":  # every run shown by its label (model + arguments, or --label) beside its id
            df.insert(list(df.columns).index("model") + 1 if "model" in df.columns else 1, "label",
                      df["run_id"].map(self.labels()))
        return df

    def export(self, dest: str | os.PathLike, fmt: str | None = None, table: str = "item_metrics",
               run_ids: list[str] | None = None) -> Path:
        """Write a table to ``dest`` as CSV, JSON (records) or Parquet (format from ``fmt`` or the file suffix)."""
        dest = Path(dest)
        fmt = (fmt or dest.suffix.lstrip(".")).lower()
        if fmt not in ("csv", "json", "parquet"):
            raise ValueError(f"unknown export format {fmt!r}: use csv, json or parquet")
        df = self.dataframe(table, run_ids)
        with atomic_path(dest) as tmp:  # whole or not at all (disk full leaves nothing that looks complete)
            if fmt == "csv":  # text cells neutralised against spreadsheet formula injection
                safe_frame(df).to_csv(tmp, index=False)
            elif fmt == "json":
                df.to_json(tmp, orient="records", indent=1)
            else:
                df.to_parquet(tmp, index=False)
        return dest
