"""Aggregation tables (pandas) over the results store: per run, per prompt, per category.

* :func:`per_run`: one row per (run, protocol, reference): the value and 95 % interval stored when the metric
  aggregated (:mod:`vgbench.metrics.intervals`), number of prompts and items.
* :func:`per_prompt`: mean over the samples of each prompt, one column per protocol.
* :func:`per_category`: mean over the items whose prompt carries a tag of the suite (a prompt with several tags counts
  in each); the suite is loaded by the name or path the run recorded, or given.

Values are in each metric's own units; protocols are never merged (a column or row is one protocol id).
"""
from __future__ import annotations

import json

import pandas as pd

from vgbench.bench.store import ResultsStore


def item_table(store: ResultsStore, run_ids: list[str] | None = None) -> pd.DataFrame:
    """Successful per-item scores with ``prompt_key`` (prompt id, or the item key for plain folders)."""
    df = store.dataframe("item_metrics", run_ids)
    df = df[df["status"] == "ok"].copy()
    df["prompt_key"] = df["prompt_id"].fillna(df["item_key"])
    df["model"] = df["label"]  # runs are shown by their label (model with its arguments, or --label)
    return df


def per_run(store: ResultsStore, run_ids: list[str] | None = None) -> pd.DataFrame:
    """One row per (run, protocol, reference): the value and 95 % interval the metric computed when it aggregated
    (the same numbers as every other view; ``ci_method`` names the method), with the run's label."""
    rows = []
    labels = store.labels()
    for s in store.set_metrics(run_ids):
        res = json.loads(s["result_json"])
        ci = res.get("ci95") or [None, None]
        rows.append({"run_id": s["run_id"], "model": labels.get(s["run_id"]), "protocol": s["protocol"],
                     "reference": s["reference"] or None, "higher_is_better": res.get("higher_is_better"),
                     "value": s["value"], "ci_low": ci[0], "ci_high": ci[1],
                     "n_prompts": res.get("details", {}).get("n_prompts"), "n_items": s["n_items"],
                     "ci_method": res.get("ci_method")})
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
