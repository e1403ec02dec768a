"""The summary table printed after a run: one row per run, one column per metric protocol (and reference)."""
from __future__ import annotations

import json
import math

from vgbench.bench.store import ResultsStore, run_label


def summary_rows(store: ResultsStore, run_ids: list[str] | None = None) -> list[dict]:
    """One dict per run: model, suite, item counts, and per metric ``{value, ci95, n, failed, higher_is_better}``."""
    runs = {r["run_id"]: r for r in store.runs()}
    order = run_ids or list(runs)
    out = []
    for rid in order:
        r = runs.get(rid)
        if r is None:
            continue
        counts = {row["status"]: row["n"] for row in store.query(
            "SELECT status, COUNT(*) AS n FROM items WHERE run_id=? GROUP BY status", (rid,))}
        row = {"run_id": rid, "model": run_label(r), "suite": r["suite"] or "-", "items_ok": counts.get("ok", 0),
               "items_failed": counts.get("error", 0), "metrics": {}}
        for s in store.set_metrics([rid]):
            res = json.loads(s["result_json"])
            label = s["protocol"] + (f" vs {res['details'].get('reference_label', _short_ref(s['reference']))}"
                                     if s["reference"] else "")
            row["metrics"][label] = {"value": s["value"], "ci95": res.get("ci95"), "n": s["n_items"],
                                     "failed": s["n_failed"], "higher_is_better": res.get("higher_is_better"),
                                     "flags": res.get("flags", [])}
        out.append(row)
    return out


def _short_ref(ref: str) -> str:
    return ref.split("__")[0] if ref else ""


def format_value(v: float | None, ci=None, compact: bool = False) -> str:
    """A value with its 95 % interval for tables: ``v ± h`` (``v ±h`` when ``compact``) when the interval is about
    symmetric around ``v`` (neither side over twice the other), else ``v [lo, hi]`` (a bootstrap interval of FVD/FID
    can be lopsided or even exclude the value: ± would hide that). Decimals: 2 from 10 up, else 4, more when the
    half-width needs them (two significant digits, at most 6)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    digits = 2 if abs(v) >= 10 else 4
    if not ci or ci[0] is None or ci[1] is None or not all(math.isfinite(x) for x in ci):
        return f"{v:.{digits}f}"
    lo, hi = float(ci[0]), float(ci[1])
    half = (hi - lo) / 2
    if half > 0:
        digits = min(6, max(digits, 1 - math.floor(math.log10(half))))
    if not (lo <= v <= hi) or max(hi - v, v - lo) > 2 * min(hi - v, v - lo):  # one side over twice the other
        return f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
    return f"{v:.{digits}f} ±{'' if compact else ' '}{half:.{digits}f}"


def _fmt(m: dict) -> str:
    v = m["value"]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    s = format_value(v, m.get("ci95"), compact=True)
    if m.get("failed"):
        s += f" ({m['failed']} failed)"
    if m.get("flags"):
        s += " [!]"
    return s


#: how the ± of every view is obtained (the same words on the site, in Markdown and in the text tables)
INTERVAL_NOTE = ("per-item metrics by a nested bootstrap over prompts (seeds within prompts, expanded percentile); "
                 "distribution metrics by the metric's bootstrap over videos; [lo, hi] where the interval is "
                 "lopsided")


def format_summary(rows: list[dict]) -> str:
    """A plain-text table (metrics as columns, ``↑``/``↓`` marks the better direction, ± is the 95 % CI half-width)."""
    import pandas as pd

    if not rows:
        return "(no results)"
    labels: list[str] = []
    for r in rows:
        for k in r["metrics"]:
            if k not in labels:
                labels.append(k)
    arrows = {}
    for r in rows:
        for k, m in r["metrics"].items():
            arrows.setdefault(k, " ↑" if m["higher_is_better"] else " ↓")
    table = []
    for r in rows:
        line = {"model": r["model"], "run": r["run_id"], "suite": r["suite"], "videos": r["items_ok"]}
        if any(x["items_failed"] for x in rows):
            line["failed"] = r["items_failed"]
        for k in labels:
            m = r["metrics"].get(k)
            line[k + arrows[k]] = _fmt(m) if m else "-"
        table.append(line)
    df = pd.DataFrame(table).fillna("-")
    pd.set_option("display.unicode.east_asian_width", True)  # CJK labels keep the columns aligned
    notes = sorted({f"{k}: {f}" for r in rows for k, m in r["metrics"].items() for f in m.get("flags", [])
                    if not f.startswith(("N=", "protocol expects"))})
    text = df.to_string(index=False)
    text += f"\n± 95% interval half-width: {INTERVAL_NOTE}"
    if notes:
        text += "\n[!] " + "\n[!] ".join(notes)
    return text
