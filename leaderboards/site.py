"""Static leaderboard site: ``vgbench leaderboard build``.

Input: one or more results databases; the runs of one suite (``--suite`` when several are present). Output folder::

    index.html           sortable table (value ± 95 % CI per protocol column, scheme total/groups), radar chart per
                         model (with ≥ 3 metric columns), per-metric interval charts (points with 95 % intervals on a
                         zoomed axis, the first run as a dashed baseline), category × run grids, published rows
                         (marked), provenance per run
    runs/<run_id>.html   per-prompt drill-down (mean over samples per prompt and column) and the run's video gallery
    media/<run_id>/*.gif animated previews (8 frames, 96 px high) of the run's videos
    plotly.min.js        the plotly bundle shipped with the plotly package (the site works offline)
    leaderboard.csv, leaderboard.md   exports for papers and READMEs

Columns are protocol ids (plus the reference for paired and distribution metrics): two protocols are never put in
one column. Per-item metrics get the nested bootstrap interval over prompts
(:mod:`vgbench.leaderboards.statistics`); distribution metrics show the metric engine's interval. A cell whose weights differ
from the column's other runs is marked. Every user-supplied string (model names, prompts, paths, settings) is HTML
escaped, and the data embedded for the charts is JSON with ``<``, ``>`` and ``&`` escaped.
"""
from __future__ import annotations

import hashlib
import html
import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from vgbench.bench.fileio import atomic_copy, atomic_path, atomic_write_text, printable, safe_frame
from vgbench.bench.errors import ConfigError
from vgbench.bench.store import ResultsStore, run_label
from vgbench.leaderboards.schemes import VBENCH_PROTOCOLS
from vgbench.metrics.protocol_id import split_revision
from vgbench.metrics.registry import revision_status
from vgbench.leaderboards.statistics import expanded_alpha, nested_bootstrap_means
from vgbench.leaderboards.summary import INTERVAL_NOTE, format_value
from vgbench.metrics.intervals import numerical_resolution

def esc(text, quote: bool = True) -> str:
    """HTML-escaped text with control characters (NUL, ESC, BEL, ...) written as ``\\xNN``."""
    return html.escape(printable(text), quote=quote)
N_BOOT = 2000
GALLERY_PER_RUN = 48


def _json_for_script(obj: Any) -> str:
    return json.dumps(obj, allow_nan=False, default=str).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")


def _finite(x) -> float | None:
    return float(x) if x is not None and isinstance(x, (int, float)) and math.isfinite(x) else None


def _column_label(protocol: str, reference_label: str | None) -> str:
    return protocol + (f" vs {reference_label}" if reference_label else "")


def collect_runs(dbs: list[Path], run_ids: list[str] | None = None, suite: str | None = None) -> list[dict]:
    """Every scored run of the databases (restricted to ``run_ids`` / ``suite``) with its per-column results."""
    runs: list[dict] = []
    for db in dbs:
        if not db.exists():
            raise ConfigError(f"no results database at {db}")
        with ResultsStore(db) as store:
            items_df = store.dataframe("item_metrics")
            items_all = store.dataframe("items")
            for r in store.runs():
                r = dict(r)
                if run_ids and r["run_id"] not in run_ids:
                    continue
                sets = store.set_metrics([r["run_id"]])
                if not sets:
                    continue
                its = items_all[items_all["run_id"] == r["run_id"]]
                row = {"run_id": r["run_id"], "model": run_label(r), "model_name": r["model"], "suite": r["suite"],
                       "suite_sha256": r["suite_sha256"], "kind": r["kind"], "db": str(db), "run_dir": r["run_dir"],
                       "config": json.loads(r["config_json"] or "{}"),
                       "provenance": json.loads(r["provenance_json"] or "{}"),
                       "items_ok": int((its["status"] == "ok").sum()), "items_failed": int((its["status"] != "ok").sum()),
                       "seeds": sorted({int(s) for s in its["seed"].dropna()}),
                       "items": its.to_dict("records"), "columns": {}}
                # items of weight 0 are scored but left out of their metric's aggregate (static filter, colour)
                df = items_df[(items_df["run_id"] == r["run_id"]) & (items_df["status"] == "ok")
                              & (items_df["weight"] > 0)].copy()
                df["prompt_key"] = df["prompt_id"].fillna(df["item_key"])
                for s in sets:
                    res = json.loads(s["result_json"])
                    label = _column_label(s["protocol"], res.get("details", {}).get("reference_label")
                                          if s["reference"] else None)
                    sub = df[(df["protocol"] == s["protocol"]) & (df["reference"] == s["reference"])]
                    col = {"protocol": s["protocol"], "metric": s["metric"], "kind": res.get("kind"),
                           "higher_is_better": bool(res.get("higher_is_better", True)), "value": _finite(s["value"]),
                           "n": s["n_items"], "failed": s["n_failed"], "flags": res.get("flags", []),
                           "backbone": res.get("backbone"), "weights_sha256": res.get("weights_sha256"),
                           "fidelity": res.get("details", {}).get("fidelity"), "ci": None, "ci_method": res.get("ci_method"), "replicates": None, "per_prompt": {}}
                    rev, current, note = revision_status(s["protocol"])
                    if rev < current:  # values of another revision are never mixed: own column, out of totals
                        col["stale_revision"] = True
                        col["flags"] = [*col["flags"], f"revision {rev} of {split_revision(s['protocol'])[0]}, "
                                        f"computed before a fix ({note}): shown apart from revision {current} values "
                                        "and left out of scheme totals; re-evaluate the run with this vgbench"]
                    # the value and interval the metric computed when it aggregated (one method in every view)
                    if res.get("ci95"):
                        col["ci"] = [_finite(x) for x in res["ci95"]]
                    col["n_prompts"] = res.get("details", {}).get("n_prompts") or (
                        int(sub["prompt_key"].nunique()) if len(sub) else None)
                    if len(sub):
                        if sub["prompt_key"].nunique() >= 2:  # for the scheme totals' intervals
                            col["replicates"] = nested_bootstrap_means(sub["value"].to_numpy(),
                                                                       sub["prompt_key"].to_numpy(), N_BOOT,
                                                                       weights=sub["weight"].to_numpy())
                        for pk, g in sub.groupby("prompt_key"):
                            col["per_prompt"][str(pk)] = {"mean": float(g["value"].mean()), "n": int(len(g)),
                                                          "prompt": g["prompt"].iloc[0]}
                    row["columns"][label] = col
                runs.append(row)
    if not runs:
        raise ConfigError("no scored runs found" + (f" for runs {run_ids}" if run_ids else "")
                          + "; score runs with `vgbench run` / `vgbench evaluate` first")
    suites = sorted({r["suite"] or "(folder)" for r in runs})
    if suite:
        runs = [r for r in runs if (r["suite"] or "(folder)") == suite]
        if not runs:
            raise ConfigError(f"no scored run of suite {suite!r}; suites present: {', '.join(suites)}")
    elif len(suites) > 1:
        raise ConfigError(f"the runs cover several suites ({', '.join(suites)}): choose one with --suite; a "
                          "leaderboard compares runs of one suite")
    shas = {r["suite_sha256"] for r in runs if r["suite_sha256"]}
    if len(shas) > 1:
        for r in runs:
            r.setdefault("warnings", []).append("suite content differs between runs (sha256 "
                                                f"{(r['suite_sha256'] or '-')[:12]})")
    return runs


def _scheme_scores(runs: list[dict], scheme) -> list[str]:
    """Add the scheme's total and groups to each run (with bootstrap intervals when every dimension has
    replicates); returns the dimensions that were found in the data."""
    found = set()
    for r in runs:
        candidates: dict[str, list[tuple[str, dict]]] = {}
        for label, col in r["columns"].items():
            base_id, rev = split_revision(col["protocol"])
            for d in scheme.dimension_names():
                if label == d or col["protocol"] == d or base_id == d or col["metric"] == d \
                        or VBENCH_PROTOCOLS.get(base_id) == d:
                    if col.get("stale_revision"):  # computed before a fix: its own column, never in a total
                        continue
                    candidates.setdefault(d, []).append((label, col))
        dims: dict[str, dict] = {}
        r["scheme_choices"] = []
        for d, cands in candidates.items():
            # several results for one dimension (camera_motion and camera_motion@tracker=lk): the vbench-exact one,
            # then the one without options, then flag-free; said in a warning, never picked by column order
            cands.sort(key=lambda lc: (lc[1].get("fidelity") != "vbench-exact", "@" in split_revision(
                lc[1]["protocol"])[0], bool(lc[1].get("flags")), lc[0]))
            dims[d] = cands[0][1]
            if len(cands) > 1:
                r["scheme_choices"].append(f"{d} uses {cands[0][0]}, not " + ", ".join(lb for lb, _ in cands[1:]))
        found |= set(dims)
        agg = scheme.aggregate({d: c["value"] for d, c in dims.items()})
        keys = [scheme.total_name, *(g for g in scheme.groups if g != scheme.total_name)]
        r["scheme"] = {k: agg[k] for k in keys}
        r["scheme_missing"] = agg["missing"]
        # a group score is shown when every dimension of its group is there (the I2V score of a run evaluated on
        # the three I2V dimensions only); the total only when every dimension is
        r["scheme_complete"] = {k: not [d for d in scheme.dimensions if d.name in agg["missing"]
                                        and (k == scheme.total_name or d.group == k)] for k in keys}
        # a VBench total is VBench-comparable only when every dimension in it used VBench's model and recipe
        r["scheme_not_exact"] = sorted(d for d, c in dims.items() if c.get("fidelity") != "vbench-exact") \
            if scheme.name in ("vbench", "mlperf-t2v", "vbench-i2v") else []
        # per score: its dimensions that are not vbench-exact, and those whose results carry flags (random or
        # user-supplied weights, ...): a score inherits what travels with its numbers
        in_key = {k: {d.name for d in scheme.dimensions if k == scheme.total_name or d.group == k} for k in keys}
        r["scheme_notes"] = {k: {"not_exact": [d for d in r["scheme_not_exact"] if d in in_key[k]],
                                 "flagged": sorted(d for d, c in dims.items() if d in in_key[k] and c.get("flags"))}
                             for k in keys}
        reps = {d: c["replicates"] for d, c in dims.items() if c.get("replicates") is not None}
        if dims and len(reps) == len(dims):
            b = len(next(iter(reps.values())))
            samples = {k: [] for k in keys}
            for i in range(b):
                a = scheme.aggregate({d: float(v[i]) for d, v in reps.items()})
                for k in keys:
                    samples[k].append(a[k])
            n_min = min(c.get("n_prompts") or 2 for c in dims.values())
            alpha = expanded_alpha(0.05, n_min) / 2
            r["scheme_ci"] = {k: [float(x) for x in np.quantile(samples[k], [alpha, 1 - alpha])] for k in keys}
    return sorted(found)


def _published_label(p) -> str:
    """"published", with "(inconsistent)" / "(not checked)" as :mod:`vgbench.leaderboards.published` found it."""
    return "published" + (" (inconsistent)" if p.inconsistent else "") + (" (not checked)" if p.unchecked else "")


def _source_html(source: str) -> str:
    """A published row's source: a link when it starts with an http(s) URL, else short text; both escaped."""
    if not source:
        return ""
    first = source.split()[0]
    if first.startswith(("https://", "http://")):
        return f' <a class="meta" href="{esc(first)}" title="{esc(source)}" rel="noopener">source</a>'
    short = source if len(source) <= 40 else source[:39] + "…"
    return f'<div class="meta" title="{esc(source)}">{esc(short)}</div>'


def _fmt(v: float | None, ci: list | None = None) -> str:
    return format_value(v, ci)


def _gallery(run: dict, out: Path, limit: int) -> list[dict]:
    """Animated GIF previews of up to ``limit`` videos of a run; items whose video cannot be read are skipped."""
    from PIL import Image

    from vgbench.bench.video import read_video
    from vgbench.bench.video import probe_video
    from vgbench.bench.video.sampling import FrameSampling, sample_indices

    media = out / "media" / run["run_id"]
    media.mkdir(parents=True, exist_ok=True)
    shown = []
    def order(i):
        return (str(i.get("prompt_id") or i.get("item_key")), i.get("sample_index") or 0)

    for it in sorted(run["items"], key=order)[:limit]:
        path = it.get("video_path")
        if it.get("status") != "ok" or not path or not Path(path).is_file():
            continue
        try:
            nf = it.get("num_frames")
            n = (int(nf) if nf is not None and nf == nf else 0) or probe_video(path).shown_frames  # NaN-safe
            idx = sorted(set(sample_indices(FrameSampling("uniform", 8, "repeat_last"), n))) if n else None
            v = read_video(path, indices=idx)
        except Exception:  # noqa: BLE001 - a gallery never fails the build
            continue
        frames = []
        for f in v.frames.numpy():
            img = Image.fromarray(f)
            w = max(1, round(img.width * 96 / img.height))
            frames.append(img.resize((w, 96), Image.BILINEAR))
        name = hashlib.sha1(str(it["item_key"]).encode()).hexdigest()[:16] + ".gif"
        frames[0].save(media / name, save_all=True, append_images=frames[1:], duration=250, loop=0)
        shown.append({"src": f"media/{run['run_id']}/{name}", "prompt": it.get("prompt") or it.get("item_key"),
                      "prompt_id": it.get("prompt_id"), "seed": it.get("seed")})
    return shown


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{margin:0 0 4px}h2{margin-top:32px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
.meta{color:#5b6475;font-size:14px}table{border-collapse:collapse;background:#fff;font-size:14px;margin:8px 0}
th,td{border:1px solid #dde2ea;padding:6px 10px;text-align:right;white-space:nowrap}
th{background:#eef1f6;cursor:pointer;position:sticky;top:0}th.sorted-asc::after{content:" ▲"}th.sorted-desc::after{content:" ▼"}
td.text,th.text{text-align:left;white-space:normal;max-width:420px;overflow-wrap:anywhere}summary{overflow-wrap:anywhere}.badge{display:inline-block;font-size:11px;padding:1px 6px;
border-radius:8px;margin-left:6px;background:#e3e8f0;color:#394150}.badge.pub{background:#fff2cc;color:#7a5b00}
.badge.warn{background:#fde2e1;color:#8a1c14}.best{font-weight:700}.charts{display:flex;flex-wrap:wrap;gap:16px}
.chart{background:#fff;border:1px solid #dde2ea;border-radius:6px}.gallery{display:flex;flex-wrap:wrap;gap:10px}
.gallery figure{margin:0;width:180px;font-size:12px;color:#394150}.gallery img{height:96px;border-radius:4px}
details{background:#fff;border:1px solid #dde2ea;border-radius:6px;padding:6px 10px;margin:6px 0}
pre{white-space:pre-wrap;font-size:12px}.flags{color:#8a1c14;font-size:12px}.scroll{overflow-x:auto}
"""

_JS = """
(function(){
  var errors = [];
  window.addEventListener('error', function(e){ errors.push(String(e.message));
    document.body.setAttribute('data-js-errors', String(errors.length)); });
  window.alert = function(){ document.body.setAttribute('data-alerted', '1'); };
  function sortable(table){
    var ths = table.querySelectorAll('th');
    ths.forEach(function(th, i){ th.addEventListener('click', function(){
      var asc = !th.classList.contains('sorted-asc');
      ths.forEach(function(t){ t.classList.remove('sorted-asc','sorted-desc'); });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      var rows = Array.prototype.slice.call(table.tBodies[0].rows);
      rows.sort(function(a, b){
        var x = a.cells[i].getAttribute('data-sort'), y = b.cells[i].getAttribute('data-sort');
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
        return asc ? c : -c; });
      rows.forEach(function(r){ table.tBodies[0].appendChild(r); });
    }); });
  }
  document.querySelectorAll('table.sortable').forEach(sortable);
  var el = document.getElementById('lb-data');
  if (!el || typeof Plotly === 'undefined') { return; }
  var D = JSON.parse(el.textContent);
  document.body.setAttribute('data-rows', String(D.rows.length));
  document.body.setAttribute('data-radar-expected', D.radar.length ? '1' : '0');
  if (D.radar.length && document.getElementById('radar')) {
    Plotly.newPlot('radar', D.radar, {polar:{radialaxis:{range:[0,1]}}, margin:{t:40,b:40,l:130,r:130},
      legend:{orientation:'h'}, title:{text:'Relative position per metric (1 = best run, 0 = worst)', font:{size:13}}},
      {displaylogo:false, responsive:true}).then(function(){ document.body.setAttribute('data-radar-drawn', '1'); });
  }
  var drawn = 0;
  D.bars.forEach(function(b){
    var note = b.zero_in_range ? '' : ' (y axis zoomed to the data)';
    Plotly.newPlot(b.div, [{type:'scatter', mode:'markers', x:b.x, y:b.y, error_y:{type:'data', array:b.plus,
      arrayminus:b.minus, visible:true, thickness:2, width:6}, marker:{color:'#4c78a8', size:10}}],
      {title:{text:b.title + note, font:{size:12}}, margin:{t:40,b:20,l:70,r:20}, height:360, width:440,
       xaxis:{automargin:true, tickangle:-30}, yaxis:{range:b.range, automargin:true},
       shapes:[{type:'line', xref:'paper', x0:0, x1:1, y0:b.baseline, y1:b.baseline,
                line:{dash:'dash', color:'#888', width:1}}],
       annotations:[{xref:'paper', x:1, y:b.baseline, text:b.baseline_label, showarrow:false, xanchor:'right',
                     yanchor:'bottom', font:{size:10, color:'#666'}}]},
      {displayModeBar:false}).then(function(){ drawn += 1; document.body.setAttribute('data-charts-drawn',
                                                                                       String(drawn)); });
  });
})();
"""


def _page(title: str, body: str, data: dict | None, plotly_src: str | None) -> str:
    scripts = ""
    if data is not None:
        scripts += f'<script type="application/json" id="lb-data">{_json_for_script(data)}</script>\n'
    if plotly_src:
        scripts += f'<script src="{esc(plotly_src)}"></script>\n'
    scripts += f"<script>{_JS}</script>"
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{_CSS}</style></head>"
            f"<body>\n{body}\n{scripts}\n</body></html>\n")


def _category_table(dbs: list[Path], runs: list[dict], columns: list[str]) -> str:
    """Per-category means (prompt tags of the suite) as one category × run grid per protocol, each cell shaded by its
    place between the protocol's worst (light) and best (dark) value; empty when the suite has no tags."""
    import pandas as pd

    from vgbench.leaderboards.aggregate import per_category

    ids = [r["run_id"] for r in runs]
    frames = []
    for db in dbs:
        with ResultsStore(db) as store:
            df = per_category(store, ids)
        if len(df):
            frames.append(df)
    if not frames:
        return ""
    df = pd.concat(frames, ignore_index=True)
    protos = [c for c in df.columns if c not in ("run_id", "model", "category")]
    order = [r["run_id"] for r in runs if r["run_id"] in set(df["run_id"])]
    names = {r["run_id"]: r["model"] for r in runs}
    hib = {c: next((r["columns"][c]["higher_is_better"] for r in runs if c in r["columns"]), True) for c in protos}
    out = []
    for c in protos:
        grid = df.pivot_table(index="category", columns="run_id", values=c, aggfunc="first")
        if grid.isna().all().all():
            continue
        lo, hi = float(grid.min().min()), float(grid.max().max())
        head = "".join(f'<th class="text">{esc(names.get(rid, rid))}<div class="meta">{esc(rid)}</div></th>'
                       for rid in order)
        rows = []
        for cat in grid.index:
            cells = []
            for rid in order:
                v = grid.at[cat, rid] if rid in grid.columns else float("nan")
                if pd.isna(v):
                    cells.append('<td data-sort="">–</td>')
                    continue
                t = 0.5 if hi == lo else (float(v) - lo) / (hi - lo)
                t = t if hib[c] else 1 - t
                shade = f"background:rgba(76,120,168,{0.08 + 0.6 * t:.2f})"
                cells.append(f'<td class="heat" data-sort="{v}" style="{shade}">{esc(_fmt(float(v)))}</td>')
            rows.append(f'<tr><td class="text" data-sort="{esc(str(cat))}">{esc(str(cat))}</td>{"".join(cells)}</tr>')
        arrow = "↑" if hib[c] else "↓"
        out.append(f'<h3>{esc(c)} {arrow}</h3><div class="scroll"><table class="sortable heatgrid"><thead><tr>'
                   f'<th class="text">category</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')
    return "".join(out)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def _plotly_text(text: str) -> str:
    """User text for a plotly label: plotly renders a subset of HTML in labels, so ``&``, ``<`` and ``>`` are
    escaped (a run label ``<b>x</b>`` is shown as typed)."""
    return esc(text)


def _wrap_label(text: str, width: int = 18, max_lines: int = 4) -> str:
    """A chart tick label broken into lines of about ``width`` characters (plotly draws ``<br>`` as a line break),
    so run labels are shown whole instead of cut off; beyond ``max_lines`` lines the rest is elided (…), the full
    label being in the table above. Escaped for plotly."""
    import textwrap

    lines = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [text]
    if len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [lines[max_lines - 1][:width - 1] + "…"]
    return "<br>".join(_plotly_text(x) for x in lines)


def radar_traces(runs: list[dict], columns: list[str]) -> list[dict]:
    """Plotly ``scatterpolar`` traces, one per run: each metric's value placed between the worst (0) and the best (1)
    run. Drawn only with at least 3 metrics: with fewer, a radar has no area to compare (the interval charts show
    them); returns [] then."""
    cols = [c for c in columns if any(c in r["columns"] and r["columns"][c]["value"] is not None for r in runs)]
    if len(cols) < 3:
        return []
    traces = []
    for r in runs:
        rr, th = [], []
        for c in cols:
            vals = [x["columns"][c]["value"] for x in runs if c in x["columns"] and x["columns"][c]["value"]
                    is not None]
            col = r["columns"].get(c)
            if col is None or col["value"] is None:
                continue
            lo, hi = min(vals), max(vals)
            t = 1.0 if hi == lo else (col["value"] - lo) / (hi - lo)
            rr.append(t if col["higher_is_better"] else 1.0 - t)
            th.append(c)
        if rr:
            traces.append({"type": "scatterpolar", "r": rr + rr[:1], "theta": [_plotly_text(t) for t in th + th[:1]],
                           "fill": "toself", "name": _plotly_text(_short(f"{r['model']} ({r['run_id']})", 60)),
                           "opacity": 0.6})
    return traces


def interval_charts(runs: list[dict], columns: list[str]) -> list[dict]:
    """One chart per metric column: each run's value as a point with its 95 % interval (points, not bars, so the
    axis can be zoomed honestly), the y axis spanning the data and intervals with 8 % padding (not from 0: 0.96 and
    0.99 must not look equal), the first run's value as a dashed baseline line, and full run labels (wrapped).
    Returns plotly-ready dicts: ``div``, ``title``, ``x``, ``y``, ``plus``, ``minus``, ``range``, ``baseline``,
    ``baseline_label``, ``zero_in_range``."""
    charts = []
    for i, c in enumerate(columns):
        xs, ys, plus, minus, names = [], [], [], [], []
        for r in runs:
            col = r["columns"].get(c)
            if col is None or col["value"] is None:
                continue
            names.append(f"{r['model']} ({r['run_id']})")
            xs.append(_wrap_label(names[-1]))
            ys.append(col["value"])
            ci = col["ci"]
            plus.append((ci[1] - col["value"]) if ci and ci[1] is not None else 0)
            minus.append((col["value"] - ci[0]) if ci and ci[0] is not None else 0)
        if not xs:
            continue
        lo = min(y - m for y, m in zip(ys, minus))
        hi = max(y + p for y, p in zip(ys, plus))
        pad = 0.08 * (hi - lo) if hi > lo else max(abs(hi) * 0.01, 1e-6)
        hib = next(r["columns"][c]["higher_is_better"] for r in runs if c in r["columns"])
        charts.append({"div": f"bar{i}", "title": _plotly_text(f"{c} {'↑' if hib else '↓'}"), "x": xs, "y": ys,
                       "plus": plus,
                       "minus": minus, "range": [lo - pad, hi + pad], "baseline": ys[0],
                       "baseline_label": _plotly_text("baseline: " + _short(names[0], 60)),
                       "zero_in_range": lo - pad <= 0 <= hi + pad})
    return charts


def build_site(dbs: list[Path], out: Path, run_ids: list[str] | None = None, suite: str | None = None,
               scheme: str | None = None, published: str | None = None, title: str = "vgbench leaderboard",
               gallery: bool = True) -> dict[str, Any]:
    from vgbench.bench.errors import ConfigError
    from vgbench.leaderboards.published import load_published, published_scheme
    from vgbench.leaderboards.schemes import load_scheme

    runs = collect_runs(dbs, run_ids, suite)
    sch = load_scheme(scheme) if scheme else None
    table_scheme = published_scheme(published) if published else None
    if table_scheme and sch is not None and sch.name != table_scheme:
        raise ConfigError(f"the published table {published!r} holds {table_scheme} rows; build with "
                          f"--scheme {table_scheme} (not {sch.name})")
    if published and sch is None:  # published rows are scheme rows (the table's, else VBench's)
        sch = load_scheme(table_scheme or "vbench")
    scheme_dims = _scheme_scores(runs, sch) if sch else []
    pub_rows = load_published(published, sch) if published else []
    out.mkdir(parents=True, exist_ok=True)
    (out / "runs").mkdir(exist_ok=True)
    import plotly

    atomic_copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", out / "plotly.min.js")

    columns: list[str] = []
    for r in runs:
        for k in r["columns"]:
            if k not in columns:
                columns.append(k)
    # weights consistency per column
    for c in columns:
        hashes = {r["columns"][c]["weights_sha256"] for r in runs if c in r["columns"]}
        if len(hashes) > 1:
            for r in runs:
                if c in r["columns"]:
                    r["columns"][c].setdefault("flags", []).append("weights differ from other runs in this column")
    best = {}  # column → the best run: among runs scored on all of the column's items (a run with failed items
    # is not compared on the same prompts), with at least two such runs, unless the best are tied
    for c in columns:
        full = max((r["columns"][c]["n"] or 0 for r in runs if c in r["columns"]), default=0)
        vals = [(r["columns"][c]["value"], r["run_id"], r["columns"][c]) for r in runs if c in r["columns"]
                and r["columns"][c]["value"] is not None and (r["columns"][c]["n"] or 0) == full
                and not r["columns"][c].get("failed")]
        if len(vals) >= 2:
            hib = vals[0][2]["higher_is_better"]
            vals.sort(key=lambda v: -v[0] if hib else v[0])
            top = vals[0]
            tied = len(vals) > 1 and abs(top[0] - vals[1][0]) <= numerical_resolution(
                max(abs(top[0]), abs(vals[1][0])), (top[2]["n"] or 1) + (vals[1][2]["n"] or 1),
                "float32" if top[2]["backbone"] else "float64")
            if not tied:
                best[c] = top[1]

    scheme_keys = [sch.total_name, *(g for g in sch.groups if g != sch.total_name)] if sch else []
    show_scheme = bool(sch) and (any(r.get("scheme") for r in runs) or pub_rows)
    # ---- main table
    head = ['<th class="text">model</th>', '<th class="text">source</th>', "<th>videos</th>"]
    if show_scheme:
        head += [f"<th>{esc(k)} ↑</th>" for k in scheme_keys]
    for c in columns:
        hib = next(r["columns"][c]["higher_is_better"] for r in runs if c in r["columns"])
        head.append(f"<th>{esc(c)} {'↑' if hib else '↓'}</th>")
    body_rows = []
    for r in runs:
        cells = [f'<td class="text" data-sort="{esc(r["model"])}"><a href="runs/{esc(r["run_id"])}.html">'
                 f'{esc(r["model"])}</a><div class="meta">{esc(r["run_id"])}</div></td>',
                 '<td class="text" data-sort="measured"><span class="badge">measured</span></td>',
                 f'<td data-sort="{r["items_ok"]}">{r["items_ok"]}'
                 + (f' <span class="badge warn">{r["items_failed"]} failed</span>' if r["items_failed"] else "")
                 + "</td>"]
        if show_scheme:
            miss = r.get("scheme_missing") or []
            for k in scheme_keys:
                if not (r.get("scheme_complete") or {}).get(k):  # a score over partly missing dimensions (counted
                    # as 0 by VBench) would mislead
                    need = [d.name for d in sch.dimensions if k == sch.total_name or d.group == k]
                    lack = [d for d in need if d in miss]
                    cells.append(f'<td data-sort="" title="missing: {esc(", ".join(lack))}">–'
                                 f' <span class="badge warn">{len(need) - len(lack)}/{len(need)} dims</span></td>')
                    continue
                v = (r.get("scheme") or {}).get(k)
                shown = None if v is None else 100 * v
                ci = (r.get("scheme_ci") or {}).get(k)
                cis = [100 * x for x in ci] if ci else None
                notes = (r.get("scheme_notes") or {}).get(k) or {}
                style, flagged = notes.get("not_exact") or [], notes.get("flagged") or []
                badge = (f' <span class="badge warn" title="not VBench-comparable: {esc(", ".join(style))} '
                         f'not vbench-exact">style</span>' if style else "")
                badge += (f' <span class="badge warn" title="its dimensions {esc(", ".join(flagged))} carry flags '
                          f'(see their columns)">!</span>' if flagged else "")
                cells.append(f'<td data-sort="{"" if shown is None else shown}">{esc(_fmt(shown, cis))}{badge}</td>')
        for c in columns:
            col = r["columns"].get(c)
            if col is None:
                cells.append('<td data-sort="">–</td>')
                continue
            cls = ' class="best"' if best.get(c) == r["run_id"] else ""
            flags = col.get("flags") or []
            tag = (f' <span class="badge warn" title="{esc("; ".join(flags))}">!</span>' if flags else "")
            cells.append(f'<td{cls} data-sort="{"" if col["value"] is None else col["value"]}">'
                         f'{esc(_fmt(col["value"], col["ci"]))}{tag}</td>')
        body_rows.append(f'<tr data-run="{esc(r["run_id"])}">' + "".join(cells) + "</tr>")
    for p in pub_rows:
        cells = [f'<td class="text" data-sort="{esc(p.model)}">{esc(p.model)}</td>',
                 '<td class="text" data-sort="published"><span class="badge pub">published</span>'
                 + (' <span class="badge warn" title="{}">inconsistent</span>'.format(esc("; ".join(p.inconsistent)))
                    if p.inconsistent else "")
                 + (' <span class="badge warn" title="{}">not checked</span>'.format(esc("; ".join(p.unchecked)))
                    if p.unchecked else "") + _source_html(p.source) + "</td>",
                 '<td data-sort="">–</td>']
        if show_scheme:
            for k in scheme_keys:
                v = p.published.get(k)
                cells.append(f'<td data-sort="{"" if v is None else v}">{"–" if v is None else esc(f"{v:.2f}")}</td>')
        for c in columns:  # a published dimension shown under the protocol that computes it (percent → 0-1)
            dim = VBENCH_PROTOCOLS.get(split_revision(c)[0]) if sch else None
            v = p.dimensions.get(dim) if dim else None
            cells.append('<td data-sort="">–</td>' if v is None else
                         f'<td data-sort="{v / 100}">{esc(_fmt(v / 100))} <span class="badge pub">pub</span></td>')
        body_rows.append('<tr data-published="1">' + "".join(cells) + "</tr>")
    table = ('<div class="scroll"><table class="sortable" id="leaderboard"><thead><tr>' + "".join(head)
             + "</tr></thead><tbody>" + "\n".join(body_rows) + "</tbody></table></div>")

    # ---- charts
    radar = radar_traces(runs, columns)
    bars = interval_charts(runs, columns)
    bar_divs = "".join(f'<div class="chart" id="{b["div"]}"></div>' for b in bars)

    # ---- provenance
    prov = []
    for r in runs:
        weights = {c: {"backbone": col["backbone"], "weights_sha256": col["weights_sha256"]}
                   for c, col in r["columns"].items() if col.get("weights_sha256")}
        info = {"run_id": r["run_id"], "model": r["model"], "suite": r["suite"], "suite_sha256": r["suite_sha256"],
                "run_dir": r["run_dir"], "database": r["db"], "seeds": r["seeds"], "settings": r["config"],
                "weights": weights, "provenance": r["provenance"]}
        prov.append(f"<details><summary>{esc(r['model'])} <span class=\"meta\">{esc(r['run_id'])}</span></summary>"
                    f"<pre>{esc(json.dumps(info, indent=2, default=str))}</pre></details>")

    flags = sorted({f"{c}: {f}" for r in runs for c, col in r["columns"].items() for f in col.get("flags") or []})
    suite_name = runs[0]["suite"] or "(folder of videos)"
    body = [f"<h1>{esc(title)}</h1>",
            f'<div class="meta">suite <b>{esc(suite_name)}</b> · {len(runs)} run(s) · built '
            f'{esc(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))} · '
            f'<a href="leaderboard.csv">CSV</a> · <a href="leaderboard.md">Markdown</a></div>',
            f"<p class=\"meta\">± is the half-width of the 95% interval: {esc(INTERVAL_NOTE)}. Each column is one "
            "metric protocol; ↑/↓ marks the better direction; bold is the best measured run (none where the best "
            "are tied within the numerical resolution).</p>"]
    if sch:
        body.append(f'<p class="meta">Scheme <b>{esc(sch.name)}</b>: {esc(sch.description)} (shown ×100). '
                    f'Dimensions found in the measured runs: {esc(", ".join(scheme_dims) or "none")}.</p>')
    body.append(table)
    if flags:
        body.append('<div class="flags">' + "<br>".join(esc(f) for f in flags) + "</div>")
    radar_div = '<div class="chart" id="radar" style="width:720px;height:540px"></div>' if radar else ""
    body.append(f'<h2>Charts</h2><div class="charts">{radar_div}{bar_divs}</div>')
    choices = [f"{r['model']} ({r['run_id']}): {c}" for r in runs for c in r.get("scheme_choices") or []]
    if choices:  # a run with two results for one dimension: which one its scores use
        body.append(f"<p class=\"meta\">The {esc(sch.name)} scores use one result per dimension: "
                    + "; ".join(esc(c) for c in choices) + ".</p>")
    if pub_rows:
        n_bad = sum(1 for p in pub_rows if p.inconsistent)
        n_unchecked = sum(1 for p in pub_rows if p.unchecked)
        body.append(f"<p class=\"meta\">{len(pub_rows)} published row(s) from {esc(str(published))}; "
                    f"{n_bad} do not recompute from their own dimension scores (marked inconsistent)"
                    + (f"; {n_unchecked} give scores without all of their dimensions (marked not checked)"
                       if n_unchecked else "") + ".</p>")
    cat = _category_table(dbs, runs, columns)
    if cat:
        body.append("<h2>By category</h2><p class=\"meta\">Mean over the items whose prompt carries the suite's "
                    "tag (a prompt with several tags counts in each): one category × run grid per metric, darker is "
                    "better.</p>" + cat)
    body.append("<h2>Provenance</h2>" + "".join(prov))
    data = {"rows": [r["run_id"] for r in runs], "radar": radar, "bars": bars}
    atomic_write_text(out / "index.html", _page(title, "\n".join(body), data, "plotly.min.js"))

    # ---- per-run drill-down pages
    for r in runs:
        prompt_keys = sorted({pk for col in r["columns"].values() for pk in col["per_prompt"]})
        pcols = [c for c in columns if c in r["columns"] and r["columns"][c]["per_prompt"]]
        rows = []
        for pk in prompt_keys:
            text = next((r["columns"][c]["per_prompt"][pk]["prompt"] for c in pcols
                         if pk in r["columns"][c]["per_prompt"]), "") or ""
            cells = [f'<td class="text" data-sort="{esc(pk)}">{esc(pk)}</td>',
                     f'<td class="text" data-sort="{esc(text)}">{esc(text)}</td>']
            for c in pcols:
                pp = r["columns"][c]["per_prompt"].get(pk)
                if pp is None:
                    cells.append('<td data-sort="">–</td>')
                else:
                    cells.append(f'<td data-sort="{pp["mean"]}">{esc(_fmt(pp["mean"]))} '
                                 f'<span class="meta">(n={pp["n"]})</span></td>')
            rows.append("<tr>" + "".join(cells) + "</tr>")
        ptable = ('<table class="sortable"><thead><tr><th class="text">prompt id</th><th class="text">prompt</th>'
                  + "".join(f"<th>{esc(c)}</th>" for c in pcols) + "</tr></thead><tbody>" + "\n".join(rows)
                  + "</tbody></table>")
        shown = _gallery(r, out, GALLERY_PER_RUN) if gallery else []
        figs = "".join(f'<figure><img src="../{esc(g["src"])}" alt="{esc(str(g["prompt"]))}" loading="lazy">'
                       f'<figcaption>{esc(str(g["prompt"]))} <span class="meta">seed {esc(str(g["seed"]))}</span>'
                       "</figcaption></figure>" for g in shown)
        page = [f'<p><a href="../index.html">← leaderboard</a></p><h1>{esc(r["model"])}</h1>',
                f'<div class="meta">run {esc(r["run_id"])} · suite {esc(suite_name)} · {r["items_ok"]} videos'
                f' · seeds {esc(", ".join(map(str, r["seeds"][:20])))}{" …" if len(r["seeds"]) > 20 else ""}</div>',
                "<h2>Per prompt (mean over samples)</h2>", ptable,
                f"<h2>Videos ({len(shown)} shown)</h2><div class=\"gallery\">{figs}</div>"]
        atomic_write_text(out / "runs" / f"{r['run_id']}.html",
                          _page(f"{r['model']} · {title}", "\n".join(page), None, None))

    # ---- exports
    import pandas as pd

    recs = []
    for r in runs:
        # "model" is the run's label (model with its arguments, or --label), beside its run id
        rec = {"model": r["model"], "run_id": r["run_id"], "source": "measured", "videos": r["items_ok"],
               "failed": r["items_failed"]}
        if sch and r.get("scheme"):
            for k in scheme_keys:
                if r["scheme_complete"][k]:
                    rec[k] = 100 * r["scheme"][k]
                    notes = r["scheme_notes"][k]
                    rec[f"{k} flags"] = "; ".join(
                        ([f"not vbench-exact: {', '.join(notes['not_exact'])}"] if notes["not_exact"] else [])
                        + ([f"flagged dimensions: {', '.join(notes['flagged'])}"] if notes["flagged"] else []))
        for c in columns:
            col = r["columns"].get(c)
            rec[c] = col["value"] if col else None
            rec[f"{c} ci_low"] = col["ci"][0] if col and col["ci"] else None
            rec[f"{c} ci_high"] = col["ci"][1] if col and col["ci"] else None
            # what travels with the number (not verified, user-supplied or random weights, an old revision, ...)
            rec[f"{c} flags"] = "; ".join(col.get("flags") or []) if col else None
        recs.append(rec)
    for p in pub_rows:
        rec = {"model": p.model, "run_id": None, "source": _published_label(p),
               "videos": None, "note": "; ".join(p.inconsistent + p.unchecked) or None}
        rec.update({k: p.published.get(k) for k in scheme_keys})
        recs.append(rec)
    with atomic_path(out / "leaderboard.csv") as tmp:
        safe_frame(pd.DataFrame(recs)).to_csv(tmp, index=False)
    md = ["| model | run | source | " + " | ".join([*(k for k in scheme_keys if show_scheme), *columns]) + " |",
          "|" + " --- |" * (3 + (len(scheme_keys) if show_scheme else 0) + len(columns))]

    def md_esc(s: str) -> str:
        return printable(s).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")

    for r in runs:
        cells = [md_esc(r["model"]), md_esc(r["run_id"]),
                 "measured" + (f" ({r['items_failed']} failed)" if r["items_failed"] else "")]
        if show_scheme:
            ok, notes = r.get("scheme_complete") or {}, r.get("scheme_notes") or {}
            cells += [_fmt(100 * r["scheme"][k], [100 * x for x in r["scheme_ci"][k]] if r.get("scheme_ci") else None)
                      + (" [style]" if notes[k]["not_exact"] else "") + (" [!]" if notes[k]["flagged"] else "")
                      if ok.get(k) else "–" for k in scheme_keys]
        cells += [(_fmt(r["columns"][c]["value"], r["columns"][c]["ci"])
                   + (" [!]" if r["columns"][c].get("flags") else "")) if c in r["columns"] else "–" for c in columns]
        md.append("| " + " | ".join(cells) + " |")
    for p in pub_rows:
        cells = [md_esc(p.model), "–", _published_label(p)]
        if show_scheme:
            cells += [f"{p.published[k]:.2f}" if k in p.published else "–" for k in scheme_keys]
        cells += ["–"] * len(columns)
        md.append("| " + " | ".join(cells) + " |")
    md += ["", f"± 95% interval half-width: {INTERVAL_NOTE}."]
    if choices:
        md += ["", f"The {sch.name} scores use one result per dimension: " + "; ".join(md_esc(c) for c in choices)
               + "."]
    marked = any(n["not_exact"] or n["flagged"] for r in runs for n in (r.get("scheme_notes") or {}).values())
    if show_scheme and marked:
        md += ["", f"On a {sch.name} score: [style] some of its dimensions are not vbench-exact (not "
                   "VBench-comparable); [!] some of its dimensions carry flags (see their columns)."]
    if flags:  # the footnotes of the [!] marks, as on the site
        md += ["", *(f"[!] {md_esc(f)}  " for f in flags)]
    atomic_write_text(out / "leaderboard.md", "\n".join(md) + "\n")
    warnings = [f"{r['model']} ({r['run_id']}): scheme {sch.name} uses {len(sch.dimensions)} dimensions, this run "
                f"has {len(sch.dimensions) - len(r['scheme_missing'])}; its {sch.total_name} is not computed "
                f"(missing: {', '.join(r['scheme_missing'])})"
                + "".join(f"; its {k} score is shown (all of its dimensions are there)"
                          for k, ok in r["scheme_complete"].items() if ok)
                for r in runs if sch and r.get("scheme_missing")]
    warnings += choices
    return {"index": str(out / "index.html"), "csv": str(out / "leaderboard.csv"),
            "markdown": str(out / "leaderboard.md"), "rows": len(runs), "published_rows": len(pub_rows),
            "columns": columns, "runs": [r["run_id"] for r in runs], "warnings": warnings}
