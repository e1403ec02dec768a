"""The ``vgbench`` command line. Thin: every command builds the same typed objects the Python API uses.

Exit codes: 0 success · 1 internal error · 2 usage error · 3 input error (missing/invalid file, unknown name) ·
4 completed but some items failed · 5 integrity check found problems · 6 regression gate failed.
"""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from vgbench import __version__
from vgbench.bench import settings
from vgbench.bench.errors import (EXIT_CHECK_FAILED, EXIT_REGRESSION, EXIT_INTERNAL, EXIT_ITEMS_FAILED, EXIT_OK, EXIT_USAGE,
                          ConfigError, UsageError, VgbenchError)

EPILOG = textwrap.dedent("""\
    exit codes: 0 success, 1 internal error, 2 usage error, 3 input error (missing or invalid file, unknown name),
                4 completed but some items failed (listed on stderr and in the results), 5 integrity problems found,
                6 regression gate failed (compare --fail-on-regression)
    Run `vgbench COMMAND --help` for a command's options.
    environment variables:
""") + "\n".join(f"  {k}: {v}" for k, v in settings.VARIABLES.items())


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _emit_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=1, default=_json_default, allow_nan=True)
    sys.stdout.write("\n")


def _json_default(o):
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
        if w < 1 or h < 1:
            raise ValueError
        return w, h
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 256x256, not {text!r}") from None


def _parse_kv(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for it in items or []:
        k, sep, v = it.partition("=")
        if not sep or not k:
            raise UsageError(f"--model-arg must be key=value, not {it!r}")
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


# ---------------------------------------------------------------------------------------------------- run / generate
def _add_generation_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="generator: shapes, static, noise, replay:DIR, folder:DIR "
                                                  "(see `vgbench models list`)")
    p.add_argument("--suite", required=True, help="built-in suite name (smoke, shapes) or a suite file (.yaml/.jsonl)")
    p.add_argument("--samples", type=int, help="videos per prompt (default: the suite's)")
    p.add_argument("--seed", type=int, default=0, help="base seed; sample i of each prompt uses seed+i (default 0)")
    p.add_argument("--frames", type=int, help="frames per video (default: the model's reference setting)")
    p.add_argument("--fps", type=float, help="frames per second (default: the model's)")
    p.add_argument("--size", type=_parse_size, help="WIDTHxHEIGHT (default: the model's)")
    p.add_argument("--out", default="vgbench-out", help="output folder for run folders and vgbench.sqlite "
                                                        "(default ./vgbench-out)")
    p.add_argument("--quality", default="lossless", choices=["lossless", "near_lossless", "high"],
                   help="video encoding: lossless (exact frames, default), near_lossless (YUV 4:4:4 qp0), "
                        "high (4:2:0 crf17, browser-friendly)")
    p.add_argument("--model-arg", action="append", metavar="KEY=VALUE", help="generator option (repeatable)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout (messages go to stderr)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _config_from(args) -> "Any":
    from vgbench.bench.runs import RunConfig

    w, h = args.size if args.size else (None, None)
    metrics = tuple(getattr(args, "metric_list", None) or ())
    return RunConfig(model=args.model, suite=args.suite, samples=args.samples, seed=args.seed, frames=args.frames,
                     fps=args.fps, width=w, height=h, out=args.out, metrics=metrics, quality=args.quality,
                     model_args=_parse_kv(args.model_arg), weights=_parse_weights(getattr(args, "weights", None)))


def _parse_weights(items: list[str] | None) -> dict[str, str]:
    """``--weights NAME=PATH`` (repeatable) → ``{NAME: PATH}`` (checked against the registry when loading)."""
    out: dict[str, str] = {}
    for it in items or []:
        name, sep, path = it.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise UsageError(f"--weights takes NAME=PATH (a weights or backbone name from `vgbench weights list`), "
                             f"not {it!r}")
        name, path = name.strip(), path.strip()
        if name in out and out[name] != path:
            raise UsageError(f"--weights {name} is given twice with different files ({out[name]}, {path})")
        out[name] = path
    return out


_WEIGHTS_HELP = ("use this weights file for backbone/weights NAME (repeatable; names in `vgbench weights list`): a "
                 "converted or fine-tuned checkpoint is used if it loads strictly into the official layout, its "
                 "SHA-256 is recorded and every result is flagged 'user-supplied weights: not comparable with "
                 "published values' (no flag when it is the official file)")


def _generate(args):
    from vgbench.bench.runs import execute_run, plan_run

    plan = plan_run(_config_from(args))
    report = execute_run(plan, progress=not args.no_progress)
    name = plan.settings["model_id"]
    if report.generated == 0 and not report.failed:
        _say(f"{name}: nothing to generate: all {report.skipped} videos already exist in {plan.run_dir}")
    else:
        _say(f"{name}: generated {report.generated} videos, {report.skipped} already there, "
             f"{len(report.failed)} failed ({report.seconds:.1f} s) → {plan.run_dir}")
    for f in report.failed:
        _say(f"  FAILED item {f['item']} (prompt {f['prompt_id']}, sample {f['sample_index']}): {f['error']}")
    return plan, report


def _report_eval(report, label: str) -> None:
    if report.scores_computed == 0 and report.scores_cached:
        _say(f"{label}: all {report.scores_cached} scores taken from the results store (nothing recomputed)")
    else:
        _say(f"{label}: computed {report.scores_computed} scores ({report.items_decoded} videos decoded), "
             f"{report.scores_cached} from the results store")
    if getattr(report, "scores_skipped", 0):
        _say(f"{label}: {report.scores_skipped} (video, dimension) pair(s) not scored: the prompt does not serve "
             "that dimension")
    stats = report.feature_cache.stats() if getattr(report, "feature_cache", None) is not None else {}
    if stats.get("features_extracted") or stats.get("features_cached"):
        _say(f"{label}: features extracted for {stats['features_extracted']} video(s) × extractor, "
             f"{stats['features_cached']} taken from the feature cache")
    for f in report.failures:
        _say(f"  FAILED {f['path'] or f['item']}: {'; '.join(f['errors'])}")


def cmd_generate(args) -> int:
    plan, report = _generate(args)
    if args.json:
        _emit_json({"run_id": plan.run_id, "run_dir": str(plan.run_dir), "generated": report.generated,
                    "skipped": report.skipped, "failed": report.failed})
    return EXIT_ITEMS_FAILED if report.failed else EXIT_OK


def cmd_run(args) -> int:
    from vgbench.bench.evaluate import evaluate
    from vgbench.leaderboards.summary import format_summary, summary_rows
    from vgbench.metrics.registry import create_metric, parse_metric_list

    from vgbench.metrics.backbones.registry import UserWeights

    specs = parse_metric_list(args.metrics)
    paired = [s for s in specs if create_metric(s).needs_reference]
    if paired:
        raise UsageError(f"`vgbench run` scores no-reference metrics; for {', '.join(paired)} use "
                         "`vgbench evaluate RUN_DIR --reference DIR`")
    # --weights names and files are checked before anything is generated (generation can take hours)
    UserWeights(_parse_weights(args.weights)).check_needed([create_metric(s) for s in specs])
    plan, report = _generate(args)
    ev = evaluate(plan.run_dir, specs, db=plan.db_path, progress=not args.no_progress, weights=plan.config.weights)
    _report_eval(ev, plan.settings["model_id"])
    if args.json:
        _emit_json({"run_id": plan.run_id, "run_dir": str(plan.run_dir), "generated": report.generated,
                    "skipped": report.skipped, "failed_generation": report.failed, **ev.to_dict()})
    else:
        from vgbench.bench.store import ResultsStore

        with ResultsStore(plan.db_path) as store:
            print(format_summary(summary_rows(store, [plan.run_id])))
    return EXIT_ITEMS_FAILED if report.failed or ev.failures else EXIT_OK


# ------------------------------------------------------------------------------------------------------- evaluate
def cmd_evaluate(args) -> int:
    from vgbench.bench.evaluate import evaluate
    from vgbench.metrics.registry import parse_metric_list

    specs = parse_metric_list(args.metrics) if args.metrics else []
    if args.dimensions:
        from vgbench.metrics.vbench.dimensions import dimension_specs

        specs += [d for d in dimension_specs(args.dimensions) if d not in specs]
    if not specs:
        raise UsageError("give --metrics and/or --dimensions")
    report = evaluate(args.videos, specs, reference=args.reference, db=args.db, progress=not args.no_progress,
                      feature_cache=args.feature_cache, allow_random_weights=args.allow_random_weights or None,
                      weights=_parse_weights(args.weights))
    _report_eval(report, str(args.videos))
    if args.json:
        d = report.to_dict()
        if not args.per_item:
            for m in d["metrics"].values():
                m.pop("per_item", None)
        _emit_json(d)
    else:
        for spec, r in report.results.items():
            ci = f"  95% CI [{r.ci95[0]:.6g}, {r.ci95[1]:.6g}]" if r.ci95 else ""
            fail = f"  ({r.n_failed} failed)" if r.n_failed else ""
            print(f"{spec:<24} {r.value:.6g}{(' ' + r.unit) if r.unit else ''}{ci}  n={r.n_items}{fail}  "
                  f"[{r.protocol}]")
            inf = r.details.get("fvd_infinity")
            if inf:
                print(f"{'':<24} FVD∞ {inf['value']:.6g} (fit over N = {inf['sizes'][0]}..{inf['sizes'][-1]})")
            if r.backbone:
                shas = ", ".join(x[:16] for x in str(r.weights_sha256).split("+"))
                print(f"{'':<24} backbone {r.backbone}, weights {shas}")
            for flag in r.flags:
                print(f"{'':<24} ! {flag}")
    return EXIT_ITEMS_FAILED if report.failures else EXIT_OK


# ---------------------------------------------------------------------------------------------------------- check
def cmd_check(args) -> int:
    from vgbench.prompts import load_suite
    from vgbench.reference_models.folder import check_folder

    suite = load_suite(args.suite) if args.suite else None
    folder = Path(args.folder)
    if (folder / "run.json").is_file():
        folder = folder / "videos"
    rep = check_folder(folder, suite, args.samples, args.frames, args.fps, args.size, progress=not args.no_progress)
    if args.json:
        _emit_json(rep.to_dict())
    else:
        status = "OK" if rep.ok else f"{len(rep.problems)} problem(s)"
        print(f"{rep.folder}: {rep.checked} videos checked, expected {rep.expected}: {status}")
        for p in rep.problems:
            print(f"  {p['kind']:<9} {p['file']}: {p['detail']}")
        for n in rep.notes:
            print(f"  {'info':<9} {n['file']}: {n['detail']}")
    return EXIT_OK if rep.ok else EXIT_CHECK_FAILED


# -------------------------------------------------------------------------------------------------------- prompts
def cmd_prompts(args) -> int:
    from vgbench.prompts import dump_suite_yaml, list_builtin_suites, load_suite

    if args.prompts_cmd == "list":
        rows = []
        for name in list_builtin_suites():
            s = load_suite(name)
            rows.append({"name": s.name, "version": s.version, "prompts": len(s.prompts),
                         "samples_per_prompt": s.samples_per_prompt, "description": s.description})
        if args.json:
            _emit_json(rows)
        else:
            for r in rows:
                print(f"{r['name']:<10} v{r['version']:<4} {r['prompts']:>4} prompts × {r['samples_per_prompt']} "
                      f"samples  {r['description'].splitlines()[0] if r['description'] else ''}")
        return EXIT_OK
    if args.prompts_cmd == "show":
        s = load_suite(args.suite)
        if args.json:
            _emit_json({"name": s.name, "version": s.version, "sha256": s.sha256, "source": s.source,
                        "samples_per_prompt": s.samples_per_prompt, "prompts": [p.to_dict() for p in s.prompts]})
        else:
            print(f"{s.name} v{s.version} ({len(s.prompts)} prompts, {s.samples_per_prompt} samples each; sha256 "
                  f"{s.sha256[:12]}; {s.source})")
            for p in s.prompts:
                extra = f"  [{', '.join(p.dimensions)}]" if p.dimensions else ""
                print(f"  {p.id:<40} {p.text}{extra}")
        return EXIT_OK
    # import
    from vgbench.prompts.importers import import_prompt_list, import_vbench_full_info

    if args.format == "vbench":
        suite = import_vbench_full_info(args.file, name=args.name or "vbench")
    else:
        suite = import_prompt_list(args.file, name=args.name, samples_per_prompt=args.samples or 1)
    text = dump_suite_yaml(suite)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        _say(f"wrote {len(suite.prompts)} prompts to {args.output} (suite {suite.name!r})")
    else:
        sys.stdout.write(text)
    return EXIT_OK


# --------------------------------------------------------------------------------------------------- models/metrics
def cmd_models(args) -> int:
    from vgbench.reference_models.registry import describe, model_names

    names = [args.name] if args.models_cmd == "show" else model_names()
    rows = [describe(n) for n in names]
    if args.json:
        _emit_json(rows if args.models_cmd == "list" else rows[0])
        return EXIT_OK
    for r in rows:
        arg = f":{r['argument']}" if r["argument"] else ""
        caps = r.get("capabilities")
        print(f"{r['name'] + arg:<16} {r['summary']}")
        if caps:
            print(f"{'':16} tasks {','.join(caps['tasks'])}; defaults {caps['default_frames']} frames @ "
                  f"{caps['default_fps']:g} fps, {caps['default_width']}x{caps['default_height']}; frames "
                  f"{caps['frame_rule']}; weights {'needed' if caps['needs_weights'] else 'none'}; "
                  f"licence {caps['license']}; memory {caps['memory']}")
        if args.models_cmd == "show":
            from vgbench.reference_models.registry import get_entry

            doc = (get_entry(r["name"]).load().__module__)
            mod = sys.modules.get(doc)
            if mod is not None and mod.__doc__:
                print(textwrap.indent(mod.__doc__.strip(), "  "))
    return EXIT_OK


def cmd_metrics(args) -> int:
    from vgbench.metrics.registry import get_entry, metric_names

    from dataclasses import asdict

    from vgbench.metrics.parity import NOT_VERIFIED_FLAG, PARITY

    rows = []
    for n in metric_names():
        cls = get_entry(n).load()
        parity = {}
        for p in cls.protocols:
            rev = int(getattr(cls, "revisions", {}).get(p, 1))
            entry = PARITY.get(f"{n}/{p}")
            parity[p] = {"revision": rev, "protocol_id": f"{n}/{p}" + (f"@rev={rev}" if rev > 1 else ""),
                         "verified": asdict(entry) if entry and entry.revision == rev else None}
        rows.append({"name": n, "kind": cls.kind.value, "higher_is_better": cls.higher_is_better,
                     "protocols": dict(cls.protocols), "parity": parity, "needs_reference": cls.needs_reference,
                     "needs_prompt": getattr(cls, "needs_prompt", False),
                     "needs_download": get_entry(n).needs_download,
                     "options": {k: {"default": o.default, "help": o.help, "affects_result": o.affects_result}
                                 for k, o in getattr(cls, "options", {}).items()},
                     "summary": get_entry(n).summary})
    if args.json:
        _emit_json(rows)
    else:
        for r in rows:
            print(f"{r['name']:<22} {r['kind']:<9} {'↑' if r['higher_is_better'] else '↓'}  {r['summary']}")
            for p, d in r["protocols"].items():
                par = r["parity"][p]
                print(f"{'':22} {par['protocol_id']}: {d}")
                v = par["verified"]
                print(f"{'':26} " + (f"verified against {v['reference']} (golden tests/golden/{v['golden']}, measured "
                                      f"{v['measured']})" if v else NOT_VERIFIED_FLAG))
            for k, o in r["options"].items():
                default = "protocol default" if o["default"] is None else o["default"]
                print(f"{'':22} @{k}= {o['help']} [default: {default}]")
    return EXIT_OK


def cmd_results(args) -> int:
    from vgbench.bench.store import ResultsStore

    db = Path(args.db)
    if not db.exists():
        raise ConfigError(f"no results database at {db}; pass --db (it is <out>/vgbench.sqlite)")
    with ResultsStore(db) as store:
        dest = store.export(args.output, args.format, args.table, args.run)
        n = len(store.dataframe(args.table, args.run))
    _say(f"wrote {n} rows of {args.table} to {dest}")
    return EXIT_OK


# ------------------------------------------------------------------------------------------- compare / leaderboard
def _parse_tolerances(items: list[str] | None) -> dict[str, float]:
    out = {}
    for it in items or []:
        k, eq, v = it.partition("=")
        try:
            out[k.strip()] = float(v)
        except ValueError:
            eq = ""
        if not eq or not k.strip():
            raise UsageError(f"--tolerance {it!r}: use METRIC=VALUE, e.g. temporal_flickering=0.005")
    return out


def cmd_compare(args) -> int:
    from vgbench.bench.store import ResultsStore
    from vgbench.leaderboards.compare import compare_runs, format_report

    db = Path(args.db)
    if not db.exists():
        raise ConfigError(f"no results database at {db}; pass --db (it is <out>/vgbench.sqlite)")
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    with ResultsStore(db) as store:
        report = compare_runs(store, args.base, args.candidate, metrics, _parse_tolerances(args.tolerance),
                              alpha=args.alpha, seed=args.seed)
    if args.json:
        _emit_json(report.to_dict())
    else:
        print(format_report(report))
    if args.fail_on_regression and report.regressions:
        _say("regression gate failed: " + ", ".join(m.protocol for m in report.regressions))
        return EXIT_REGRESSION
    return EXIT_OK


def cmd_leaderboard(args) -> int:
    if args.leaderboard_cmd == "table":
        return _leaderboard_table(args)
    from vgbench.leaderboards.site import build_site

    result = build_site([Path(d) for d in args.db], Path(args.out), run_ids=args.run or None, suite=args.suite,
                        scheme=args.scheme, published=args.published, title=args.title,
                        gallery=not args.no_gallery)
    if args.json:
        _emit_json(result)
    else:
        _say(f"leaderboard: {result['rows']} run(s), {len(result['columns'])} metric column(s) → {result['index']}")
        _say(f"exports: {result['csv']}, {result['markdown']}")
    return EXIT_OK


def _leaderboard_table(args) -> int:
    from vgbench.bench.store import ResultsStore
    from vgbench.leaderboards import aggregate

    db = Path(args.db[0])
    if not db.exists():
        raise ConfigError(f"no results database at {db}")
    with ResultsStore(db) as store:
        fn = {"run": aggregate.per_run, "prompt": aggregate.per_prompt, "category": aggregate.per_category}[args.by]
        df = fn(store, args.run or None)
    if args.output:
        out = Path(args.output)
        if out.suffix == ".csv":
            df.to_csv(out, index=False)
        elif out.suffix == ".json":
            df.to_json(out, orient="records", indent=1)
        else:
            raise UsageError("--output must end in .csv or .json")
        _say(f"wrote {len(df)} rows to {out}")
    elif args.json:
        _emit_json(json.loads(df.to_json(orient="records")))
    else:
        print(df.to_string(index=False) if len(df) else "(no results)")
    return EXIT_OK


# ------------------------------------------------------------------------------------------------------- weights
def cmd_weights(args) -> int:
    from vgbench.metrics.backbones import weights as w
    from vgbench.metrics.backbones.registry import BACKBONES, WEIGHTS, get_weights_file

    names = args.names if getattr(args, "names", None) else sorted(WEIGHTS)
    files = [get_weights_file(n) for n in names]
    used_by = {n: [b.name for b in BACKBONES.values() if b.weights == n] + list(WEIGHTS[n].used_by) for n in WEIGHTS}
    if args.weights_cmd == "list":
        lock = w.read_lock()
        rows = []
        for wf in files:
            found = next(((str(p), how) for p, how in w.candidates(wf) if p.is_file()), (None, None))
            rows.append({"name": wf.name, "file": wf.filename, "urls": list(wf.urls), "trust": wf.trust,
                         "sha256": wf.sha256 or (lock.get(wf.name) or {}).get("sha256"),
                         "sha256_prefix": wf.sha256_prefix, "git_blob_sha1": wf.git_blob_sha1,
                         "license": wf.license, "source": wf.source, "used_by": used_by[wf.name],
                         "present": found[0], "found_via": found[1], "env_var": wf.env_var})
        if args.json:
            _emit_json({"cache": str(w.weights_dir()), "lock": str(w.lock_path()), "weights": rows})
        else:
            print(f"cache: {w.weights_dir()}   lock file: {w.lock_path()}")
            for r in rows:
                state = f"present ({r['found_via']}: {r['present']})" if r["present"] else "MISSING"
                print(f"{r['name']:<20} {r['file']:<40} {state}")
                print(f"{'':<20} verified by {r['trust']}; used by {', '.join(r['used_by'])}; licence {r['license']}")
        return EXIT_OK
    if args.weights_cmd == "path":
        for wf in files:
            print(w.weights_dir() / wf.filename)
        return EXIT_OK
    if args.weights_cmd == "fetch":
        out = []
        for wf in files:
            if args.file:
                rw = w.copy_into_cache(wf, args.file)
            else:
                rw = w.resolve(wf, download=True, progress=not args.no_progress)
            out.append(rw.to_dict())
            _say(f"{wf.name}: {rw.path} (SHA-256 {rw.sha256}, {rw.trust})")
        if args.json:
            _emit_json(out)
        return EXIT_OK
    # verify
    out, bad = [], 0
    for wf in files:
        try:
            rw = w.resolve(wf, download=False)
            out.append(rw.to_dict() | {"ok": True})
            _say(f"{wf.name}: OK {rw.path} ({rw.trust})")
        except w.WeightsMissingError:
            out.append({"name": wf.name, "ok": None, "error": "missing"})
            _say(f"{wf.name}: missing (see `vgbench weights list`)")
        except w.WeightsError as e:
            bad += 1
            out.append({"name": wf.name, "ok": False, "error": str(e)})
            _say(f"{wf.name}: FAILED {e}")
    if args.json:
        _emit_json(out)
    return EXIT_CHECK_FAILED if bad else EXIT_OK


def cmd_refstats(args) -> int:
    from vgbench.bench.distribution_eval import build_refstats, load_refstats

    if args.refstats_cmd == "build":
        info = build_refstats(args.videos, args.metric, args.output, args.feature_cache, not args.no_progress,
                              args.allow_random_weights or None, weights=_parse_weights(args.weights))
        if args.json:
            _emit_json(info)
        else:
            _say(f"wrote {info['file']}: {info['n_videos']} videos through {info['extractor']} "
                 f"({info['features_extracted']} extracted, {info['features_cached']} from the cache, "
                 f"{len(info['failed'])} failed)")
        return EXIT_ITEMS_FAILED if info["failed"] else EXIT_OK
    meta, feats = load_refstats(args.file)
    if args.json:
        _emit_json(meta)
    else:
        ex = meta["extractor"]
        print(f"{args.file}: {meta['n_videos']} videos ({meta['n_rows']} feature rows) from {meta['source']}")
        print(f"extractor {ex['extractor']} ({ex['cache_key']}), backbone {ex['backbone']}, weights "
              f"{ex['weights_sha256']}, built {meta['created']}")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------------- demo
def cmd_demo(args) -> int:
    from vgbench.bench.evaluate import evaluate
    from vgbench.bench.runs import RunConfig, execute_run, plan_run
    from vgbench.bench.store import ResultsStore
    from vgbench.leaderboards.summary import format_summary, summary_rows

    progress = not args.no_progress
    plans = {}
    failed = 0
    for model in ("shapes", "static", "noise"):
        plan = plan_run(RunConfig(model=model, suite=args.suite, out=args.out, samples=args.samples))
        report = execute_run(plan, progress=progress)
        if report.generated == 0 and not report.failed:
            _say(f"{model}: nothing to generate: all {report.skipped} videos already exist ({plan.run_dir})")
        else:
            _say(f"{model}: generated {report.generated} videos, {report.skipped} already there ({plan.run_dir})")
        failed += len(report.failed)
        ev = evaluate(plan.run_dir, ["temporal_flickering"], db=plan.db_path, progress=progress)
        _report_eval(ev, f"{model} temporal_flickering")
        failed += len(ev.failures)
        plans[model] = plan
    paired = ["psnr", "ssim", "fid/efficientnet-lite0"]
    try:
        from vgbench.metrics.quality.vmaf import find_ffmpeg

        find_ffmpeg()
        paired.insert(2, "vmaf")
    except ConfigError as e:
        _say(f"skipping vmaf: {e}")
    for model in ("static", "noise"):
        ev = evaluate(plans[model].run_dir, paired,
                      reference=plans["shapes"].run_dir, db=plans[model].db_path, progress=progress)
        _report_eval(ev, f"{model} {','.join(paired)} vs shapes")
        failed += len(ev.failures)
    ids = [p.run_id for p in plans.values()]
    with ResultsStore(plans["shapes"].db_path) as store:
        rows = summary_rows(store, ids)
    if args.json:
        _emit_json({"runs": rows, "db": str(plans["shapes"].db_path)})
    else:
        print(format_summary(rows))
        _say(f"results: {plans['shapes'].db_path} (export with `vgbench results export --db "
             f"{plans['shapes'].db_path} --output results.csv`)")
    return EXIT_ITEMS_FAILED if failed else EXIT_OK


# ---------------------------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="vgbench", formatter_class=fmt, epilog=EPILOG,
        description="vgbench: evaluate and benchmark video generation models.\n\n"
                    "Generate videos for a prompt suite with a model (`run`, `generate`), score them (`evaluate`),\n"
                    "check folders of videos (`check`), and export the results database (`results export`).\n"
                    "Distribution metrics (FVD, KVD, FVMD, FID) need verified backbone weights (`weights`) and\n"
                    "a reference set, as videos or as a statistics file (`refstats`); so do CLIP/ViCLIP scores,\n"
                    "DOVER and LPIPS (weights). PSNR, SSIM, VMAF and temporal flickering need no download.\n"
                    "`vgbench compare` tests whether one run is significantly worse than another (the CI gate);\n"
                    "`vgbench leaderboard build` publishes runs as a static site with confidence intervals.\n"
                    "`vgbench demo` runs the built-in generators on the built-in `shapes` suite end to end.")
    parser.add_argument("--version", action="version", version=f"vgbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", formatter_class=fmt, epilog=EPILOG, help="generate a suite's videos and score them",
                       description="Generate every video of MODEL × SUITE × SAMPLES (resuming: finished videos are "
                                   "never redone), score them with no-reference metrics, store everything in "
                                   "OUT/vgbench.sqlite and print a summary table.")
    _add_generation_args(p)
    p.add_argument("--metrics", default="temporal_flickering",
                   help="comma-separated no-reference metrics, NAME or NAME/PROTOCOL (default temporal_flickering)")
    p.add_argument("--weights", action="append", metavar="NAME=PATH", help=_WEIGHTS_HELP)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("generate", formatter_class=fmt, epilog=EPILOG, help="generate a suite's videos only",
                       description="Generate every video of MODEL × SUITE × SAMPLES into a run folder; resumable.")
    _add_generation_args(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("evaluate", formatter_class=fmt, epilog=EPILOG, help="score a run folder or a folder of videos",
                       description="Score every video under VIDEOS (a run folder or any folder of videos). Each video "
                                   "is decoded once for all metrics; scores are cached in the results database, so "
                                   "evaluating again recomputes nothing. A corrupt video fails only its item.")
    p.add_argument("videos", help="run folder (has run.json) or folder of videos")
    from vgbench.metrics.vbench.table import help_text as dimensions_help

    p.add_argument("--dimensions", help="VBench dimensions: 'all' (the 16) or a comma-separated list: "
                                        + dimensions_help() + ". A dimension scores only the prompts that serve it "
                                        "(the suite's `dimensions`); evaluated in the same pass as --metrics, "
                                        "sharing decoded frames and backbone features. Object/colour/spatial dims "
                                        "use OWLv2 and scene uses BLIP (vbench-style; results say so)")
    p.add_argument("--metrics", help="comma-separated metrics, NAME, NAME/PROTOCOL or "
                                                    "NAME/PROTOCOL@option=value (e.g. clip_score/clipsim@frames="
                                                    "uniform:8; see `vgbench metrics list`). Prompts for clip_score "
                                                    "and viclip_score come from the run, a manifest.json or a .txt "
                                                    "file beside each video")
    p.add_argument("--reference", help="folder (or run folder) of reference videos: paired metrics (psnr, ssim, "
                                       "lpips, vmaf) "
                                       "pair by prompt id and sample, or by file name; distribution metrics (fvd, "
                                       "kvd, fvmd, fid, kid) use the whole set, or a .npz from `vgbench refstats build`")
    p.add_argument("--db", help="results database (default: the run's OUT/vgbench.sqlite, or ./vgbench-out/vgbench.sqlite)")
    p.add_argument("--feature-cache", metavar="DIR", help="per-video feature cache for distribution metrics "
                                                          "(default: features/ beside the database)")
    p.add_argument("--allow-random-weights", action="store_true",
                   help="development only: run backbones whose weights are missing with a seeded random "
                        "initialisation; every such result is marked 'random weights — not comparable'")
    p.add_argument("--weights", action="append", metavar="NAME=PATH", help=_WEIGHTS_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout: {metrics: {NAME: {value, "
                                                       "protocol, ...}}, failed_items: [...]}")
    p.add_argument("--per-item", action="store_true", help="with --json, include per-item values")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("compare", formatter_class=fmt, epilog=EPILOG,
                       help="is CANDIDATE significantly worse than BASE? (the regression gate)",
                       description="Compare two scored runs on their common prompts: per metric the delta "
                                   "(candidate - base) with a bootstrap 95% CI over prompts, a sign-flip permutation "
                                   "p-value, Holm-adjusted across metrics, and the effect size d_z. Refuses runs of "
                                   "different suites, protocols or weights. With --fail-on-regression the exit code "
                                   "is 6 when a metric is significantly worse by more than its tolerance.")
    p.add_argument("base", help="run id (or unique prefix), run folder, or unique model name")
    p.add_argument("candidate", help="the run to check against BASE")
    p.add_argument("--db", default="vgbench-out/vgbench.sqlite", help="results database holding both runs")
    p.add_argument("--metrics", help="comma-separated metric names or protocol ids (default: all in common)")
    p.add_argument("--tolerance", action="append", metavar="METRIC=VALUE",
                   help="allowed worsening in the metric's units before it counts as a regression (repeatable)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level after Holm correction (0.05)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and permutation draws")
    p.add_argument("--fail-on-regression", action="store_true", help="exit 6 if any metric regressed")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("leaderboard", formatter_class=fmt, epilog=EPILOG, help="build a leaderboard site",
                       description="`vgbench leaderboard build`: a static site over the runs of one suite: sortable "
                                   "table with 95% CIs (bootstrap over prompts), radar chart per model, bars with "
                                   "error bars, per-prompt drill-down, video gallery, provenance; plus CSV and "
                                   "Markdown exports. Protocols are never mixed: each column is one protocol id.")
    lsub = p.add_subparsers(dest="leaderboard_cmd", metavar="ACTION", required=True)
    q = lsub.add_parser("build", formatter_class=fmt, help="build the site")
    q.add_argument("--db", action="append", required=True, help="results database (repeatable)")
    q.add_argument("--out", required=True, help="output folder for the site")
    q.add_argument("--run", action="append", help="run id to include (repeatable; default: every run of the suite)")
    q.add_argument("--suite", help="suite name (needed when the databases hold runs of several suites)")
    q.add_argument("--scheme", help="aggregation scheme: vbench, or a YAML/JSON scheme file")
    q.add_argument("--published", help="CSV of published scores to show beside the measured runs (marked)")
    q.add_argument("--title", default="vgbench leaderboard", help="page title (default: vgbench leaderboard)")
    q.add_argument("--no-gallery", action="store_true", help="skip the video thumbnails/previews")
    q.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    q.set_defaults(func=cmd_leaderboard)
    q = lsub.add_parser("table", formatter_class=fmt, help="aggregation table: per run, per prompt or per category")
    q.add_argument("--db", action="append", required=True, help="results database")
    q.add_argument("--by", choices=["run", "prompt", "category"], default="run",
                   help="run: mean and 95%% CI per run and protocol; prompt: mean over samples per prompt; "
                        "category: mean per prompt tag of the suite")
    q.add_argument("--run", action="append", help="run id to include (repeatable; default all)")
    q.add_argument("--output", "-o", help="write .csv or .json instead of printing")
    q.add_argument("--json", action="store_true", help="print JSON records on stdout")
    q.set_defaults(func=cmd_leaderboard)

    p = sub.add_parser("check", formatter_class=fmt, epilog=EPILOG, help="integrity check of a folder of videos",
                       description="Decode every video fully and report missing (with --suite), corrupt or truncated "
                                   "files and files whose frame count, fps or size differ from the expectation "
                                   "(given, from manifest.json, or the majority). Exit code 5 if problems are found. "
                                   "Frames are decoded exactly as `evaluate` decodes them (what `ffmpeg -pix_fmt "
                                   "rgb24` presents); display rotation, edit lists, variable frame rate, bit depth and "
                                   "colour tags are listed as info, not as problems.")
    p.add_argument("folder", help="folder of videos, or a run folder")
    p.add_argument("--suite", help="suite the folder should cover (checks that every prompt × sample has a video)")
    p.add_argument("--samples", type=int, help="videos per prompt expected (default: the suite's)")
    p.add_argument("--frames", type=int, help="expected frames per video")
    p.add_argument("--fps", type=float, help="expected fps")
    p.add_argument("--size", type=_parse_size, help="expected WIDTHxHEIGHT")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("prompts", formatter_class=fmt, epilog=EPILOG, help="list, show and import prompt suites",
                       description="Prompt suites: list the built-in ones, show one, or import VBench's "
                                   "VBench_full_info.json or a plain text list (one prompt per line) as a suite file.")
    psub = p.add_subparsers(dest="prompts_cmd", metavar="ACTION", required=True)
    q = psub.add_parser("list", help="list built-in suites")
    q.add_argument("--json", action="store_true", help="JSON output")
    q = psub.add_parser("show", help="show a suite's prompts")
    q.add_argument("suite", help="built-in name or suite file")
    q.add_argument("--json", action="store_true", help="JSON output")
    q = psub.add_parser("import", formatter_class=fmt, help="convert VBench_full_info.json or a prompt list to a suite",
                        description="Write a vgbench suite (YAML) from VBench's VBench_full_info.json (--format "
                                    "vbench: 5 samples per prompt, 25 for temporal flickering, auxiliary info kept) "
                                    "or a plain text file with one prompt per line (--format list).")
    q.add_argument("format", choices=["vbench", "list"], help="input format")
    q.add_argument("file", help="input file")
    q.add_argument("--name", help="suite name (default: vbench, or the file name)")
    q.add_argument("--samples", type=int, help="samples per prompt (list format; default 1)")
    q.add_argument("-o", "--output", help="output .yaml (default: stdout)")
    p.set_defaults(func=cmd_prompts)

    p = sub.add_parser("models", formatter_class=fmt, epilog=EPILOG, help="list generators and their capabilities")
    msub = p.add_subparsers(dest="models_cmd", metavar="ACTION", required=True)
    q = msub.add_parser("list", help="list generators")
    q.add_argument("--json", action="store_true", help="JSON output")
    q = msub.add_parser("show", help="describe one generator")
    q.add_argument("name", help="generator name (see `vgbench models list`)")
    q.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("metrics", formatter_class=fmt, epilog=EPILOG, help="list metrics and their protocols")
    msub = p.add_subparsers(dest="metrics_cmd", metavar="ACTION", required=True)
    q = msub.add_parser("list", help="list metrics")
    q.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("results", formatter_class=fmt, epilog=EPILOG, help="export the results database")
    rsub = p.add_subparsers(dest="results_cmd", metavar="ACTION", required=True)
    q = rsub.add_parser("export", formatter_class=fmt, help="export a table as CSV, JSON or Parquet",
                        description="Export per-item metric values (default, joined with prompts and models), "
                                    "set-level values, items or runs.")
    q.add_argument("--db", default="vgbench-out/vgbench.sqlite", help="results database (default "
                                                                      "vgbench-out/vgbench.sqlite)")
    q.add_argument("-o", "--output", required=True, help="output file (.csv, .json or .parquet)")
    q.add_argument("--format", choices=["csv", "json", "parquet"], help="default: from the output suffix")
    q.add_argument("--table", default="item_metrics", choices=["item_metrics", "set_metrics", "items", "runs"],
                   help="item_metrics: one row per video and metric, with prompt, seed and model (default); "
                        "set_metrics: one row per run and metric with its CI; items; runs (config, provenance)")
    q.add_argument("--run", action="append", help="only this run id (repeatable)")
    p.set_defaults(func=cmd_results)

    p = sub.add_parser("weights", formatter_class=fmt, epilog=EPILOG, help="list, fetch and verify model weights",
                       description="Official checkpoints of the backbones, verified by SHA-256 (pinned, from the "
                                   "publisher's file name, from a git blob id, or recorded on first use in the lock "
                                   "file). A file is found by: explicit path → VGBENCH_WEIGHTS_<NAME> → the cache "
                                   "($VGBENCH_CACHE/weights, default ~/.cache/vgbench/weights) → torch.hub's "
                                   "checkpoint folder → download (only where the machine is online; "
                                   "VGBENCH_OFFLINE=1 forbids it).")
    wsub = p.add_subparsers(dest="weights_cmd", metavar="ACTION", required=True)
    q = wsub.add_parser("list", help="every weights file, where it comes from, whether it is present")
    q.add_argument("names", nargs="*", help="weights names (default: all)")
    q.add_argument("--json", action="store_true", help="JSON output")
    q = wsub.add_parser("fetch", help="download (or, with --file, import) and verify weights into the cache")
    q.add_argument("names", nargs="+", help="weights names (see `vgbench weights list`)")
    q.add_argument("--file", help="a copy obtained by hand: verify it and copy it into the cache")
    q.add_argument("--json", action="store_true", help="JSON output")
    q.add_argument("--no-progress", action="store_true", help="no progress bars")
    q = wsub.add_parser("verify", help="check present files against their hashes (exit 5 on a mismatch)")
    q.add_argument("names", nargs="*", help="weights names (default: all)")
    q.add_argument("--json", action="store_true", help="JSON output")
    q = wsub.add_parser("path", help="print where each file is expected in the cache")
    q.add_argument("names", nargs="*", help="weights names (default: all)")
    p.set_defaults(func=cmd_weights)

    p = sub.add_parser("refstats", formatter_class=fmt, epilog=EPILOG, help="reference-set statistics for FVD & co.",
                       description="Extract a reference set's features once into a file that `vgbench evaluate "
                                   "--reference FILE.npz` reuses. A file is tied to one feature extractor (backbone, "
                                   "weights hash, preprocessing, clip sampling): metrics that need another refuse it.")
    rsub = p.add_subparsers(dest="refstats_cmd", metavar="ACTION", required=True)
    q = rsub.add_parser("build", formatter_class=fmt, help="build a statistics file from a folder of videos")
    q.add_argument("videos", help="folder (or run folder) of reference videos")
    q.add_argument("--metric", required=True, help="distribution metric whose features to store, e.g. fvd, "
                                                   "fvd/common_metrics, fid/efficientnet-lite0")
    q.add_argument("-o", "--output", required=True, help="output .npz")
    q.add_argument("--feature-cache", metavar="DIR", help="feature cache (default ./vgbench-out/features)")
    q.add_argument("--allow-random-weights", action="store_true", help="development only (results are flagged)")
    q.add_argument("--weights", action="append", metavar="NAME=PATH", help=_WEIGHTS_HELP)
    q.add_argument("--json", action="store_true", help="JSON output")
    q.add_argument("--no-progress", action="store_true", help="no progress bars")
    q = rsub.add_parser("show", help="describe a statistics file")
    q.add_argument("file", help=".npz file")
    q.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=cmd_refstats)

    p = sub.add_parser("demo", formatter_class=fmt, epilog=EPILOG, help="end-to-end demo with built-in generators",
                       description="Generate the built-in `shapes` suite with the shapes, static and noise "
                                   "generators, score temporal flickering, PSNR, SSIM and the offline frame FD "
                                   "on EfficientNet-Lite0 features (static and noise against shapes), store everything and print a summary. Running it again generates and "
                                   "recomputes nothing and prints the same numbers.")
    p.add_argument("--out", default="vgbench-out", help="output folder (default ./vgbench-out)")
    p.add_argument("--suite", default="shapes", help="suite (default shapes)")
    p.add_argument("--samples", type=int, help="videos per prompt (default: the suite's)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: 0 for --help, 2 for usage errors
        return int(e.code or 0)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    if getattr(args, "metrics", None) and args.command == "run":
        args.metric_list = [s.strip() for s in args.metrics.split(",") if s.strip()]
    try:
        return args.func(args)
    except VgbenchError as e:
        _say(f"vgbench: error: {e}")
        return e.exit_code
    except KeyboardInterrupt:
        _say("vgbench: interrupted (finished items are kept; run the same command again to resume)")
        return 130
    except Exception as e:  # noqa: BLE001 - last resort: a bug
        from vgbench.metrics.registry import OPTIONAL_PACKAGES, install_hint

        root = (getattr(e, "name", None) or "").split(".")[0] if isinstance(e, ModuleNotFoundError) else ""
        if root in OPTIONAL_PACKAGES:  # an optional package a path needs that no registry entry declared
            _say(f"vgbench: error: this command needs {root}, which is not installed: {install_hint([root])}")
            return EXIT_USAGE
        import traceback

        traceback.print_exc()
        _say("vgbench: internal error (a bug): please report it with the traceback above")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
