"""Paired comparison of two runs and the regression gate (``vgbench compare BASE CANDIDATE``).

For every per-item metric protocol both runs were scored with, the per-prompt means are compared
(:func:`vgbench.leaderboards.statistics.paired_comparison`): delta ``candidate − base`` with a bootstrap 95 % interval over
prompts, a sign-flip permutation p-value, the effect size d_z, and Holm-adjusted p-values across the metrics.
Distribution metrics (FVD, KVD, ...) have no per-item values: their set values and engine intervals are shown, and
they are not tested.

The comparison is refused, saying why, when the runs cannot be compared: different prompt suites (by content hash),
no protocol in common, or the same protocol computed with different weights (by SHA-256) or against different
references. A protocol scored in different **revisions** (``fvd/videogpt`` before a fix, ``fvd/videogpt@rev=2``
after it) is never compared: it is listed under ``not_compared`` with the reason, and asking for it with
``--metrics`` is refused.

A metric **regresses** when the candidate is worse (direction from ``higher_is_better``), the Holm-adjusted p-value
is below ``alpha`` and ``|delta|`` exceeds the metric's tolerance (default 0). ``--fail-on-regression`` turns any
regression into exit code 6.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vgbench.bench.errors import ConfigError
from vgbench.bench.store import ResultsStore, run_label
from vgbench.leaderboards.statistics import Comparison, holm, paired_comparison
from vgbench.metrics.intervals import numerical_resolution, value_dtype
from vgbench.metrics.protocol_id import split_revision


@dataclass
class MetricComparison:
    protocol: str
    reference: str
    higher_is_better: bool
    comparison: Comparison | None
    p_adjusted: float = math.nan
    tolerance: float = 0.0
    regression: bool = False
    improvement: bool = False
    set_level: dict[str, Any] | None = None  # distribution metrics: {"base": ..., "candidate": ...}
    resolution: float = 0.0  # numerical resolution of the difference (metrics.intervals.numerical_resolution)
    tie: bool = False  # |delta| <= resolution: rounding, not an effect (no effect size, never a regression)

    def to_dict(self) -> dict[str, Any]:
        d = {"protocol": self.protocol, "reference": self.reference or None, "higher_is_better": self.higher_is_better,
             "tolerance": self.tolerance, "regression": self.regression, "improvement": self.improvement,
             "tie": self.tie, "numerical_resolution": self.resolution}
        if self.comparison is not None:
            d.update(self.comparison.to_dict())
            d["p_holm"] = self.p_adjusted
            if self.tie:
                d["effect_size_dz"] = None
        if self.set_level is not None:
            d["set_level"] = self.set_level
        return d


@dataclass
class CompareReport:
    base: dict[str, Any]
    candidate: dict[str, Any]
    alpha: float
    metrics: list[MetricComparison] = field(default_factory=list)
    #: protocols scored by both runs but not comparable (different revisions), with the reason
    not_compared: list[str] = field(default_factory=list)
    #: protocols compared in a revision older than the current one (both runs predate a fix)
    warnings: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[MetricComparison]:
        return [m for m in self.metrics if m.regression]

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base, "candidate": self.candidate, "alpha": self.alpha,
                "metrics": [m.to_dict() for m in self.metrics], "not_compared": list(self.not_compared),
                "warnings": list(self.warnings),
                "regressions": [m.protocol for m in self.regressions], "passed": not self.regressions}


def resolve_run(store: ResultsStore, spec: str) -> dict[str, Any]:
    """A run by run folder path (its ``run.json``), or as :meth:`ResultsStore.resolve_runs` resolves a name (id,
    unique id prefix, label, unique model name); the runs-table row with its ``label``."""
    p = Path(spec)
    if (p / "run.json").is_file():
        spec = json.loads((p / "run.json").read_text(encoding="utf-8"))["run_id"]
    (run_id,) = store.resolve_runs([spec])
    row = next(r for r in store.runs() if r["run_id"] == run_id)
    return dict(row) | {"label": run_label(row)}


def _items(store: ResultsStore, run_id: str):
    df = store.dataframe("item_metrics", [run_id])
    df = df[df["status"] == "ok"].copy()
    df["prompt_key"] = df["prompt_id"].fillna(df["item_key"].str.replace(r"\.[^./]+$", "", regex=True))
    return df


def _directions(store: ResultsStore, run_ids: list[str]) -> dict[str, bool]:
    out = {}
    for s in store.set_metrics(run_ids):
        out[s["protocol"]] = bool(json.loads(s["result_json"]).get("higher_is_better", True))
    return out


def compare_runs(store: ResultsStore, base: str, candidate: str, metrics: list[str] | None = None,
                 tolerances: dict[str, float] | None = None, alpha: float = 0.05, seed: int = 0,
                 n_boot: int = 2000) -> CompareReport:
    """Compare ``candidate`` against ``base`` (see the module docstring). ``metrics``: names or protocol ids to
    restrict to; ``tolerances``: name or protocol id → allowed worsening in the metric's units."""
    tolerances = tolerances or {}
    b, c = resolve_run(store, base), resolve_run(store, candidate)
    if b["run_id"] == c["run_id"]:
        raise ConfigError("base and candidate are the same run")
    if (b["suite_sha256"] or c["suite_sha256"]) and b["suite_sha256"] != c["suite_sha256"]:
        raise ConfigError(f"the runs used different prompt suites: base {b['suite']} (sha256 "
                          f"{(b['suite_sha256'] or '-')[:12]}) vs candidate {c['suite']} "
                          f"(sha256 {(c['suite_sha256'] or '-')[:12]}); compare runs of the same suite")
    bi, ci = _items(store, b["run_id"]), _items(store, c["run_id"])
    keys_b = set(zip(bi["protocol"], bi["reference"]))
    keys_c = set(zip(ci["protocol"], ci["reference"]))
    sets_b = {(s["protocol"], s["reference"]): s for s in store.set_metrics([b["run_id"]])}
    sets_c = {(s["protocol"], s["reference"]): s for s in store.set_metrics([c["run_id"]])}
    dist_b = {k for k in sets_b if k not in keys_b and json.loads(sets_b[k]["result_json"])["kind"] == "distribution"}
    dist_c = {k for k in sets_c if k not in keys_c and json.loads(sets_c[k]["result_json"])["kind"] == "distribution"}

    def matches(protocol: str, m: str) -> bool:  # a name, a protocol id, or a protocol id of another revision
        return protocol == m or split_revision(protocol)[0] == split_revision(m)[0] or protocol.split("/")[0] == m

    def wanted(protocol: str) -> bool:
        return not metrics or any(matches(protocol, m) for m in metrics)

    _check_names(metrics, tolerances, {p for p, _ in keys_b | keys_c | dist_b | dist_c}, matches)
    common = sorted(k for k in keys_b & keys_c if wanted(k[0]))
    common_dist = sorted(k for k in dist_b & dist_c if wanted(k[0]))
    revision_gaps = _revision_gaps({p for p, _ in keys_b | dist_b if wanted(p)},
                                   {p for p, _ in keys_c | dist_c if wanted(p)})
    if metrics:
        for m in metrics:
            pb = sorted({p for p, _ in keys_b | dist_b if matches(p, m)})
            pc = sorted({p for p, _ in keys_c | dist_c if matches(p, m)})
            if not pb or not pc:
                raise ConfigError(f"metric {m!r}: base has {pb or 'no scores'}, candidate has {pc or 'no scores'}")
            if not set(pb) & set(pc):
                gaps = [g for g in revision_gaps if any(split_revision(p)[0] == g.split(":")[0] for p in pb)]
                raise ConfigError("; ".join(gaps) if gaps else
                                  f"metric {m!r} was computed with different protocols: base {pb}, candidate {pc}; "
                                  "protocols are never compared with each other")
    if not common and not common_dist:
        raise ConfigError(f"no metric protocol in common: base has {sorted(p for p, _ in keys_b | dist_b)}, "
                          f"candidate has {sorted(p for p, _ in keys_c | dist_c)}"
                          + ("; " + "; ".join(revision_gaps) if revision_gaps else ""))
    for protocol, ref in common:
        wb = set(bi[(bi["protocol"] == protocol) & (bi["reference"] == ref)]["weights_sha256"].dropna())
        wc = set(ci[(ci["protocol"] == protocol) & (ci["reference"] == ref)]["weights_sha256"].dropna())
        if wb != wc:
            raise ConfigError(f"{protocol}: the runs were scored with different weights (base "
                              f"{sorted(x[:16] for x in wb)}, candidate {sorted(x[:16] for x in wc)}); "
                              "re-evaluate one of them with the other's weights")
    directions = _directions(store, [b["run_id"], c["run_id"]])
    report = CompareReport({k: b[k] for k in ("run_id", "suite")} | {"model": b["label"]},
                           {k: c[k] for k in ("run_id", "suite")} | {"model": c["label"]}, alpha,
                           not_compared=revision_gaps,
                           warnings=_stale_revisions([p for p, _ in common] + [p for p, _ in common_dist]))
    for protocol, ref in common:
        sb = bi[(bi["protocol"] == protocol) & (bi["reference"] == ref)]
        sc = ci[(ci["protocol"] == protocol) & (ci["reference"] == ref)]
        cmp = paired_comparison(sb["value"].to_numpy(), sb["prompt_key"].to_numpy(), sc["value"].to_numpy(),
                                sc["prompt_key"].to_numpy(), n_boot=n_boot, seed=seed)
        tol = tolerances.get(protocol, tolerances.get(split_revision(protocol)[0],
                                                      tolerances.get(protocol.split("/")[0], 0.0)))
        res = numerical_resolution(max(abs(cmp.base_mean), abs(cmp.candidate_mean)) if cmp.n_prompts else 0.0,
                                   len(sb) + len(sc), value_dtype(json.loads(sets_b[(protocol, ref)]["result_json"])
                                                              if (protocol, ref) in sets_b else {}))
        report.metrics.append(MetricComparison(protocol, ref, directions.get(protocol, True), cmp, tolerance=tol,
                                               resolution=res, tie=bool(abs(cmp.delta) <= res)))
    for m in report.metrics:  # a sign-flip test over n prompts cannot go below p = 2 / 2^n
        n = m.comparison.n_prompts
        if 0 < n <= 16 and 2.0 / 2 ** n > alpha:
            report.warnings.append(f"{m.protocol}: {n} common prompts: the smallest p-value a sign-flip test can "
                                   f"give is 2/2^{n} = {2.0 / 2 ** n:.3g} > alpha {alpha:g}, so no change can be "
                                   f"significant and the gate cannot fail; compare on at least "
                                   f"{math.ceil(math.log2(2 / alpha))} prompts")
    adjusted = holm([m.comparison.p_value for m in report.metrics])
    for m, p in zip(report.metrics, adjusted):
        m.p_adjusted = p
        d = m.comparison.delta
        worse = d < 0 if m.higher_is_better else d > 0
        significant = not math.isnan(p) and p < alpha and not m.tie
        m.regression = bool(significant and worse and abs(d) > m.tolerance)
        m.improvement = bool(significant and not worse and d != 0)
    for protocol, ref in common_dist:
        rb, rc = json.loads(sets_b[(protocol, ref)]["result_json"]), json.loads(sets_c[(protocol, ref)]["result_json"])
        report.metrics.append(MetricComparison(
            protocol, ref, bool(rb.get("higher_is_better")), None,
            set_level={"base": rb["value"], "base_ci95": rb.get("ci95"), "candidate": rc["value"],
                       "candidate_ci95": rc.get("ci95"), "note": "set-level metric: shown, not tested"}))
    return report


def _check_names(metrics: list[str] | None, tolerances: dict[str, float], protocols: set[str], matches) -> None:
    """A name in ``--metrics`` that is no metric at all, or a ``--tolerance`` name neither run scored (it would never
    apply), is a typo, never silently ignored: a usage error listing the valid names (and the closest one).

    Raises:
        UsageError: an unknown name.
    """
    import difflib

    from vgbench.bench.errors import UsageError

    from vgbench.metrics.registry import METRICS

    valid = sorted({p.split("/")[0] for p in protocols} | {split_revision(p)[0] for p in protocols})
    for option, names in (("--metrics", metrics or []), ("--tolerance", list(tolerances))):
        for name in names:
            if option == "--metrics" and name.split("/")[0] in METRICS:
                continue  # a real metric one of the runs lacks: the comparison says which run has what
            if not any(matches(p, name) for p in protocols):
                close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
                raise UsageError(f"{option}: no metric {name!r} in these runs"
                                 + (f" (did you mean {close[0]!r}?)" if close else "")
                                 + f"; the runs have: {', '.join(valid)}")


def _revision_gaps(base: set[str], candidate: set[str]) -> list[str]:
    """Messages for protocols both runs scored, but in different revisions (never compared)."""
    from vgbench.metrics.registry import revision_status

    def by_base(ids):
        out: dict[str, set[int]] = {}
        for p in ids:
            b, rev = split_revision(p)
            out.setdefault(b, set()).add(rev)
        return out

    rb, rc = by_base(base), by_base(candidate)
    gaps = []
    for b in sorted(set(rb) & set(rc)):
        if rb[b] & rc[b]:
            continue
        _, current, note = revision_status(b)
        gaps.append(f"{b}: base was scored with revision {'/'.join(map(str, sorted(rb[b])))}, candidate with "
                    f"revision {'/'.join(map(str, sorted(rc[b])))}; values of different revisions are never compared"
                    + (f" (current: {note})" if note else f" (current revision {current})")
                    + "; re-evaluate the older run with this vgbench")
    return gaps


def _stale_revisions(protocols: list[str]) -> list[str]:
    """Messages for protocols both runs share in a revision older than the current one."""
    from vgbench.metrics.registry import revision_status

    out = []
    for p in sorted(set(protocols)):
        rev, current, note = revision_status(p)
        if rev < current:
            out.append(f"{p}: both runs were scored with revision {rev}, before a fix ({note}); the comparison is "
                       f"between two revision-{rev} values, not comparable with published or current ones: "
                       "re-evaluate both runs")
    return out


def format_report(report: CompareReport) -> str:
    import pandas as pd

    rows = []
    for m in report.metrics:
        arrow = "↑" if m.higher_is_better else "↓"
        if m.comparison is None:
            s = m.set_level
            rows.append({"metric": f"{m.protocol} {arrow}", "base": f"{s['base']:.4g}", "candidate": f"{s['candidate']:.4g}",
                         "delta [95% CI]": f"{s['candidate'] - s['base']:+.4g} (set level)", "p (Holm)": "-",
                         "d_z": "-", "prompts": "-", "verdict": "not tested"})
            continue
        c = m.comparison
        verdict = "REGRESSION" if m.regression else ("improved" if m.improvement else "no significant change")
        if not m.regression and not m.improvement and not math.isnan(m.p_adjusted) and m.p_adjusted < report.alpha \
                and not m.tie:
            verdict = f"worse within tolerance {m.tolerance:g}"
        if m.tie:
            verdict = f"tie (|delta| <= numerical resolution {m.resolution:.1g})"
        rows.append({"metric": f"{m.protocol} {arrow}", "base": f"{c.base_mean:.4g}", "candidate": f"{c.candidate_mean:.4g}",
                     "delta [95% CI]": f"{c.delta:+.4g} [{c.low:+.4g}, {c.high:+.4g}]",
                     "p (Holm)": f"{c.p_value:.3g} ({m.p_adjusted:.3g})",
                     "d_z": "-" if m.tie else f"{c.effect_size:+.2f}", "prompts": c.n_prompts, "verdict": verdict})
    head = (f"base {report.base['model']} ({report.base['run_id']}) vs candidate {report.candidate['model']} "
            f"({report.candidate['run_id']}), suite {report.base['suite']}, alpha {report.alpha}")
    table = pd.DataFrame(rows).to_string(index=False) if rows else "(no metrics)"
    tail = ("gate: FAIL: " + ", ".join(m.protocol for m in report.regressions) + " regressed"
            if report.regressions else "gate: pass (no significant regression)")
    skipped = "".join(f"\nnot compared: {g}" for g in report.not_compared)
    skipped += "".join(f"\nwarning: {w}" for w in report.warnings)
    return f"{head}\n{table}{skipped}\n{tail}"
