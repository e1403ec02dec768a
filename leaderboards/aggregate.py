"""Aggregation tables (pandas) over the results store: per run, per prompt, per category.

* :func:`per_run`: one row per (run, protocol, reference): mean, nested-bootstrap 95 % interval over prompts, number
  of prompts and items; distribution metrics (no per-item values) take the metric engine's value and interval.
* :func:`per_prompt`: mean over the samples of each prompt, one column per protocol.
* :func:`per_category`: mean over the items whose prompt carries a tag of the suite (a prompt with several tags counts
  in each); the suite is loaded by the name or path the run recorded, or given.

Values are in each metric's own units; protocols are never merged (a column or row is one protocol id).
"""
from __future__ import annotations

import json

import pandas as pd

from vgbench.bench.store import ResultsStore
from vgbench.leaderboards.statistics import bootstrap_interval


def item_table(store: ResultsStore, run_ids: list[str] | None = None) -> pd.DataFrame:
    """Successful per-item scores with ``prompt_key`` (prompt id, or the item key for plain folders)."""
    df = store.dataframe("item_metrics", run_ids)
    df = df[df["status"] == "ok"].copy()
    df["prompt_key"] = df["prompt_id"].fillna(df["item_key"])
    return df


def per_run(store: ResultsStore, run_ids: list[str] | None = None, n_boot: int = 2000) -> pd.DataFrame:
    items = item_table(store, run_ids)
    rows = []
    models = {r["run_id"]: r["model"] for r in store.runs()}
    for s in store.set_metrics(run_ids):
        res = json.loads(s["result_json"])
        sub = items[(items["run_id"] == s["run_id"]) & (items["protocol"] == s["protocol"])
                    & (items["reference"] == s["reference"])]
        row = {"run_id": s["run_id"], "model": models.get(s["run_id"]),
               "protocol": s["protocol"], "reference": s["reference"] or None,
               "higher_is_better": res.get("higher_is_better")}
        if len(sub):
            iv = bootstrap_interval(sub["value"].to_numpy(), sub["prompt_key"].to_numpy(), n_boot)
            row.update(value=iv.estimate, ci_low=iv.low, ci_high=iv.high, n_prompts=iv.n_prompts,
                       n_items=iv.n_items, ci_method=iv.method)
        else:
            ci = res.get("ci95") or [None, None]
            row.update(value=s["value"], ci_low=ci[0], ci_high=ci[1], n_prompts=None, n_items=s["n_items"],
                       ci_method=res.get("ci_method"))
        rows.append(row)
    return pd.DataFrame(rows)


def per_prompt(store: ResultsStore, run_ids: list[str] | None = None) -> pd.DataFrame:
    items = item_table(store, run_ids)
    if items.empty:
        return pd.DataFrame()
    return items.pivot_table(index=["run_id", "model", "prompt_key"], columns="protocol", values="value",
                             aggfunc="mean").reset_index()


def per_category(store: ResultsStore, run_ids: list[str] | None = None, suite=None) -> pd.DataFrame:
    """Mean per (run, tag, protocol); ``suite`` is a Suite, a name/path, or None (each run's recorded suite)."""
    from vgbench.prompts import load_suite

    items = item_table(store, run_ids)
    if items.empty:
        return pd.DataFrame()
    tags: dict[str, dict[str, tuple]] = {}
    for r in store.runs():
        if run_ids and r["run_id"] not in run_ids:
            continue
        s = suite
        if s is None or isinstance(s, str):
            name = s or r["suite"]
            try:
                s = load_suite(name) if name else None
            except Exception:  # noqa: BLE001 - a suite that cannot be found just has no categories
                s = None
        tags[r["run_id"]] = {p.id: p.tags for p in s.prompts} if s is not None else {}
    rows = []
    for rec in items.itertuples():
        for t in tags.get(rec.run_id, {}).get(rec.prompt_id, ()):
            rows.append({"run_id": rec.run_id, "model": rec.model, "category": t, "protocol": rec.protocol,
                         "value": rec.value})
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).pivot_table(index=["run_id", "model", "category"], columns="protocol", values="value",
                                          aggfunc="mean").reset_index()
