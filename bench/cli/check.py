"""`vgbench check`: integrity check of a folder of videos."""
from __future__ import annotations

from pathlib import Path

from vgbench.bench.cli.common import EPILOG, FMT, emit_json, parse_size
from vgbench.bench.errors import EXIT_CHECK_FAILED, EXIT_OK


def cmd_check(args) -> int:
    from vgbench.prompts import load_suite
    from vgbench.reference_models.folder import check_folder

    suite = load_suite(args.suite) if args.suite else None
    folder = Path(args.folder)
    frames, fps, size, stated = args.frames, args.fps, args.size, False
    if (folder / "run.json").is_file():  # a run folder states what it generated: check against that
        from vgbench.bench.fileio import read_state_json
        from vgbench.bench.sources import RUN_JSON_REPAIR

        settings = read_state_json(folder / "run.json", RUN_JSON_REPAIR, keys=("settings",))["settings"]
        frames = frames or settings.get("frames")
        fps = fps or settings.get("fps")
        if not size and settings.get("width") and settings.get("height"):
            size, stated = (settings["width"], settings["height"]), True
        stated = stated or bool(settings.get("frames"))
        folder = folder / "videos"
    rep = check_folder(folder, suite, args.samples, frames, fps, size, progress=not args.no_progress)
    if stated:  # the run's own settings, not the user's options
        for k, given in (("frames", args.frames), ("fps", args.fps), ("size", args.size)):
            if not given and rep.expected_source.get(k) == "given":
                rep.expected_source[k] = "run.json"
    if args.json:
        emit_json(rep.to_dict())
    else:
        status = "OK" if rep.ok else f"{len(rep.problems)} problem(s)"
        print(f"{rep.folder}: {rep.checked} videos checked: {status}")
        e = rep.expected
        for k, shown in (("frames", e.get("frames")), ("fps", e.get("fps")),
                         ("size", "x".join(map(str, e["size"])) if e.get("size") else None)):
            if shown is not None:
                print(f"  expected {k:<6} {shown}  ({rep.expected_source.get(k) or '-'})")
        if any(str(v or "").startswith("inferred") for v in rep.expected_source.values()):
            print("  (inferred expectations: give --frames/--fps/--size or --suite to state them)")
        for p in rep.problems:
            print(f"  {p['kind']:<9} {p['file']}: {p['detail']}")
        for n in rep.notes:
            print(f"  {'info':<9} {n['file']}: {n['detail']}")
    return EXIT_OK if rep.ok else EXIT_CHECK_FAILED


def register(sub) -> None:
    p = sub.add_parser("check", formatter_class=FMT, epilog=EPILOG, help="integrity check of a folder of videos",
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
    p.add_argument("--size", type=parse_size, help="expected WIDTHxHEIGHT")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_check)

