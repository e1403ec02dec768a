"""What every command module of the CLI shares: messages, JSON output, argument parsers and help texts."""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from vgbench.bench import settings
from vgbench.bench.errors import UsageError

FMT = argparse.RawDescriptionHelpFormatter
EPILOG = textwrap.dedent("""\
    exit codes: 0 success, 1 internal error, 2 usage error, 3 input error (missing or invalid file, unknown name),
                4 completed but some items failed (listed on stderr and in the results), 5 integrity problems found,
                6 regression gate failed (compare --fail-on-regression)
    Run `vgbench COMMAND --help` for a command's options.
    environment variables:
""") + "\n".join(f"  {k}: {v}" for k, v in settings.VARIABLES.items())


def say(msg: str) -> None:
    """A message on stderr, control characters escaped (a prompt or a file name cannot move the cursor, clear the
    screen or ring the bell)."""
    from vgbench.bench.fileio import printable

    print(printable(msg), file=sys.stderr, flush=True)


def describe_all(names: list[str], describe) -> list[dict[str, Any]]:
    """``describe(name)`` for every name; an entry that cannot be loaded (a broken plug-in) is named in a warning on
    stderr and left out, so one bad package does not hide the others."""
    from vgbench.bench.errors import ConfigError

    rows = []
    for n in names:
        try:
            rows.append(describe(n))
        except (ConfigError, ImportError) as e:
            say(f"vgbench: warning: {n} is left out of the list: {e}")
    return rows


def emit_json(obj: Any) -> None:
    """Strict JSON on stdout: NaN and ±inf (a metric none of whose items scored) are written as null, which every JSON
    parser reads (``jq``, JavaScript), where ``NaN`` is not JSON."""
    json.dump(_finite(obj), sys.stdout, indent=1, default=_json_default, allow_nan=False)
    sys.stdout.write("\n")


def _finite(o: Any) -> Any:
    import math

    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def _json_default(o):
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
        if w < 1 or h < 1:
            raise ValueError
        return w, h
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 256x256, not {text!r}") from None


def parse_kv(items: list[str] | None) -> dict[str, Any]:
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


def parse_weights(items: list[str] | None) -> dict[str, str]:
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


WEIGHTS_HELP = ("use this weights file for backbone/weights NAME (repeatable; names in `vgbench weights list`): a "
                 "converted or fine-tuned checkpoint is used if it loads strictly into the official layout, its "
                 "SHA-256 is recorded and every result is flagged 'user-supplied weights: not comparable with "
                 "published values' (no flag when it is the official file)")


def add_generation_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="generator (required): shapes, static, noise, replay:DIR, folder:DIR "
                                   "(see `vgbench models list`)")
    p.add_argument("--suite", help="built-in suite name (see `vgbench prompts list`: mlperf-t2v, shapes, smoke, "
                                   "vbench-style) or a suite file (.yaml/.jsonl) (required)")
    p.add_argument("--config", metavar="FILE", help="a run config (YAML or JSON; the fields of vgbench.RunConfig: "
                                                    "model, suite, samples, seed, frames, fps, width, height, out, "
                                                    "metrics, quality, model_args, weights); options given on the "
                                                    "command line override it")
    p.add_argument("--preset", metavar="NAME",
                   help="a packaged run config: mlperf-t2v (MLPerf Inference's text-to-video accuracy run: "
                        "Wan2.2-T2V-A14B with MLPerf's settings on its 248 prompts, its six VBench dimensions and "
                        "the pass/fail gate; give its latents with --model-arg latents=fixed_latent.pt). Options on "
                        "the command line override the preset's")
    p.add_argument("--samples", type=int, help="videos per prompt (default: the suite's)")
    p.add_argument("--seed", type=int, help="base seed; sample i of each prompt uses seed+i (default 0)")
    p.add_argument("--frames", type=int, help="frames per video (default: the model's reference setting)")
    p.add_argument("--fps", type=float, help="frames per second (default: the model's)")
    p.add_argument("--size", type=parse_size, help="WIDTHxHEIGHT (default: the model's)")
    p.add_argument("--out", help="output folder for run folders and vgbench.sqlite (default ./vgbench-out)")
    p.add_argument("--quality", choices=["lossless", "near_lossless", "high"],
                   help="video encoding: lossless (exact frames, default), near_lossless (YUV 4:4:4 qp0), "
                        "high (4:2:0 crf17, browser-friendly)")
    p.add_argument("--model-arg", action="append", metavar="KEY=VALUE", help="generator option (repeatable)")
    p.add_argument("--shard", metavar="I/N", help="generate (and, for run, score) only slice I of N of the items, "
                                                  "by a hash of the item id, into the shared run folder (--out on "
                                                  "shared storage); records go to OUT/vgbench.shard-I-of-N.sqlite: "
                                                  "`vgbench merge` them when every shard is done")
    p.add_argument("--executor", metavar="NAME",
                   help="'local' (this process; default), 'processes' (scoring in worker processes) or 'ray': "
                        "generator actors, one per GPU (each loads the model once) on the cluster at RAY_ADDRESS or a "
                        "local Ray; --out must be on storage the workers share. pip install 'vgbench[ray]'")
    p.add_argument("--workers", type=int, metavar="N", help="generator actors with --executor ray (default: one "
                                                           "per GPU, else per CPU); scoring workers")
    p.add_argument("--label", help="a human name for the run in the leaderboard, exports and compare (default: the "
                                   "model with its arguments, e.g. noisy-shapes:8); not part of the run id")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout (messages go to stderr)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def report_eval(report, label: str) -> None:
    if report.scores_computed == 0 and report.scores_cached:
        say(f"{label}: all {report.scores_cached} scores taken from the results store (nothing recomputed)")
    else:
        say(f"{label}: computed {report.scores_computed} scores ({report.items_decoded} videos decoded), "
            f"{report.scores_cached} from the results store")
    if getattr(report, "scores_skipped", 0):
        say(f"{label}: {report.scores_skipped} (video, dimension) pair(s) not scored: the prompt does not serve "
            "that dimension")
    stats = report.feature_cache.stats() if getattr(report, "feature_cache", None) is not None else {}
    if stats.get("features_extracted") or stats.get("features_cached"):
        say(f"{label}: features extracted for {stats['features_extracted']} video(s) × extractor, "
            f"{stats['features_cached']} taken from the feature cache")
    changed = getattr(report, "files_changed", [])
    if changed:
        say(f"{label}: warning: {len(changed)} video(s) changed since they were generated (scored by their content now; "
            f"the run's records are older): {', '.join(changed[:5])}{' ...' if len(changed) > 5 else ''}")
    for f in report.failures:
        say(f"  FAILED {f['path'] or f['item']}: {'; '.join(f['errors'])}")


def print_results(report) -> None:
    """One evaluation's set-level values as text: value, unit, CI, counts, protocol id, FVD∞, backbone and weights,
    and every flag the result carries (random or user weights, not verified against the reference, ...)."""
    for spec, r in report.results.items():
        ci = f"  95% CI [{r.ci95[0]:.6g}, {r.ci95[1]:.6g}] ({r.ci_method})" if r.ci95 else ""
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
