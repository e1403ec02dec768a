"""`vgbench models`: list generators and their capabilities."""
from __future__ import annotations

import textwrap

from vgbench.bench.cli.common import EPILOG, FMT, describe_all, emit_json
from vgbench.bench.errors import EXIT_OK


def cmd_models(args) -> int:
    from vgbench.reference_models.registry import describe, model_names

    if args.models_cmd == "show":
        args.name = args.name.partition(":")[0]  # `models show noisy-shapes:8` shows noisy-shapes
    rows = [describe(args.name)] if args.models_cmd == "show" else describe_all(model_names(), describe)
    if args.json:
        emit_json(rows if args.models_cmd == "list" else rows[0])
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
            from vgbench.reference_models.registry import generator_doc

            if r.get("parameters"):
                print(f"{'':16} arguments (--model-arg KEY=VALUE{', or NAME:ARG for the first' if arg else ''}):")
                for p in r["parameters"]:
                    default = f" (default {p['default']})" if p["default"] is not None else ""
                    print(textwrap.fill(f"{p['name']}{default}: {p['help'] or 'see below'}", 116,
                                        initial_indent=" " * 18, subsequent_indent=" " * 20))
            doc = generator_doc(r["name"])
            if doc:
                print(textwrap.indent(doc, "  "))
    return EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("models", formatter_class=FMT, epilog=EPILOG, help="list generators and their capabilities")
    msub = p.add_subparsers(dest="models_cmd", metavar="ACTION", required=True)
    q = msub.add_parser("list", help="list generators")
    q.add_argument("--json", action="store_true", help="JSON output")
    q = msub.add_parser("show", help="describe one generator")
    q.add_argument("name", help="generator name (see `vgbench models list`)")
    q.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=cmd_models)

