"""What a selection of metrics needs before it can run: every weights file and model folder, present or missing.

``vgbench weights needed`` lists it; ``vgbench weights fetch --metrics/--dimensions`` fetches it; an evaluation
calls :func:`check_present` before loading anything, so an offline machine that lacks several files is told about
all of them in one error (not one failed run per file).

Two kinds of need:

- **files**: registry weights files (:mod:`vgbench.metrics.backbones.weights`), verified by hash, found by explicit
  path → ``VGBENCH_WEIGHTS_<NAME>`` → the cache → torch.hub's folder → a Python package that ships them;
- **folders**: Hugging Face model folders (OWLv2 and BLIP for the vbench-style semantic dimensions), found by the
  metric option → ``$VGBENCH_OWLV2`` / ``$VGBENCH_BLIP`` → the Hugging Face cache.
"""
from __future__ import annotations

from typing import Any


def _metrics(specs: list) -> list:
    from vgbench.metrics.registry import create_metric

    return [create_metric(s) if isinstance(s, str) else s for s in specs]


def needs(specs: list, user_weights: dict[str, str] | None = None) -> dict[str, Any]:
    """The files and folders the metrics ``specs`` (``name`` or ``name/protocol`` strings, or metric objects) need,
    JSON-ready.

    Returns ``{"files": [...], "folders": [...], "missing": [names]}``. A file row: ``name``, ``file``, ``size_bytes``
    (None when unknown), ``urls``, ``sha256`` (or the prefix / git blob id that verifies it, and ``trust``),
    ``present`` (the path found, or None), ``found_via``, ``place_at`` (the cache path), ``env_var`` and ``used_by``
    (the protocol ids among ``specs`` that load it). A folder row: ``name``, ``hub_id``, ``env_var``, ``present``,
    ``used_by``, ``fetch`` (the command that downloads it).

    Raises:
        UnknownNameError: an unknown metric name in ``specs``.
    """
    from vgbench.metrics.backbones import weights as w
    from vgbench.metrics.backbones.registry import UserWeights, get_weights_file

    user = UserWeights(user_weights)
    lock = w.read_lock()
    files: dict[str, dict[str, Any]] = {}
    folders: dict[str, dict[str, Any]] = {}
    for m in _metrics(specs):
        for name in m.weights_needed():
            if name not in files:
                wf = get_weights_file(name)
                found = next(((str(p), how) for p, how in w.candidates(wf, user.path_for(name)) if p.is_file()),
                             (None, None))
                files[name] = {"name": name, "file": wf.filename, "size_bytes": wf.size_bytes,
                               "urls": list(wf.urls), "trust": wf.trust,
                               "sha256": wf.sha256 or (lock.get(name) or {}).get("sha256"),
                               "sha256_prefix": wf.sha256_prefix, "git_blob_sha1": wf.git_blob_sha1,
                               "present": found[0], "found_via": found[1],
                               "place_at": str(w.weights_dir() / wf.filename), "env_var": wf.env_var,
                               "manual": wf.manual, "license": wf.license, "used_by": []}
            if m.protocol_id not in files[name]["used_by"]:
                files[name]["used_by"].append(m.protocol_id)
        for f in m.folders_needed():
            row = folders.setdefault(f["name"], {**f, "used_by": []})
            if m.protocol_id not in row["used_by"]:
                row["used_by"].append(m.protocol_id)
    missing = [n for n, r in files.items() if not r["present"]] + [n for n, r in folders.items() if not r["present"]]
    return {"files": list(files.values()), "folders": list(folders.values()), "missing": missing}


def missing_report(need: dict[str, Any]) -> str:
    """One message naming every missing file and folder of :func:`needs`' result, each with where to get it and
    where to put it; empty when nothing is missing."""
    from vgbench.metrics.backbones import weights as w
    from vgbench.metrics.backbones.registry import get_weights_file

    parts = [w.missing_message(get_weights_file(r["name"])) + f"\n  needed by: {', '.join(r['used_by'])}"
             for r in need["files"] if not r["present"]]
    parts += [f"model folder {r['name']!r} ({r['hub_id']}) not found.\n  get it: {r['fetch']}\n"
              f"  then point {r['env_var']}=/path/{r['hub_id'].split('/')[-1]} at it\n"
              f"  needed by: {', '.join(r['used_by'])}" for r in need["folders"] if not r["present"]]
    if not parts:
        return ""
    nf = sum(1 for r in need["files"] if not r["present"])
    nd = len(parts) - nf
    what = " and ".join(x for x in (f"{nf} weights file{'s' if nf != 1 else ''}" if nf else "",
                                    f"{nd} model folder{'s' if nd != 1 else ''}" if nd else "") if x)
    head = f"{what} missing for this selection (all listed; `vgbench weights needed` shows the full table):"
    return head + "\n" + "\n".join(parts)


def check_present(metrics: list, user_weights: dict[str, str] | None = None, allow_random: bool | None = None
                  ) -> None:
    """Raise one :class:`~vgbench.metrics.backbones.weights.WeightsMissingError` naming every missing file and folder
    the loaded-to-be ``metrics`` need, when they cannot be downloaded here (offline, or no direct URL). Online, files
    with a URL are left to the loaders, which download and verify them. With random weights allowed (development),
    missing files are not an error (the loaders flag them); missing folders still are."""
    from vgbench.metrics.backbones import weights as w
    from vgbench.metrics.backbones.registry import random_weights_allowed

    allow_random = random_weights_allowed() if allow_random is None else allow_random
    need = needs(metrics, user_weights)
    offline = w.is_offline()
    blocking = {"files": [r for r in need["files"] if not r["present"] and not allow_random
                          and (offline or not r["urls"])],
                "folders": [r for r in need["folders"] if not r["present"] and offline]}
    msg = missing_report(blocking)
    if msg:
        why = ("this machine is offline (VGBENCH_OFFLINE or HF_HUB_OFFLINE is set), so nothing can be downloaded. "
               if offline else "")
        raise w.WeightsMissingError(why + msg)
