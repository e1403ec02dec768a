"""Run vgbench the way a user does (``bench.evaluate.evaluate`` with ``weights=``) on golden clips and read back
every item's stored value, weight and details (items of weight 0 included)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path


def evaluate_clips(specs: list[str], clips: dict[str, Path], weights: dict[str, Path], folder: Path,
                   prompt: str = "a person is riding a bike", aux: dict | None = None,
                   references: dict[str, Path] | None = None) -> dict[str, dict]:
    """Score ``clips`` (name → file) with metric ``specs`` (paired metrics against ``references``, name → file);
    returns ``{spec: {clip: {value, weight, extra}}}`` and, under ``"_results"``, each spec's
    :class:`~vgbench.metrics.base.MetricResult`."""
    from vgbench.bench.config import EvalConfig
    from vgbench.bench.evaluate import evaluate
    from vgbench.bench.store import ResultsStore

    videos = folder / "videos"
    videos.mkdir(parents=True, exist_ok=True)
    items = []
    for name, path in clips.items():
        shutil.copy(path, videos / f"{name}.mp4")
        items.append({"file": f"{name}.mp4", "prompt": prompt, "prompt_id": name, "aux": aux or {}})
    (videos / "manifest.json").write_text(json.dumps({"items": items}))
    refdir = None
    if references:
        refdir = folder / "references"
        refdir.mkdir(parents=True, exist_ok=True)
        for name, path in references.items():
            shutil.copy(path, refdir / f"{name}.mp4")
        (refdir / "manifest.json").write_text(json.dumps(
            {"items": [{"file": f"{n}.mp4", "prompt_id": n} for n in references]}))
    db = folder / "golden.sqlite"
    report = evaluate(EvalConfig(videos=videos, metrics=specs, reference=refdir, db=db, progress=False,
                                 weights=weights))
    out: dict[str, dict] = {"_results": report.results}
    with ResultsStore(db) as store:
        df = store.dataframe("item_metrics")
    for spec, res in report.results.items():
        rows = df[df["protocol"] == res.protocol]
        out[spec] = {r["item_key"][:-4]: {"value": r["value"], "weight": r["weight"], "status": r["status"],
                                          "error": r["error"], "extra": json.loads(r["extra_json"] or "{}")}
                     for _, r in rows.iterrows()}
    return out
