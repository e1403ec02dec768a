"""`vgbench prompts`: list, show and import prompt suites."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from vgbench.bench.fileio import printable
from vgbench.bench.cli.common import EPILOG, FMT, emit_json, say
from vgbench.bench.errors import EXIT_OK


def cmd_prompts(args) -> int:
    from vgbench.prompts import dump_suite_yaml, list_builtin_suites, load_suite

    if args.prompts_cmd == "list":
        rows = []
        for name in list_builtin_suites():
            s = load_suite(name)
            rows.append({"name": s.name, "version": s.version, "prompts": len(s.prompts),
                         "samples_per_prompt": s.samples_per_prompt, "description": s.description})
        if args.json:
            emit_json(rows)
        else:
            w = max(len(r["name"]) for r in rows) if rows else 10
            for r in rows:
                first = r["description"].split(". ")[0].splitlines()[0] if r["description"] else ""
                print(f"{r['name']:<{w}}  v{r['version']:<4} {r['prompts']:>4} prompts × {r['samples_per_prompt']:<2} "
                      f"samples  {first}")
        return EXIT_OK
    if args.prompts_cmd == "show":
        s = load_suite(args.suite)
        if args.json:
            emit_json({"name": s.name, "version": s.version, "sha256": s.sha256, "source": s.source,
                       "samples_per_prompt": s.samples_per_prompt, "prompts": [p.to_dict() for p in s.prompts]})
        else:
            print(f"{s.name} v{s.version} ({len(s.prompts)} prompts, {s.samples_per_prompt} samples each; sha256 "
                  f"{s.sha256[:12]}; {s.source})")
            for p in s.prompts:
                extra = f"  [{', '.join(p.dimensions)}]" if p.dimensions else ""
                print(printable(f"  {p.id:<40} {p.text}{extra}"))
        return EXIT_OK
    # import
    import contextlib

    from vgbench.bench.errors import UsageError
    from vgbench.bench.fileio import atomic_path

    if args.output:
        out = Path(args.output)
        for given in (args.file, getattr(args, "crop_info", None)):
            if given and out.exists() and Path(given).exists() and os.path.samefile(out, given):
                raise UsageError(f"-o {out} is the input file {given}: give another output file")
    # the output file's folder is made (and checked) before anything is imported: a vbench-i2v import writes crops
    with (atomic_path(args.output) if args.output else contextlib.nullcontext()) as tmp:
        suite = _import_suite(args)
        from vgbench.metrics.vbench.table import BY_NAME

        unknown = sorted({d for p in suite.prompts for d in p.dimensions} - set(BY_NAME))
        if unknown:  # kept (a suite may name its own), but no vgbench dimension scores those prompts for them
            say(f"warning: {args.file} names dimensions vgbench does not compute: {', '.join(unknown)} (known: "
                f"{', '.join(BY_NAME)}); their prompts are kept")
        text = dump_suite_yaml(suite)
        if tmp is not None:
            tmp.write_text(text, encoding="utf-8")
    if args.output:
        say(f"wrote {len(suite.prompts)} prompts to {args.output} (suite {suite.name!r})")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _import_suite(args):
    from vgbench.bench.errors import UsageError
    from vgbench.prompts.importers import import_prompt_list, import_vbench_full_info

    if args.format == "vbench":
        return import_vbench_full_info(args.file, name=args.name or "vbench")
    if args.format == "vbench-i2v":
        from vgbench.prompts.i2v_suite import import_vbench_i2v

        if not (args.crop_info and args.images and args.crops):
            raise UsageError("vbench-i2v needs --crop-info i2v-bench-info.json, --images FOLDER (the original "
                             "images) and --crops FOLDER (where the cropped images go)")
        return import_vbench_i2v(args.file, args.crop_info, args.images, args.crops, ratio=args.ratio,
                                 name=args.name or "vbench-i2v")
    return import_prompt_list(args.file, name=args.name, samples_per_prompt=args.samples or 1)


def register(sub) -> None:
    p = sub.add_parser("prompts", formatter_class=FMT, epilog=EPILOG, help="list, show and import prompt suites",
                       description="Prompt suites: list the built-in ones, show one, or import VBench's "
                                   "VBench_full_info.json or a plain text list (one prompt per line) as a suite file.")
    psub = p.add_subparsers(dest="prompts_cmd", metavar="ACTION", required=True)
    q = psub.add_parser("list", help="list built-in suites")
    q.add_argument("--json", action="store_true", help="JSON output")
    q = psub.add_parser("show", help="show a suite's prompts")
    q.add_argument("suite", help="built-in name or suite file")
    q.add_argument("--json", action="store_true", help="JSON output")
    q = psub.add_parser("import", formatter_class=FMT, help="convert VBench_full_info.json or a prompt list to a suite",
                        description="Write a vgbench suite (YAML) from VBench's VBench_full_info.json (`vgbench "
                                    "prompts import vbench FILE`: 5 samples per prompt, 25 for temporal flickering, "
                                    "auxiliary info kept), VBench-I2V's vbench2_i2v_full_info.json (`... import "
                                    "vbench-i2v FILE --crop-info --images --crops`: the images cropped as VBench does) "
                                    "or a plain text file with one prompt per line (`... import list FILE`).")
    q.add_argument("format", choices=["vbench", "vbench-i2v", "list"],
                   help="input format: vbench (VBench_full_info.json), vbench-i2v (vbench2_i2v_full_info.json, with "
                        "its images cropped as VBench-I2V's crop_to_diff_ratio.py), list (one prompt per line)")
    q.add_argument("file", help="input file")
    q.add_argument("--name", help="suite name (default: vbench, or the file name)")
    q.add_argument("--samples", type=int, help="samples per prompt (list format; default 1)")
    q.add_argument("--crop-info", metavar="JSON", help="vbench-i2v: the suite's i2v-bench-info.json (crop boxes)")
    q.add_argument("--images", metavar="DIR", help="vbench-i2v: folder of VBench-I2V's original images (never "
                                                   "downloaded by vgbench)")
    q.add_argument("--crops", metavar="DIR", help="vbench-i2v: where the cropped images are written (DIR/RATIO/)")
    q.add_argument("--ratio", default="16-9", choices=["1-1", "8-5", "7-4", "16-9"],
                   help="vbench-i2v: aspect ratio of the crops (default 16-9)")
    q.add_argument("-o", "--output", help="output .yaml (default: stdout)")
    p.set_defaults(func=cmd_prompts)

